"""Webhook delivery latency and isolation. Starts its own stack (identity + boards + webhooks) on free
ports in a temporary directory, runs local receivers (real HTTP servers in this process), prints the
figures, stops the stack. No assertions on timing.

    .venv/bin/python bench/webhooks.py
    BENCH_MOVES=200 BENCH_EVENTS=1000 BENCH_SLOW_S=2 .venv/bin/python bench/webhooks.py

Figures:
    move → delivery   card moved (PATCH response received) → the signed delivery received by the
                      endpoint's receiver. One move at a time.
    burst             BENCH_EVENTS `boards.card.created` events published at once on the bus (as boards
                      publishes them) to a workspace with 5 endpoints: event published → delivery
                      received, per endpoint, first with 5 fast receivers (the baseline), then with one
                      of them answering after BENCH_SLOW_S seconds. The 4 fast endpoints' figures should
                      match the baseline's: the slow one holds its own senders only.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.stack import Stack  # noqa: E402
from libs.common.bus import dumps, event  # noqa: E402
from services.webhooks.tests.receiver import Answer, Receiver  # noqa: E402
from tests.support import register  # noqa: E402

MOVES = int(os.environ.get("BENCH_MOVES", "100"))
EVENTS = int(os.environ.get("BENCH_EVENTS", "1000"))
SLOW_S = float(os.environ.get("BENCH_SLOW_S", "2"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "10"))
TIMEOUT = 10.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def summary(name: str, values_ms: list[float]) -> str:
    if not values_ms:
        return f"{name:<30} (no samples)"
    return (f"{name:<30} p50 {percentile(values_ms, 50):8.1f} ms   p99 {percentile(values_ms, 99):8.1f} ms   "
            f"max {max(values_ms):8.1f} ms   n={len(values_ms)}")


def webhook(client, url, events):
    r = client.post(client.W + "/webhooks", json={"url": url, "events": events})
    r.raise_for_status()
    return r.json()


def move_latency(client) -> list[float]:
    r = client.post(client.W + "/projects", json={"name": "bench", "templateId": "kanban"})
    r.raise_for_status()
    p = r.json()
    path = f"{client.W}/projects/{p['id']}"
    samples = []
    with Receiver() as rx:
        hook = webhook(client, rx.url, ["card_moved"])
        for i in range(WARMUP + MOVES):
            c = client.post(f"{path}/columns/{p['columns'][0]['id']}/cards", json={"title": f"b{i}"}).json()
            seen = len(rx.requests)
            r = client.patch(f"{path}/cards/{c['id']}", json={"columnId": p["columns"][1]["id"]})
            r.raise_for_status()
            moved = time.time()
            deadline = moved + TIMEOUT
            while len(rx.requests) <= seen and time.time() < deadline:
                time.sleep(0.0005)
            if len(rx.requests) <= seen:
                print(f"  delivery not received within {TIMEOUT}s (move {i})")
                continue
            if i >= WARMUP:
                samples.append(max(0.0, rx.requests[seen].at - moved) * 1000)
        client.delete(f"{client.W}/webhooks/{hook['id']}")
    return samples


def workspace_id(client) -> str:
    return next(w["id"] for w in client.get(f"/orgs/{client.org}/workspaces").json() if w["slug"] == client.ws)


def publish_burst(stack, ws_id: str, user_id: str, n: int) -> dict[str, float]:
    """n boards.card.created envelopes on JetStream; returns {event id: published at}."""
    import nats

    published: dict[str, float] = {}

    async def go():
        nc = await nats.connect(f"nats://127.0.0.1:{stack.infra.nats_port}")
        js = nc.jetstream()
        try:
            for i in range(n):
                env = event("boards.card.created", {"activity": "card_created", "project": {"id": "p", "name": "b"},
                                                     "card": {"id": f"{i:024x}", "title": f"burst {i}"}},
                            actor={"userId": user_id, "via": "user"}, workspace_id=ws_id)
                await js.publish(env["type"], dumps(env), headers={"Nats-Msg-Id": env["id"]})
                published[env["id"]] = time.time()
        finally:
            await nc.close()

    asyncio.run(go())
    return published


def deliveries_col(stack):
    from pymongo import MongoClient

    client = MongoClient(stack.env["MONGO_URI"])
    return client[f"{stack.env.get('MONGO_DB_PREFIX', 'stellary_')}webhooks"]["deliveries"]


def burst(stack, client, slow: bool) -> None:
    receivers = [Receiver(default=Answer(200, delay=SLOW_S if slow and i == 0 else 0)) for i in range(5)]
    for rx in receivers:
        rx.__enter__()
    try:
        hooks = [webhook(client, rx.url, ["card_created"]) for rx in receivers]
        started = time.time()
        published = publish_burst(stack, workspace_id(client), client.user_id, EVENTS)
        fast = receivers[1:] if slow else receivers
        deadline = time.time() + 600
        while any(len(rx.requests) < EVENTS for rx in fast) and time.time() < deadline:
            time.sleep(0.05)
        fast_done = time.time()
        rows = list(deliveries_col(stack).find({"endpointId": {"$in": [h["id"] for h in hooks]}}, {"createdAtMs": 1}))
        fanned = (max(r["createdAtMs"] for r in rows) / 1000 - started) if rows else float("nan")
        label = f"{SLOW_S:g} s receiver" if slow else "5 fast receivers"
        print(f"burst of {EVENTS} events × 5 endpoints, {label}: the fast endpoints had every delivery "
              f"{fast_done - started:.1f} s after the first publish (the {len(rows)} deliveries were all recorded "
              f"after {fanned:.1f} s)")
        for i, rx in enumerate(receivers):
            lat = [(r.at - published[json.loads(r.body)["id"]]) * 1000 for r in list(rx.requests)
                   if json.loads(r.body)["id"] in published]
            name = f"  endpoint {i + 1}" + (f" (slow, {SLOW_S:g} s)" if slow and i == 0 else "")
            print(summary(name, lat) + ("" if len(lat) >= EVENTS else f"   ({len(lat)} of {EVENTS} received)"))
        for hook in hooks:
            client.delete(f"{client.W}/webhooks/{hook['id']}")
    finally:
        for rx in receivers:
            rx.__exit__(None, None, None)


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="stellary-bench-webhooks-"))
    stack = Stack.start(root, services=["identity", "boards", "webhooks"])
    try:
        client = register(stack.url, name="Bench")
        print(f"webhooks bench: {MOVES} moves (+{WARMUP} warm-up); bursts of {EVENTS} events")
        print(summary("move → delivery received", move_latency(client)))
        burst(stack, client, slow=False)
        burst(stack, client, slow=True)
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
