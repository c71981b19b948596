"""The gateway's overhead on an authenticated read, warm cache: the same GET through the gateway
and straight at the identity service (with a forged internal caller header).

    .venv/bin/python bench/gateway.py [-n 2000] [--threads 4] [--path ws|org]

Self-contained: starts its own stack (infrastructure + identity + gateway) in a temporary directory.

- sequential: one keep-alive connection per target, the two targets alternating request by
  request, so both see the same machine load (on a shared machine that matters more than n);
- concurrent: `--threads` threads, each with its own connections, in alternating rounds per target;
- CPU: user+system time of the gateway's (resp. identity's) processes per request — the steadier
  figure when other processes compete for the cores;
- identity round trips: the gateway's calls to identity's /internal endpoints during the measured
  runs, counted in identity's access log (enabled for this run only). A warm cache makes none.
  GATEWAY_CACHE_TTL is raised so that the count shows the warm path, not the periodic refresh
  (one lookup per user and path per TTL, 30 s by default).
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
CACHE_TTL = 300
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Target:
    def __init__(self, label: str, url: str, headers: dict, pids: list[int]):
        self.label, self.url, self.headers, self.pids = label, url, headers, pids
        self.latencies: list[float] = []
        self.busy = 0.0  # wall time spent in this target's phases (concurrent runs)
        self.cpu = 0.0

    def get(self, session: requests.Session) -> float:
        t0 = time.perf_counter()
        r = session.get(self.url, headers=self.headers)
        elapsed = (time.perf_counter() - t0) * 1000
        if r.status_code != 200:
            raise SystemExit(f"GET {self.url} -> {r.status_code}: {r.text[:200]}")
        return elapsed


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
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def sequential(targets: list[Target], n: int) -> None:
    sessions = [requests.Session() for _ in targets]
    for target, session in zip(targets, sessions):
        target.latencies, target.cpu = [], 0.0
        target.get(session)
    # CPU is counted over the whole interleaved run: each process serves only its own target's
    # requests, except identity, which also serves the gateway's (subtracted below).
    cpu_before = [cpu_seconds(t.pids) for t in targets]
    for _ in range(n):
        for target, session in zip(targets, sessions):
            target.latencies.append(target.get(session))
    for target, before in zip(targets, cpu_before):
        target.cpu = cpu_seconds(target.pids) - before


def concurrent(targets: list[Target], n: int, threads: int, rounds: int = 4) -> None:
    for target in targets:
        target.latencies, target.busy, target.cpu = [], 0.0, 0.0
    per_thread = max(1, n // threads // rounds)
    for _ in range(rounds):
        for target in targets:
            results: list[list[float]] = [[] for _ in range(threads)]
            barrier = threading.Barrier(threads + 1)

            def worker(slot: int) -> None:
                session = requests.Session()
                target.get(session)  # connection open before the clock starts
                barrier.wait()
                for _ in range(per_thread):
                    results[slot].append(target.get(session))

            pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
            for t in pool:
                t.start()
            barrier.wait()
            cpu0, start = cpu_seconds(target.pids), time.perf_counter()
            for t in pool:
                t.join()
            target.busy += time.perf_counter() - start
            target.cpu += cpu_seconds(target.pids) - cpu0
            target.latencies.extend(x for r in results for x in r)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def report(target: Target, rps: float, cpu_ms: float, cpu_of: str) -> dict:
    lat = target.latencies
    row = {"rps": rps, "p50": statistics.median(lat), "p99": percentile(lat, 99), "mean": statistics.fmean(lat),
           "cpu": cpu_ms}
    print(f"  {target.label:<22} {rps:6.0f} req/s  p50 {row['p50']:6.2f} ms  p99 {row['p99']:6.2f} ms  "
          f"mean {row['mean']:6.2f} ms  {cpu_of} CPU {cpu_ms:5.2f} ms/req")
    return row


def identity_round_trips(stack: Stack) -> int:
    log = stack.root / "identity-web.log"
    if not log.exists():
        return 0
    with open(log, errors="replace") as fh:
        return sum(1 for line in fh if any(marker in line for marker in INTERNAL_CALLS))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=2000, help="requests per target and run")
    ap.add_argument("--threads", type=int, default=4, help="threads of the concurrent run")
    ap.add_argument("--path", choices=("org", "ws"), default="ws", help="GET W (default) or /organizations/<org>")
    ap.add_argument("--keep", action="store_true", help="keep the stack's directory (logs)")
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="stellary-bench-gw-"))
    # The per-token limit is exercised but set out of the way of a few thousand requests a minute.
    stack = Stack.start(root, services=["identity"], extra_env={"RATE_LIMIT_TOKEN_PER_MIN": "1000000",
                                                                "GATEWAY_CACHE_TTL": str(CACHE_TTL)})
    try:
        stack.kill("identity", "web")  # identity only, and only for this run: an access log
        stack.env["ACCESS_LOG"] = "1"
        stack.spawn("identity", "web")
        stack.env.pop("ACCESS_LOG")
        stack.wait_healthy()

        r = requests.post(stack.url + "/auth/register", json={"email": f"bench-{os.getpid()}@example.com",
                                                              "password": "bench-pass-123", "name": "Bench"})
        r.raise_for_status()
        token, user = r.json()["access_token"], r.json()["user"]
        auth = {"Authorization": f"Bearer {token}"}
        org = next(o for o in requests.get(stack.url + "/organizations", headers=auth).json() if o["isPersonal"])
        ws = requests.get(stack.url + f"/orgs/{org['slug']}/workspaces/personal", headers=auth).json()
        path = f"/organizations/{org['slug']}" if args.path == "org" else f"/orgs/{org['slug']}/workspaces/personal"

        caller = Caller(user_id=user["id"], email=user["email"], name=user["name"],
                        org={"id": org["id"], "slug": org["slug"], "role": "owner"},
                        ws={"id": ws["id"], "slug": ws["slug"], "role": "admin", "pilotageRole": "owner"})
        forged = {"X-Stellary-Caller": sign_caller(caller, stack.env["INTERNAL_TOKEN_SECRET"], ttl=3600)}
        gw_pids = process_tree(stack.procs[("gateway", "web")].pid)
        id_pids = process_tree(stack.procs[("identity", "web")].pid)
        gateway = Target("through the gateway", stack.url + path, auth, gw_pids)
        direct = Target("straight at identity", stack.service_url("identity") + path, forged, id_pids)

        print(f"GET {path}   n={args.n} per target   threads={args.threads}   "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        sequential([gateway, direct], 200)  # warm: caches, connection pools, code paths
        lookups_before = identity_round_trips(stack)

        print("sequential, one keep-alive connection each, requests alternating")
        sequential([gateway, direct], args.n)
        # identity served both targets: its CPU per request is its total over both
        id_cpu = direct.cpu * 1000 / (2 * args.n)
        g = report(gateway, 1000 / statistics.fmean(gateway.latencies), gateway.cpu * 1000 / args.n, "gateway")
        d = report(direct, 1000 / statistics.fmean(direct.latencies), id_cpu, "identity")
        print(f"  gateway overhead       p50 {g['p50'] - d['p50']:+.2f} ms   p99 {g['p99'] - d['p99']:+.2f} ms   "
              f"mean {g['mean'] - d['mean']:+.2f} ms")

        print(f"concurrent, {args.threads} threads, alternating rounds")
        concurrent([gateway, direct], args.n, args.threads)
        gc = report(gateway, len(gateway.latencies) / gateway.busy, gateway.cpu * 1000 / len(gateway.latencies),
                    "gateway")
        dc = report(direct, len(direct.latencies) / direct.busy, direct.cpu * 1000 / len(direct.latencies),
                    "identity")
        print(f"  gateway overhead       p50 {gc['p50'] - dc['p50']:+.2f} ms   p99 {gc['p99'] - dc['p99']:+.2f} ms   "
              f"throughput {gc['rps'] / dc['rps'] - 1:+.0%}")

        time.sleep(0.5)  # let the access log reach the file
        trips = identity_round_trips(stack) - lookups_before
        print(f"identity round trips by the gateway during the measured runs: {trips} "
              f"(for {len(gateway.latencies) + args.n} gateway requests; GATEWAY_CACHE_TTL={CACHE_TTL}s)")
        ok = g["p50"] - d["p50"] < 2.0 and trips == 0
        print(f"budget: < 2 ms p50 overhead warm (sequential), no round trip -> {'OK' if ok else 'OVER'}")
    finally:
        stack.stop()
        if args.keep:
            print(f"logs kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
