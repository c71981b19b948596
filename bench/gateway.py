"""The gateway's overhead on an authenticated read, warm cache: the same GET through the gateway
and straight at the identity service (with a forged internal caller header), sequential on one
keep-alive connection and concurrent with a few threads. Also checks that a warm cache makes no
identity round trip (identity's access log, counted before and after the run).

    .venv/bin/python bench/gateway.py [-n 2000] [--threads 4] [--path org|ws]

Self-contained: starts its own stack (infrastructure + identity + gateway) in a temporary directory.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from devtools.stack import Stack  # noqa: E402
from libs.common.context import Caller, sign_caller  # noqa: E402

INTERNAL_CALLS = ('"GET /internal/', '"POST /internal/')
CACHE_TTL = 300  # seconds; the default (30) would add one lookup per key every 30 s of the run
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """`pid` and its children (gunicorn master + workers)."""
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                pids.append(int(entry.name))
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes: on a shared machine a steadier figure than latency."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def sequential(url: str, headers: dict, n: int) -> tuple[float, list[float]]:
    session = requests.Session()
    latencies = []
    start = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        r = session.get(url, headers=headers)
        latencies.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"GET {url} -> {r.status_code}: {r.text[:200]}")
    return time.perf_counter() - start, latencies


def concurrent(url: str, headers: dict, n: int, threads: int) -> tuple[float, list[float]]:
    per_thread = n // threads
    results: list[list[float]] = [[] for _ in range(threads)]
    errors: list[str] = []
    barrier = threading.Barrier(threads + 1)

    def worker(slot: int) -> None:
        session = requests.Session()
        session.get(url, headers=headers)  # open the connection before the clock starts
        barrier.wait()
        for _ in range(per_thread):
            t0 = time.perf_counter()
            r = session.get(url, headers=headers)
            results[slot].append((time.perf_counter() - t0) * 1000)
            if r.status_code != 200:
                errors.append(f"{r.status_code}: {r.text[:200]}")
                return

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise SystemExit(f"GET {url} failed: {errors[0]}")
    return elapsed, [x for r in results for x in r]


def measured(run, pids: list[int], *args) -> tuple[float, list[float], float]:
    before = cpu_seconds(pids)
    elapsed, latencies = run(*args)
    return elapsed, latencies, (cpu_seconds(pids) - before) * 1000 / len(latencies)


def summary(label: str, elapsed: float, latencies: list[float], cpu_ms: float, cpu_label: str) -> dict:
    row = {"label": label, "rps": len(latencies) / elapsed, "p50": statistics.median(latencies),
           "p99": percentile(latencies, 99), "mean": statistics.fmean(latencies), "cpu": cpu_ms}
    print(f"  {label:<22} {row['rps']:6.0f} req/s  p50 {row['p50']:6.2f} ms  p99 {row['p99']:6.2f} ms  "
          f"mean {row['mean']:6.2f} ms  {cpu_label} CPU {cpu_ms:5.2f} ms/req")
    return row


def identity_round_trips(stack: Stack) -> int:
    log = stack.root / "identity-web.log"
    if not log.exists():
        return 0
    with open(log, errors="replace") as fh:
        return sum(1 for line in fh if any(marker in line for marker in INTERNAL_CALLS))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=2000, help="requests per run")
    ap.add_argument("--threads", type=int, default=4, help="threads of the concurrent run")
    ap.add_argument("--path", choices=("org", "ws"), default="ws", help="GET /organizations/<org> or W")
    ap.add_argument("--keep", action="store_true", help="keep the stack's directory (logs)")
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="stellary-bench-gw-"))
    # The per-token limit is exercised but set out of the way of a few thousand requests a minute.
    stack = Stack.start(root, services=["identity"], extra_env={"RATE_LIMIT_TOKEN_PER_MIN": "1000000",
                                                                "GATEWAY_CACHE_TTL": str(CACHE_TTL)})
    try:
        # identity only, and only for this run: an access log to count the gateway's lookups
        stack.kill("identity", "web")
        stack.env["ACCESS_LOG"] = "1"
        stack.spawn("identity", "web")
        stack.env.pop("ACCESS_LOG")
        stack.wait_healthy()

        r = requests.post(stack.url + "/auth/register", json={"email": f"bench-{os.getpid()}@example.com",
                                                              "password": "bench-pass-123", "name": "Bench"})
        r.raise_for_status()
        token, user = r.json()["access_token"], r.json()["user"]
        orgs = requests.get(stack.url + "/organizations", headers={"Authorization": f"Bearer {token}"}).json()
        org = next(o for o in orgs if o["isPersonal"])
        path = f"/organizations/{org['slug']}" if args.path == "org" else f"/orgs/{org['slug']}/workspaces/personal"
        ws = requests.get(stack.url + f"/orgs/{org['slug']}/workspaces/personal",
                          headers={"Authorization": f"Bearer {token}"}).json()

        gw_headers = {"Authorization": f"Bearer {token}"}
        caller = Caller(user_id=user["id"], email=user["email"], name=user["name"],
                        org={"id": org["id"], "slug": org["slug"], "role": "owner"},
                        ws={"id": ws["id"], "slug": ws["slug"], "role": "admin", "pilotageRole": "owner"})
        direct_headers = {"X-Stellary-Caller": sign_caller(caller, stack.env["INTERNAL_TOKEN_SECRET"], ttl=3600)}
        gw_url, direct_url = stack.url + path, stack.service_url("identity") + path

        print(f"GET {path}   n={args.n}   threads={args.threads}   (gateway {stack.url}, identity "
              f"{stack.service_url('identity')})")
        sequential(gw_url, gw_headers, 200)  # warm: caches, connection pools, code paths
        sequential(direct_url, direct_headers, 200)
        lookups_before = identity_round_trips(stack)

        gateway = process_tree(stack.procs[("gateway", "web")].pid)
        identity = process_tree(stack.procs[("identity", "web")].pid)
        print("sequential, one keep-alive connection")
        gw_seq = summary("through the gateway", *measured(sequential, gateway, gw_url, gw_headers, args.n), "gateway")
        direct_seq = summary("straight at identity", *measured(sequential, identity, direct_url, direct_headers,
                                                               args.n), "identity")
        print(f"  gateway overhead       p50 {gw_seq['p50'] - direct_seq['p50']:+.2f} ms   "
              f"p99 {gw_seq['p99'] - direct_seq['p99']:+.2f} ms   mean {gw_seq['mean'] - direct_seq['mean']:+.2f} ms"
              f"   gateway CPU {gw_seq['cpu']:.2f} ms/req")

        print(f"concurrent, {args.threads} threads")
        gw_con = summary("through the gateway", *measured(concurrent, gateway, gw_url, gw_headers, args.n,
                                                          args.threads), "gateway")
        direct_con = summary("straight at identity", *measured(concurrent, identity, direct_url, direct_headers,
                                                               args.n, args.threads), "identity")
        print(f"  gateway overhead       p50 {gw_con['p50'] - direct_con['p50']:+.2f} ms   "
              f"p99 {gw_con['p99'] - direct_con['p99']:+.2f} ms")

        time.sleep(0.5)  # let the access log reach the file
        trips = identity_round_trips(stack) - lookups_before
        print(f"identity round trips by the gateway during the warm runs: {trips} "
              f"(for {2 * args.n} requests through the gateway; GATEWAY_CACHE_TTL={CACHE_TTL}s)")
        verdict = "OK" if gw_seq["p50"] - direct_seq["p50"] < 2.0 and trips == 0 else "OVER BUDGET"
        print(f"budget: < 2 ms p50 overhead warm, 0 round trips -> {verdict}")
    finally:
        stack.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"logs kept in {root}")


if __name__ == "__main__":
    main()
