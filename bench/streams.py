"""N concurrent SSE clients (GET /notifications/stream) with a probe of ordinary requests alongside.

    .venv/bin/python bench/streams.py                    # its own stack (identity, notifications)
    .venv/bin/python bench/streams.py --url http://localhost:3001 --levels 100,500,1000

Its own stack runs identity, notifications and the gateway with 8 threads each, like make up
(`--laptop`: make up's layout, each service one process). For each level: opens N streams (10 users share them: STREAMS_PER_USER allows 10 each, so N/10
users), counts those answered 200 within 10 s, then times 200 ordinary authenticated requests
(GET /notifications/count by another user) and 20 GET /health while the streams stay open.
Targets (issue 14): 1,000 streams open, ordinary p99 <= 100 ms, /health <= 50 ms.
Prints figures; asserts nothing.

Figures (2 cores, 2026-12-03; the machine was shared with other work, load average 1.5–4.5 during
the runs; ordinary = GET /notifications/count of another user):

    before (gunicorn gthread, 64 threads in the gateway and in notifications: a stream holds one)
      100 streams asked,   64 open | ordinary p50 5006 ms p99 5007 ms, 5 failed (5 s) | /health 5 failed
      500 streams asked,    0 open | ordinary and /health: every probe failed (5 s)
     1000 streams asked,    0 open | ordinary and /health: every probe failed (5 s)
    after (create_asgi(): gunicorn's asgi worker, streams on the event loop, 8 request threads)
      100 streams asked,  100 open | ordinary p50 4.2 ms p99  9.6 ms max  14.6 ms | /health p50 6.9 ms max 14.7 ms
      500 streams asked,  500 open | ordinary p50 5.7 ms p99 11.6 ms max  15.0 ms | /health p50 9.3 ms max 16.4 ms
     1000 streams asked, 1000 open | ordinary p50 6.0 ms p99 23.5 ms max 138.2 ms | /health p50 9.4 ms max 15.0 ms
    after, --laptop (make up's layout)
     1000 streams asked, 1000 open | ordinary p50 4.7 ms p99 11.2 ms max  15.9 ms | /health p50 6.5 ms max  8.5 ms

1,000 streams open in ~5.5 s (gateway ~1.8 ms of CPU per open, notifications ~1.8 ms, the stand-in
~1.9 ms: two queries); open and idle, they cost ~1 % of a core (heartbeats, one safety poll).
An earlier run with httpx relaying in the gateway: 795 of 1,000 open within 10 s, p99 417 ms
(its connection pool scans every open connection on each new request).
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PER_USER = 10


def register(base: str) -> str:
    r = requests.post(base + "/auth/register", json={"email": f"bench-{uuid.uuid4().hex[:10]}@example.com",
                                                     "password": "secure-pass-123", "name": "Bench"}, timeout=60)
    r.raise_for_status()
    return r.json()["access_token"]


async def open_stream(host: str, port: int, token: str, opened: list, writers: list, timeout: float) -> None:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        writers.append(writer)
        writer.write((f"GET /notifications/stream HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                      "Accept: text/event-stream\r\n\r\n").encode())
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
        if b" 200 " in line:
            opened.append(time.perf_counter())
            while await reader.read(4096):  # keep draining what the stream sends
                pass
    except (OSError, asyncio.TimeoutError):
        return


def probe(base: str, token: str, n: int, path: str) -> list[float]:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    times, failed = [], 0
    for _ in range(n):
        started = time.perf_counter()
        try:
            ok = session.get(base + path, headers=headers, timeout=5).status_code < 500
        except requests.RequestException:
            ok = False
        times.append((time.perf_counter() - started) * 1000)
        failed += not ok
        if failed >= 5:  # the gateway is saturated: no point timing more
            break
    return times, failed


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


async def level(base: str, n: int, tokens: list[str], probe_token: str) -> None:
    url = urlparse(base)
    opened: list = []
    writers: list = []
    started = time.perf_counter()
    tasks = [asyncio.create_task(open_stream(url.hostname, url.port, tokens[i // PER_USER], opened, writers, 10))
             for i in range(n)]
    await asyncio.sleep(min(15, 2 + n / 100))
    loop = asyncio.get_running_loop()
    ordinary, failed = await loop.run_in_executor(None, probe, base, probe_token, 200, "/notifications/count")
    health, health_failed = await loop.run_in_executor(None, probe, base, "", 20, "/health")
    took = f"in {max(opened) - started:4.1f} s" if opened else "        "
    print(f"{n:>5} streams asked, {len(opened):>5} open {took} | ordinary p50 {statistics.median(ordinary):7.1f} ms "
          f"p99 {pct(ordinary, 0.99):7.1f} ms max {max(ordinary):7.1f} ms, {failed} failed/timed out (5 s) | "
          f"/health p50 {statistics.median(health):6.1f} ms max {max(health):7.1f} ms, {health_failed} failed",
          flush=True)
    for w in writers:
        w.close()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    # The gateway and notifications see a client leave at once (libs/common/asyncweb.py): a few
    # seconds let the slots and the service's streams go before the next level.
    await asyncio.sleep(5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", help="a running gateway (default: start a stack)")
    parser.add_argument("--levels", default="100,500,1000")
    parser.add_argument("--laptop", action="store_true", help="make up's layout (one process per service)")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    stack = None
    if args.url:
        base = args.url.rstrip("/")
    else:
        from devtools.stack import Stack
        stack = Stack.start(Path(tempfile.mkdtemp(prefix="bench-streams-")), services=["identity", "notifications"],
                            extra_env={"RATE_LIMIT_TOKEN_PER_MIN": "0", "WEB_THREADS": "8"},  # as make up
                            laptop=args.laptop)
        base = stack.url
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
        tokens = [register(base) for _ in range(max(levels) // PER_USER + 1)]
        probe_token = register(base)
        print(f"gateway {base}; {len(tokens)} users hold the streams ({PER_USER} each)")
        for n in levels:
            asyncio.run(level(base, n, tokens, probe_token))
    finally:
        if stack is not None:
            stack.stop()


if __name__ == "__main__":
    main()
