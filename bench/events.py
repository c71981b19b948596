"""Event fan-out latency: card moved (HTTP response received by the mover) → notification visible to
another project member on their SSE stream (`GET /notifications/stream` through the gateway).
Starts its own stack (identity + boards + notifications) on free ports in a temporary directory,
prints the figures, stops the stack. No assertions on timing.

    .venv/bin/python bench/events.py
    BENCH_MOVES=500 BENCH_WARMUP=30 .venv/bin/python bench/events.py
    BENCH_POLL=1 .venv/bin/python bench/events.py      # also measure by polling /notifications/count
                                                       # (back-to-back GETs from the mover's side)

One move at a time (the next starts once the previous notification arrived), so each figure is a
pure latency, not a queueing effect. Where the time goes is measured with core NATS taps on the
same machine clock:
    relay    response received → the event on NATS (boards' web process publishes the outbox row right
             after the commit, from its NATS thread: the JetStream publish)
    consume  event on NATS → the worker announces the stored notification (`live.notifications.<user>`):
             the pull consumer's fetch, the processed-id check, the insert, the processed marker
    deliver  announce → the SSE event read by the client (the web process reads the row by id,
             writes it; the gateway relays the chunk)
The `relay` stage can be negative by up to a few ms: the event may reach NATS before the HTTP
response reaches the client.
"""
from __future__ import annotations

import asyncio
import json
import os
import queue
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.stack import Stack  # noqa: E402
from tests.support import register, team  # noqa: E402

MOVES = int(os.environ.get("BENCH_MOVES", "300"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "20"))
POLL = os.environ.get("BENCH_POLL", "") not in ("", "0")
TIMEOUT = 10.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def summary(name: str, values_ms: list[float]) -> str:
    if not values_ms:
        return f"{name:<28} (no samples)"
    return (f"{name:<28} p50 {percentile(values_ms, 50):7.1f} ms   p99 {percentile(values_ms, 99):7.1f} ms   "
            f"mean {statistics.fmean(values_ms):7.1f} ms   max {max(values_ms):7.1f} ms   n={len(values_ms)}")


class Stream:
    """The recipient's SSE stream: (arrival time, event dict) for every `notification` event."""

    def __init__(self, base: str, token: str):
        self.events: queue.Queue = queue.Queue()
        self.response = requests.get(base + "/notifications/stream", stream=True, timeout=(5, 120),
                                     headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"})
        self.response.raise_for_status()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        kind, data = None, None
        try:
            for line in self.response.iter_lines(chunk_size=1, decode_unicode=True):
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data = line[5:].strip()
                elif line == "":
                    if kind == "notification" and data:
                        self.events.put((time.perf_counter(), json.loads(data)))
                    kind, data = None, None
        except Exception:  # noqa: BLE001 - closed at the end
            pass

    def close(self) -> None:
        self.response.close()


class Tap:
    """Core NATS subscriptions recording the arrival time of each message (keyed by a function)."""

    def __init__(self, url: str, subjects: dict[str, callable]):
        self.seen: dict[str, float] = {}
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

        async def start():
            import nats
            self.nc = await nats.connect(url)
            for subject, key in subjects.items():
                async def cb(msg, key=key):
                    at = time.perf_counter()
                    for k in key(json.loads(msg.data)):
                        self.seen.setdefault(k, at)
                await self.nc.subscribe(subject, cb=cb)
            await self.nc.flush()

        asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.nc.close(), self.loop).result(5)


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="stellary-bench-events-"))
    print(f"starting the stack in {root} …", flush=True)
    stack = Stack.start(root, services=["identity", "boards", "notifications"])
    stream = tap = None
    try:
        base = stack.url
        alice = register(base, name="Alice")
        bob = team(base, alice)
        r = alice.post(alice.W + "/projects", json={"name": "Bench", "templateId": "kanban"})
        r.raise_for_status()
        project = r.json()
        P = f"{alice.W}/projects/{project['id']}"
        alice.post(P + "/members", json={"email": bob.email}).raise_for_status()
        columns = [c["id"] for c in project["columns"]]
        card = alice.post(f"{P}/columns/{columns[0]}/cards", json={"title": "Bench card"}).json()
        C = f"{P}/cards/{card['id']}"

        stream = Stream(base, bob.token)
        tap = Tap(stack.env["NATS_URL"], {
            "boards.card.moved": lambda env: [("nats", env["id"])],
            f"live.notifications.{bob.user_id}": lambda payload: [("live", i) for i in payload.get("ids", [])],
        })
        time.sleep(0.5)  # the stream's first frames
        while not stream.events.empty():
            stream.events.get_nowait()

        baseline = bob.get("/notifications/count").json()["count"]  # bob's own member_added
        totals, relay, consume, deliver, polled, lost = [], [], [], [], [], 0
        column = 0
        print(f"{WARMUP} warm-up moves, then {MOVES} measured …", flush=True)
        for i in range(WARMUP + MOVES):
            column = 1 - column
            r = alice.patch(C, json={"columnId": columns[column]})
            t_response = time.perf_counter()
            r.raise_for_status()
            if POLL:
                # The same notification through polling, measured independently: the SSE reader
                # thread timestamps its events on its own.
                expected, t_poll = baseline + i + 1 - lost, None
                give_up = time.perf_counter() + TIMEOUT
                while t_poll is None and time.perf_counter() < give_up:
                    if bob.get("/notifications/count").json()["count"] >= expected:
                        t_poll = time.perf_counter()
            try:
                while True:
                    t_seen, n = stream.events.get(timeout=TIMEOUT)
                    if n["activity"]["type"] == "card_moved":
                        break
            except queue.Empty:
                lost += 1
                continue
            if i < WARMUP:
                continue
            totals.append((t_seen - t_response) * 1000)
            keys = (("nats", n["activity"]["eventId"]), ("live", n["id"]))
            deadline = time.perf_counter() + 0.5  # the taps' thread may not have run its callbacks yet
            while any(k not in tap.seen for k in keys) and time.perf_counter() < deadline:
                time.sleep(0.001)
            t_nats, t_live = (tap.seen.get(k) for k in keys)
            if t_nats is not None and t_live is not None:
                relay.append((t_nats - t_response) * 1000)
                consume.append((t_live - t_nats) * 1000)
                deliver.append((t_seen - t_live) * 1000)
            if POLL and t_poll is not None:
                polled.append((t_poll - t_response) * 1000)

        print()
        print(f"card moved → notification on the recipient's SSE stream ({len(totals)} moves, one at a time)")
        print(summary("total (response → SSE)", totals))
        print(summary("  relay (→ on NATS)", relay))
        print(summary("  consume (→ stored+announced)", consume))
        print(summary("  deliver (→ read from SSE)", deliver))
        if POLL:
            print(summary("poll /notifications/count", polled))
        if lost:
            print(f"!! {lost} notifications did not arrive within {TIMEOUT}s")
        print(f"settings: OUTBOX_SWEEP_MAX_S={stack.env.get('OUTBOX_SWEEP_MAX_S', '10')} "
              f"NOTIFICATIONS_STREAM_POLL_MS={stack.env.get('NOTIFICATIONS_STREAM_POLL_MS', '5000')} "
              f"(safety poll only; wake-ups come over NATS)")
    finally:
        if stream:
            stream.close()
        if tap:
            tap.close()
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
