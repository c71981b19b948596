"""Soak: mixed traffic through the gateway of a test stack it starts (devtools.stack: every built
service, free ports, a temporary directory) for a while, then what it did minute by minute.

    .venv/bin/python bench/soak.py                       # 25 minutes: 15 of warm-up, 10 measured
    .venv/bin/python bench/soak.py --seconds 120 --warmup 1 --workers 4 --streams 6 --minute 30
    .venv/bin/python bench/soak.py --laptop              # make up's layout (deploy/dev.env)

Traffic: `--workers` threads, each a user of one shared workspace and project, loop over a weighted
mix — board and card reads (50 %), card writes: create, rename, comment (25 %), moves between
columns (15 %), 20 KiB attachment uploads (10 %); past WORKING_SET cards each create deletes the
oldest card (and its attachments), and 1 read in 20 marks the user's notifications read, so the
data set stays steady — while `--streams` SSE clients keep
GET /notifications/stream open (each reconnects after `--stream-life` seconds).

Printed per minute (`--minute` seconds, to see the trend on a short run): requests, 5xx, latency
p50/p95/p99 (ms, by kind), and every process's PSS (MiB, from /proc/<pid>/smaps_rollup: the web
processes' gunicorn master and workers, the workers, the infrastructure). At the end: the total of
5xx (must be 0) and each process's PSS growth from the first minute after warm-up (`--warmup`
intervals, 15 by default) to the last, flagged when it grows by more than 10 % and 8 MiB. The
warm-up is that long for weed (the embedded S3 server): its filer's metadata log rings fill for
the first ~12 minutes of this traffic, then its PSS stays level (README, "Running it"). Exit status 1 when a 5xx
was seen or a process grew. With `--slow-ms N` (50 by default; 0: off) every service logs the MongoDB
commands that took N ms or more (MONGO_SLOW_MS), and the soak ends with them grouped by collection and
value-free shape, counted in the first and the last interval: the query whose cost grows. No assertion runs in `make test` (a figure depends on the machine).
"""
from __future__ import annotations

import argparse
import calendar
import json
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.stack import Stack  # noqa: E402
from tests.support import register, team  # noqa: E402

MIX = [("read", 50), ("write", 25), ("move", 15), ("upload", 10)]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def pss_mib(pid: int) -> float | None:
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    try:
        out = []
        for task in os.listdir(f"/proc/{pid}/task"):
            out += [int(c) for c in open(f"/proc/{pid}/task/{task}/children").read().split()]
        return out
    except OSError:
        return []


def processes(stack: Stack) -> dict[str, int]:
    """{"boards-web": pid, "boards-web.1": gunicorn worker pid, "boards-worker": pid, "mongo": pid…}"""
    out = {}
    for (name, kind), proc in stack.procs.items():
        out[f"{name}-{kind}"] = proc.pid
        for i, child in enumerate(children(proc.pid), 1):
            out[f"{name}-{kind}.{i}"] = child
    for name, proc in stack.infra.procs.items():   # mongo (nx-27017), nats, s3 (its wrapper's children too)
        out[name] = proc.pid
        for i, child in enumerate(children(proc.pid), 1):
            out[f"{name}.{i}"] = child
    return out


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.samples: list[tuple[float, str, int, float]] = []   # (time, kind, status, seconds)

    def add(self, kind: str, status: int, seconds: float) -> None:
        with self.lock:
            self.samples.append((time.monotonic(), kind, status, seconds))


def setup(base: str, users: int):
    owner = register(base, name="Soak Owner")
    members = [owner] + [team(base, owner) for _ in range(users - 1)]
    project = owner.post(owner.W + "/projects", json={"name": "Soak", "templateId": "kanban"}).json()
    P = f"{owner.W}/projects/{project['id']}"
    for m in members[1:]:
        owner.post(P + "/members", json={"email": m.email})
    columns = [c["id"] for c in project["columns"]]
    cards = [owner.post(f"{P}/columns/{columns[0]}/cards", json={"title": f"seed {i}"}).json()["id"] for i in range(20)]
    return members, P, columns, cards


# Cards kept on the board: past it, each create deletes the oldest card (and its attachments), so
# memory is measured on a steady data set — what grows then grows with time, not with data.
WORKING_SET = 300


