"""What a running `make up` costs at rest, then its event latency. Starts nothing: run it against
a stack that is already up (default: this checkout's `make up`, gateway on http://127.0.0.1:3001).

    .venv/bin/python bench/idle.py                          # 60 s window, 100 moves
    .venv/bin/python bench/idle.py --seconds 20 --moves 50 --gateway http://127.0.0.1:3001
    .venv/bin/python bench/idle.py --no-latency             # only CPU and memory

1. At rest: every process of the stack — those whose working directory is the checkout (`--root`);
   when a `python -m devtools.run` manager runs there, only its process tree, so a test stack
   started from the same checkout is left out — with its CPU over the window (% of one core) and
   its memory as PSS (proportional set size: pages shared between processes, such as those a fork
   server's children share, are split between them), per process, per service and in total.
   Read from /proc (Linux); CPU figures are noisy on a loaded machine, PSS is not. With no
   `make up` running it says so and measures nothing (so `make bench` passes over it).
2. Event latency through the gateway: two users in one project, the second one's
   `GET /notifications/stream` open; a card is moved N times, one at a time, and each time the
   delay "move response received → notification event read from the stream" is recorded (helpers
   of bench/events.py). p50/p99 printed; no assertion on any figure.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import queue
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HZ = os.sysconf("SC_CLK_TCK")
INFRA = (("nx-27017", "mongo"), ("devtools.infra mongo", "mongo"), ("nats-server", "nats"), ("weed", "s3"))


# ----------------------------------------------------------------------------------- /proc

def _read(path: str, mode: str = "r"):
    with open(path, mode) as f:
        return f.read()


def cmdline(pid: int) -> str:
    return _read(f"/proc/{pid}/cmdline", "rb").replace(b"\0", b" ").decode(errors="replace").strip()


def stat(pid: int) -> tuple[int, int]:
    """(parent pid, user+system CPU ticks)."""
    fields = _read(f"/proc/{pid}/stat").rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def pss_kib(pid: int) -> int:
    for line in _read(f"/proc/{pid}/smaps_rollup").splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def processes(root: str) -> dict[int, dict]:
    """Every process whose cwd is `root`: pid -> {cmd, ppid}."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        pid = int(name)
        try:
            if os.path.realpath(f"/proc/{pid}/cwd") != root:
                continue
            cmd = cmdline(pid)
            ppid, _ = stat(pid)
        except OSError:
            continue
        if cmd:
            found[pid] = {"cmd": cmd, "ppid": ppid}
    return found


def stack_of(found: dict[int, dict], everything: bool = False) -> tuple[dict[int, dict], str]:
    """Only the tree of the `make up` manager (devtools.run, or honcho) running there, if any."""
    managers = [pid for pid, p in found.items() if "-m devtools.run" in p["cmd"]] or \
        [pid for pid, p in found.items() if "honcho start" in p["cmd"]]
    if everything or not managers:
        return (found if everything else {}), "every process in the checkout"
    tree, todo = set(), list(managers)
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                children.setdefault(stat(int(name))[0], []).append(int(name))
            except OSError:
                pass
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo += children.get(pid, [])
    left = len(found) - len(tree & set(found))
    kept = {pid: p for pid, p in found.items() if pid in tree}
    return kept, f"the process tree of devtools.run (pid {', '.join(map(str, managers))}); {left} other process(es) in the checkout left out"


def label(pid: int, procs: dict[int, dict]) -> tuple[str, str]:
    """(group, what): group is a service name, `infra`, or `manager`."""
    cmd = procs[pid]["cmd"]
    for key, name in INFRA:
        if key in cmd:
            return "infra", name
    if "-m devtools.run" in cmd:
        return "manager", "devtools.run (process manager)"
    if "devtools.forkserver" in cmd:
        return "manager", "devtools.forkserver (preloaded modules)"
    if "honcho" in cmd:
        return "manager", "honcho"
    for part in cmd.split():
        part = part.strip("'\"")
        if part.endswith(".worker") and part.startswith("services."):
            return part.split(".")[1], "worker"
        if part.endswith(":create_app()"):
            service = "gateway" if part.startswith("gateway.") else part.split(".")[1]
            parent = procs.get(procs[pid]["ppid"])
            role = "web worker" if parent and parent["cmd"] == cmd else "web master"
            return service, role
    if cmd.startswith("/bin/sh -c"):
        return "manager", "sh -c wrapper"
    return "other", cmd[:60]


def measure(root: str, seconds: float, everything: bool = False) -> dict | None:
    procs, scope = stack_of(processes(root), everything)
    if not procs:
        return None
    before = {}
    for pid in procs:
        try:
            before[pid] = stat(pid)[1]
        except OSError:
            pass
    time.sleep(seconds)
    rows = []
    for pid in procs:
        try:
            ticks = stat(pid)[1]
            pss = pss_kib(pid)
        except OSError:
            continue
        if pid not in before:
            continue
        group, what = label(pid, procs)
        rows.append({"pid": pid, "group": group, "what": what, "cmd": procs[pid]["cmd"][:100],
                     "cpu_pct": (ticks - before[pid]) / HZ / seconds * 100, "pss_mib": pss / 1024})
    return {"scope": scope, "seconds": seconds, "rows": rows}


