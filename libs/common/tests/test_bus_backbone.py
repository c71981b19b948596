"""The event backbone at scale and under faults, against real NATS (JetStream) and the Mongo-protocol
server: an outage's backlog delivered once, a worker SIGKILLed mid-batch, and periodic queries whose
cost does not grow with history."""
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import nats
import pytest

from devtools.infra import stop_process
from libs.common.bus import Heartbeats, Outbox, Processed, SyncNats, Worker, event
from libs.common.mongo import connect, new_id, now_ms
from libs.common.settings import CommonSettings
from tests.support import wait_until

from .test_bus import RunningWorker

ROOT = Path(__file__).resolve().parents[3]


def _settings(name, infra, **over):
    class Settings(CommonSettings):
        service_name = name
    return Settings({"mongo_uri": infra.env["MONGO_URI"], "nats_url": infra.env["NATS_URL"],
                     "mongo_db_prefix": f"t{new_id()[-6:]}_"} | over)


async def _stream_counts(infra, stream: str) -> Counter:
    """How many times each event id is stored in `stream` (read with an ordered consumer)."""
    nc = await nats.connect(infra.env["NATS_URL"])
    js = nc.jetstream()
    total = (await js.stream_info(stream)).state.messages
    sub = await js.subscribe(f"{stream.lower()}.>", ordered_consumer=True)
    seen: Counter = Counter()
    import json
    while sum(seen.values()) < total:
        msg = await sub.next_msg(timeout=5)
        seen[json.loads(msg.data)["id"]] += 1
    await nc.close()
    return seen


def _envelopes(subject: str, n: int) -> list[dict]:
    return [event(subject, {"n": i}) for i in range(n)]


@pytest.mark.faults
def test_ten_thousand_events_written_while_nats_is_down_are_delivered_each_once(infra, monkeypatch):
    import libs.common.bus as bus
    monkeypatch.setitem(bus.STREAMS, "BUSBIG", "busbig.>")
    producer = _settings("busbig", infra, outbox_sweep_grace_s=0.5)
    consumer = _settings("busbigc", infra)
    db, cdb = (connect(s.mongo_uri, s.service_name)[s.mongo_db] for s in (producer, consumer))
    writer = SyncNats(infra.env["NATS_URL"], "busbig-web")
    outbox = Outbox(db, bus=writer)
    outbox.ensure_indexes()
    handled: Counter = Counter()
    lock = threading.Lock()

    def on_event(envelope):
        with lock:
            handled[envelope["id"]] += 1

    cworker = Worker("busbigc", consumer, cdb)
    cworker.consume("BUSBIG", on_event, subjects=["busbig.>"])
    with RunningWorker(Worker("busbig", producer, db)), RunningWorker(cworker):
        infra.stop_nats()
        written = []
        for _ in range(20):
            chunk = _envelopes("busbig.thing.created", 500)
            outbox.add_many(chunk)
            written += [e["id"] for e in chunk]
        assert db.outbox.count_documents({}) == 10_000
        infra.start_nats()
        wait_until(lambda: db.outbox.count_documents({}) == 0, 120, interval=0.5,
                   message="the outbox emptied after NATS came back")
        wait_until(lambda: len(handled) == 10_000, 240, interval=0.5, message="every event handled")
    writer.close()
    assert set(handled) == set(written) and set(handled.values()) == {1}
    stored = asyncio.run(_stream_counts(infra, "BUSBIG"))
    assert set(stored) == set(written) and set(stored.values()) == {1}   # each once on the stream too


@pytest.mark.faults
def test_a_worker_sigkilled_mid_batch_loses_nothing(infra):
    settings = _settings("buskill", infra)
    db = connect(settings.mongo_uri, "buskill")[settings.mongo_db]
    outbox = Outbox(db)   # no bus: the rows wait for the worker's sweeper
    outbox.ensure_indexes()
    written = []
    for _ in range(10):
        chunk = _envelopes("buskill.thing.created", 500)
        outbox.add_many(chunk)
        written += [e["id"] for e in chunk]
    env = dict(os.environ, MONGO_URI=settings.mongo_uri, NATS_URL=settings.nats_url,
               MONGO_DB_PREFIX=settings.mongo_db_prefix, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "libs.common.tests.bus_worker", "buskill", "BUSKILL"]
    log = open(infra.root / "buskill.log", "ab")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: db.outbox.count_documents({}) < 5_000, 60, interval=0.02, message="sweeping started")
        stop_process(proc, signal.SIGKILL)
        left = db.outbox.count_documents({})
        assert 0 < left < 5_000, left   # killed in the middle of the backlog
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(lambda: db.outbox.count_documents({}) == 0, 60, interval=0.2, message="the rest swept")
    finally:
        stop_process(proc)
    stored = asyncio.run(_stream_counts(infra, "BUSKILL"))
    assert set(stored) == set(written) and set(stored.values()) == {1}


def _cost_ms(fn, runs: int = 30) -> float:
    fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def test_periodic_queries_cost_the_same_after_100000_events(infra):
    """The sweeper's pending(), the processed-id pruning and the heartbeat on an empty database,
    then after the history of 100,000 events (published and deleted outbox rows, 100,000 processed
    ids still inside their keep window, 1,000 beats): within 1.5× (+1 ms of timer noise)."""
    settings = _settings("buscost", infra)
    db = connect(settings.mongo_uri, "buscost")[settings.mongo_db]
    outbox, processed, beats = Outbox(db), Processed(db), Heartbeats(db)
    outbox.ensure_indexes()
    processed.ensure_indexes()
    beats.ensure_indexes()
    queries = {
        "outbox sweep": lambda: outbox.pending(older_than_s=2.0),
        "processed prune": lambda: processed.prune(86400),
        "heartbeat": lambda: beats.beat("buscost", {"n": 1}),
        "worker alive": lambda: beats.alive("buscost"),
    }
    empty = {name: _cost_ms(fn) for name, fn in queries.items()}
    for _ in range(20):
        chunk = _envelopes("buscost.thing.created", 5_000)
        outbox.add_many(chunk)
        outbox.delete([e["id"] for e in chunk])   # what the relay does once JetStream acknowledged them
        stamp = now_ms()
        db.processed_events.insert_many([{"_id": f"buscost@X:{e['id']}", "atMs": stamp} for e in chunk])
    for _ in range(1000):
        beats.beat("buscost", {"n": 2})
    assert db.outbox.count_documents({}) == 0 and db.processed_events.count_documents({}) == 100_000
    after = {name: _cost_ms(fn) for name, fn in queries.items()}
    report = {name: f"{empty[name]:.2f} → {after[name]:.2f} ms" for name in queries}
    for name in queries:
        assert after[name] <= 1.5 * empty[name] + 1.0, report