def traffic(client, P, columns, cards, rec: Recorder, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    kinds = [k for k, w in MIX for _ in range(w)]
    payload = os.urandom(20 * 1024)
    while not stop.is_set():
        kind = rng.choice(kinds)
        card = rng.choice(cards)
        started = time.perf_counter()
        try:
            if kind == "read":
                if rng.random() < 0.05:   # users read their notifications: the unread set stays bounded
                    r = client.patch("/notifications/read-all")
                else:
                    r = client.get(rng.choice([P, P + "/cards", P + "/columns", f"{P}/cards/{card}", "/notifications"]))
            elif kind == "write":
                action = rng.random()
                if action < 0.4:
                    r = client.post(f"{P}/columns/{rng.choice(columns)}/cards", json={"title": f"soak {rng.random():.6f}"})
                    if r.status_code == 201:
                        cards.append(r.json()["id"])
                    if len(cards) > WORKING_SET:   # a steady data set: the oldest card goes (and its files)
                        try:
                            client.delete(f"{P}/cards/{cards.pop(0)}")
                        except IndexError:
                            pass
                elif action < 0.7:
                    r = client.patch(f"{P}/cards/{card}", json={"title": f"renamed {rng.random():.6f}"})
                else:
                    r = client.post(f"{P}/cards/{card}/comments", json={"content": "soak comment"})
            elif kind == "move":
                r = client.patch(f"{P}/cards/{card}", json={"columnId": rng.choice(columns)})
            else:
                r = client.request("POST", f"{P}/cards/{card}/attachments",
                                   files={"file": (f"soak-{rng.randrange(1000)}.bin", payload, "application/octet-stream")})
            status = r.status_code
        except requests.RequestException:
            status = 599   # the connection failed: counted with the 5xx
        rec.add(kind, status, time.perf_counter() - started)


def stream(client, life: float, rec: Recorder, stop: threading.Event) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        try:
            with client.session.get(client.base + "/notifications/stream", headers=client.headers(),
                                    stream=True, timeout=(5, 30)) as r:
                rec.add("sse-open", r.status_code, time.perf_counter() - started)
                deadline = time.monotonic() + life
                for _ in r.iter_lines(chunk_size=1):
                    if stop.is_set() or time.monotonic() > deadline:
                        break
        except requests.RequestException:
            if not stop.is_set():
                rec.add("sse-open", 599, time.perf_counter() - started)
                time.sleep(1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 1500)),
                        help="the whole run, warm-up included (25 minutes: 15 of warm-up, 10 measured)")
    parser.add_argument("--minute", type=float, default=60.0, help="the reporting interval, in seconds")
    parser.add_argument("--warmup", type=int, default=15, help="intervals left out of the growth check")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--laptop", action="store_true",
                        help="make up's layout: each service one process, its bus worker on a thread")
    parser.add_argument("--streams", type=int, default=6)
    parser.add_argument("--stream-life", type=float, default=20.0)
    parser.add_argument("--slow-ms", type=int, default=int(os.environ.get("MONGO_SLOW_MS") or 50),
                        help="every service logs MongoDB commands this slow (MONGO_SLOW_MS); 0: off")
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="stellary-soak-"))
    print(f"starting a stack in {root} …", flush=True)
    env = {"NOTIFICATIONS_STREAM_HEARTBEAT": "5s", "ACCESS_LOG": "", "MONGO_SLOW_MS": str(args.slow_ms)}
    stack = Stack.start(root, extra_env=env, laptop=args.laptop)
    try:
        return run(stack, args)
    finally:
        stack.stop()