def report(m: dict) -> None:
    rows = sorted(m["rows"], key=lambda r: (r["group"] not in ("infra", "manager"), r["group"], -r["pss_mib"]))
    print(f"At rest over {m['seconds']:g} s — {m['scope']}")
    print(f"{'pid':>7}  {'CPU %':>6}  {'PSS MiB':>8}  {'group':<14} what")
    for r in rows:
        print(f"{r['pid']:>7}  {r['cpu_pct']:6.2f}  {r['pss_mib']:8.1f}  {r['group']:<14} {r['what']}")
    groups: dict[str, list] = {}
    for r in rows:
        groups.setdefault(r["group"], []).append(r)
    print("\nper group (a service = its web master + web workers + worker)")
    for group, members in sorted(groups.items(), key=lambda g: -sum(r["pss_mib"] for r in g[1])):
        print(f"  {group:<14} {len(members):>2} processes  {sum(r['cpu_pct'] for r in members):6.2f} % CPU  "
              f"{sum(r['pss_mib'] for r in members):7.1f} MiB PSS")
    print(f"\ntotal: {len(rows)} processes, {sum(r['cpu_pct'] for r in rows):.2f} % of one core, "
          f"PSS {sum(r['pss_mib'] for r in rows):.1f} MiB")


# -------------------------------------------------------------------------------- latency

def load_events_helpers():
    spec = importlib.util.spec_from_file_location("bench_events", ROOT / "bench" / "events.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def latency(base: str, moves: int, warmup: int, timeout: float = 10.0) -> dict:
    from tests.support import register, team
    events = load_events_helpers()
    alice = register(base, name="Alice")
    bob = team(base, alice)
    r = alice.post(alice.W + "/projects", json={"name": "Idle bench", "templateId": "kanban"})
    r.raise_for_status()
    project = r.json()
    P = f"{alice.W}/projects/{project['id']}"
    alice.post(P + "/members", json={"email": bob.email}).raise_for_status()
    columns = [c["id"] for c in project["columns"]]
    card = alice.post(f"{P}/columns/{columns[0]}/cards", json={"title": "Idle bench card"}).json()
    C = f"{P}/cards/{card['id']}"
    stream = events.Stream(base, bob.token)
    try:
        time.sleep(0.5)  # the stream's first frames
        while not stream.events.empty():
            stream.events.get_nowait()
        totals, lost, column = [], 0, 0
        for i in range(warmup + moves):
            column = 1 - column
            r = alice.patch(C, json={"columnId": columns[column]})
            t_response = time.perf_counter()
            r.raise_for_status()
            try:
                while True:
                    t_seen, n = stream.events.get(timeout=timeout)
                    if n["activity"]["type"] == "card_moved":
                        break
            except queue.Empty:
                lost += 1
                continue
            if i >= warmup:
                totals.append((t_seen - t_response) * 1000)
    finally:
        stream.close()
    print(f"\ncard moved → notification on the recipient's SSE stream, through {base} "
          f"({len(totals)} moves after {warmup} warm-up, one at a time)")
    print(events.summary("response → SSE event", totals))
    if lost:
        print(f"!! {lost} notifications did not arrive within {timeout:g} s")
    return {"moves": len(totals), "lost": lost,
            "p50_ms": events.percentile(totals, 50) if totals else None,
            "p99_ms": events.percentile(totals, 99) if totals else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gateway", default="http://127.0.0.1:3001")
    ap.add_argument("--root", default=str(ROOT), help="the checkout `make up` runs in")
    ap.add_argument("--seconds", type=float, default=60.0, help="CPU measuring window")
    ap.add_argument("--moves", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--no-latency", action="store_true")
    ap.add_argument("--all-in-checkout", action="store_true",
                    help="measure every process whose cwd is the checkout, not only make up's manager tree")
    ap.add_argument("--json-out")
    a = ap.parse_args()
    m = measure(os.path.realpath(a.root), a.seconds, a.all_in_checkout)
    if m is None:  # `make bench` runs every script: this one has nothing to measure then
        print(f"bench/idle.py: no `make up` runs in {a.root} (no devtools.run or honcho manager there): "
              "start it first; nothing measured")
        return
    report(m)
    result = {"at_rest": {"scope": m["scope"], "seconds": a.seconds, "processes": m["rows"],
                          "pss_mib": round(sum(r["pss_mib"] for r in m["rows"]), 1),
                          "cpu_pct_of_one_core": round(sum(r["cpu_pct"] for r in m["rows"]), 2)}}
    if not a.no_latency:
        result["latency"] = latency(a.gateway.rstrip("/"), a.moves, a.warmup)
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