def run(stack: Stack, args) -> int:
    members, P, columns, cards = setup(stack.url, max(2, args.workers))
    rec, stop = Recorder(), threading.Event()
    threads = [threading.Thread(target=traffic, args=(members[i % len(members)].with_token(members[i % len(members)].token),
                                                      P, columns, cards, rec, stop, i), daemon=True)
               for i in range(args.workers)]
    threads += [threading.Thread(target=stream, args=(members[i % len(members)].with_token(members[i % len(members)].token),
                                                      args.stream_life, rec, stop), daemon=True)
                for i in range(args.streams)]
    started = time.monotonic()
    for t in threads:
        t.start()
    pss_rows: list[dict[str, float]] = []
    intervals = max(1, round(args.seconds / args.minute))
    print(f"{args.workers} clients, {args.streams} SSE streams, {intervals} × {args.minute:.0f} s\n", flush=True)
    header = f"{'min':>4} {'reqs':>6} {'5xx':>4}  " + "  ".join(f"{k + ' p50/p95/p99':>22}" for k, _ in MIX)
    print(header, flush=True)
    for n in range(intervals):
        end = started + (n + 1) * args.minute
        time.sleep(max(0.0, end - time.monotonic()))
        with rec.lock:
            window = [s for s in rec.samples if end - args.minute <= s[0] < end]
        cells = []
        for kind, _ in MIX:
            ms = [s[3] * 1000 for s in window if s[1] == kind]
            cells.append(f"{percentile(ms, .5):6.1f}/{percentile(ms, .95):6.1f}/{percentile(ms, .99):6.1f}")
        errors = sum(1 for s in window if s[2] >= 500)
        print(f"{n + 1:>4} {len(window):>6} {errors:>4}  " + "  ".join(f"{c:>22}" for c in cells), flush=True)
        pss_rows.append({name: v for name, pid in processes(stack).items() if (v := pss_mib(pid)) is not None})
    stop.set()
    for t in threads:
        t.join(35)

    total = len(rec.samples)
    errors = [s for s in rec.samples if s[2] >= 500]
    print(f"\nrequests {total}, 5xx {len(errors)}" + (f" (by kind: {dict(_count(errors))})" if errors else ""))
    print("\nPSS per process (MiB), per interval:")
    names = sorted(set().union(*pss_rows)) if pss_rows else []
    print(f"{'process':<26}" + "".join(f"{i + 1:>8}" for i in range(len(pss_rows))) + f"{'growth':>10}")
    grown = []
    base_row = min(args.warmup, len(pss_rows) - 1)
    for name in names:
        values = [row.get(name) for row in pss_rows]
        first, last = values[base_row], values[-1]
        growth = (last - first) if first is not None and last is not None else None
        flag = ""
        if growth is not None and growth > 8 and growth > 0.10 * first:
            flag = "  GROWS"
            grown.append(name)
        cells = "".join(f"{v:8.1f}" if v is not None else f"{'-':>8}" for v in values)
        print(f"{name:<26}{cells}{(f'{growth:+10.1f}' if growth is not None else ' ' * 10)}{flag}")
    slow_commands(stack, started, args)
    print(f"\ntotal PSS: first {sum(pss_rows[0].values()):.0f} MiB, last {sum(pss_rows[-1].values()):.0f} MiB")
    ok = not errors and not grown
    print("OK: no 5xx, no process grew after warm-up" if ok else f"FAILED: {len(errors)} 5xx, growing: {grown}")
    return 0 if ok else 1


SLOW = re.compile(r"slow mongo command (\S+) (\S+) ([0-9.]+)ms (.*)")


def slow_commands(stack: Stack, started: float, args) -> None:
    """The slow commands the services logged (MONGO_SLOW_MS), grouped by command, collection and
    value-free shape, with how many fell in the first and in the last interval: a query whose count
    or time grows from one to the other is the one whose cost follows history."""
    if not args.slow_ms:
        return
    wall0 = time.time() - (time.monotonic() - started)
    groups: dict = defaultdict(list)
    for name, text in stack.logs().items():
        for line in text.splitlines():
            if "slow mongo command" not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            m = SLOW.match(record.get("msg", ""))
            if not m:
                continue
            at = calendar.timegm(time.strptime(record["ts"][:19], "%Y-%m-%dT%H:%M:%S"))
            groups[(m.group(1), m.group(2), m.group(4))].append((at - wall0, float(m.group(3)), name))
    print(f"\nMongoDB commands ≥ {args.slow_ms} ms, by shape ({sum(map(len, groups.values()))} in all):")
    if not groups:
        return
    last = (max(1, round(args.seconds / args.minute)) - 1) * args.minute
    print(f"{'count':>6} {'first':>6} {'last':>6} {'p50 ms':>7} {'max ms':>7}  command collection shape (processes)")
    for key, rows in sorted(groups.items(), key=lambda kv: -len(kv[1]))[:15]:
        ms = [r[1] for r in rows]
        first = sum(1 for r in rows if r[0] < args.minute)
        final = sum(1 for r in rows if r[0] >= last)
        where = ",".join(sorted({r[2] for r in rows}))
        print(f"{len(rows):>6} {first:>6} {final:>6} {percentile(ms, .5):7.0f} {max(ms):7.0f}  "
              f"{key[0]} {key[1]} {key[2][:160]} ({where})")


def _count(samples):
    out = defaultdict(int)
    for _, kind, status, _ in samples:
        out[f"{kind}:{status}"] += 1
    return out


if __name__ == "__main__":
    sys.exit(main())
