"""The bus against real NATS (JetStream) and the Mongo-protocol server: outbox relay across a NATS
outage, idempotent consumers, request/reply commands with errors, dead-lettering of poison events."""
import asyncio
import json
import threading
import time

import nats
import pytest
import requests

from devtools.infra import free_port
from libs.common.bus import Outbox, SyncNats, Worker, dumps, ensure_stream, event
from libs.common.errors import NotFound, ServiceUnavailable
from libs.common.mongo import connect, new_id
from libs.common.settings import CommonSettings
from tests.support import wait_until


class Settings(CommonSettings):
    service_name = "bustest"


def _settings(infra, **over):
    return Settings({"mongo_uri": infra.env["MONGO_URI"], "nats_url": infra.env["NATS_URL"],
                     "consumer_max_deliver": 3, "mongo_db_prefix": f"t{new_id()[-6:]}_"} | over)


class RunningWorker:
    """A Worker on its own event loop in a thread (Worker.run() wants the main thread for signals)."""

    def __init__(self, worker: Worker):
        self.worker = worker
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.worker.start(), self.loop).result(30)
        return self.worker

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self.worker.shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def _collect(infra, subject, into: list, ready: threading.Event, stop: threading.Event):
    async def main():
        nc = await nats.connect(infra.env["NATS_URL"])

        async def cb(msg):
            try:
                body = json.loads(msg.data)
            except ValueError:
                body = msg.data
            into.append((msg.headers or {}, body))
        await nc.subscribe(subject, cb=cb)
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.02)
        await nc.close()
    t = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    t.start()
    ready.wait(10)
    return t


def test_outbox_is_published_at_commit_with_msg_id_and_survives_a_nats_outage(infra, monkeypatch):
    import libs.common.bus as bus
    monkeypatch.setitem(bus.STREAMS, "BUSTEST", "bustest.>")
    settings = _settings(infra, outbox_sweep_grace_s=0.2)
    client = connect(settings.mongo_uri, "bustest")
    db = client[settings.mongo_db]
    writer = SyncNats(infra.env["NATS_URL"], "bustest-web")
    outbox = Outbox(db, bus=writer)
    outbox.ensure_indexes()
    got, ready, stop = [], threading.Event(), threading.Event()
    _collect(infra, "bustest.>", got, ready, stop)
    with RunningWorker(Worker("bustest", settings, db)):
        first = outbox.add(event("bustest.thing.created", {"n": 1}))
        wait_until(lambda: len(got) == 1, 10, message="first event published")
        wait_until(lambda: db.outbox.count_documents({}) == 0, 10, message="the published row deleted")
        assert got[0][0]["Nats-Msg-Id"] == first["id"] and got[0][1]["data"] == {"n": 1}
        stop.set()
        infra.stop_nats()
        during = [outbox.add(event("bustest.thing.created", {"n": i})) for i in range(2, 6)]
        time.sleep(0.5)  # nobody can publish them while NATS is away: they wait in the outbox
        assert db.outbox.count_documents({}) == 4
        infra.start_nats()
        wait_until(lambda: db.outbox.count_documents({}) == 0, 20, message="outbox drained after NATS came back")
    writer.close()
    stored = asyncio.run(_stream_ids(infra, {e["id"] for e in during}))
    assert stored == {e["id"] for e in during}


def test_the_writer_publishes_right_after_commit_and_a_rollback_publishes_nothing(infra, monkeypatch):
    """No worker runs here: the writer's own process publishes what it committed, at once."""
    import libs.common.bus as bus
    from libs.common.mongo import unit_of_work
    monkeypatch.setitem(bus.STREAMS, "BUSWRITE", "buswrite.>")
    settings = _settings(infra)
    client = connect(settings.mongo_uri, "buswrite")
    db = client[settings.mongo_db]
    db.create_collection("things")
    writer = SyncNats(infra.env["NATS_URL"], "buswrite-web")
    outbox = Outbox(db, bus=writer)
    outbox.ensure_indexes()
    asyncio.run(_ensure(infra, "BUSWRITE"))
    got, ready, stop = [], threading.Event(), threading.Event()
    _collect(infra, "buswrite.>", got, ready, stop)
    with pytest.raises(RuntimeError):
        with unit_of_work(client) as s:
            db.things.insert_one({"_id": "rolled-back"}, session=s)
            outbox.add(event("buswrite.thing.created", {"n": 0}), session=s)
            raise RuntimeError("changed my mind")
    with unit_of_work(client) as s:
        db.things.insert_one({"_id": "kept"}, session=s)
        kept = outbox.add(event("buswrite.thing.created", {"n": 1}), session=s)
    wait_until(lambda: len(got) == 1, 10, message="the committed event published by the writer")
    wait_until(lambda: db.outbox.count_documents({}) == 0, 10, message="its row deleted")
    time.sleep(0.3)
    assert [body["id"] for _, body in got] == [kept["id"]]
    stop.set()
    writer.close()


def test_the_writer_deletes_what_it_published_in_batches_not_once_per_commit(infra, monkeypatch):
    """Thirty commits in a row: thirty events out at once, their rows gone within a moment, in a
    handful of delete commands (one per RELAY_DELETE_S window), not thirty."""
    import libs.common.bus as bus
    from pymongo import MongoClient, monitoring

    class Deletes(monitoring.CommandListener):
        def __init__(self):
            self.count = 0

        def started(self, event):
            if event.command_name == "delete" and event.command.get("delete") == "outbox":
                self.count += 1

        def succeeded(self, event):
            pass

        def failed(self, event):
            pass

    monkeypatch.setitem(bus.STREAMS, "BUSBATCH", "busbatch.>")
    settings = _settings(infra)
    deletes = Deletes()
    client = MongoClient(settings.mongo_uri, event_listeners=[deletes])
    db = client[settings.mongo_db]
    writer = SyncNats(infra.env["NATS_URL"], "busbatch-web")
    outbox = Outbox(db, bus=writer)
    outbox.ensure_indexes()
    asyncio.run(_ensure(infra, "BUSBATCH"))
    got, ready, stop = [], threading.Event(), threading.Event()
    _collect(infra, "busbatch.>", got, ready, stop)
    try:
        sent = [outbox.add(event("busbatch.thing.created", {"n": i})) for i in range(30)]
        wait_until(lambda: len(got) == 30, 10, message="every committed event published")
        wait_until(lambda: db.outbox.count_documents({}) == 0, 10, message="the published rows deleted")
        assert [body["id"] for _, body in got] == [e["id"] for e in sent]
        assert 1 <= deletes.count <= 5, deletes.count
    finally:
        stop.set()
        writer.close()
        client.close()


async def _ensure(infra, name):
    nc = await nats.connect(infra.env["NATS_URL"])
    await ensure_stream(nc.jetstream(), name)
    await nc.close()


def test_the_sweeper_publishes_rows_a_writer_left_behind(infra, monkeypatch):
    """A writer that died between commit and publish (here: an Outbox without a bus)."""
    import libs.common.bus as bus
    monkeypatch.setitem(bus.STREAMS, "BUSSWEEP", "bussweep.>")
    settings = _settings(infra, outbox_sweep_grace_s=0.3, outbox_sweep_s=0.1, outbox_sweep_max_s=0.5)
    client = connect(settings.mongo_uri, "bussweep")
    db = client[settings.mongo_db]
    outbox = Outbox(db)
    outbox.ensure_indexes()
    got, ready, stop = [], threading.Event(), threading.Event()
    _collect(infra, "bussweep.>", got, ready, stop)
    with RunningWorker(Worker("bussweep", settings, db)):
        left = [outbox.add(event("bussweep.thing.created", {"n": i})) for i in range(3)]
        time.sleep(0.1)
        assert got == []   # younger than the grace period: its writer may still publish it
        wait_until(lambda: len(got) == 3, 10, message="swept")
        wait_until(lambda: db.outbox.count_documents({}) == 0, 10, message="swept rows deleted")
    assert [body["id"] for _, body in got] == [e["id"] for e in left]   # oldest first
    stop.set()


async def _stream_ids(infra, ids):
    """The ids among `ids` that the BUSTEST stream holds (read with an ephemeral ordered consumer)."""
    nc = await nats.connect(infra.env["NATS_URL"])
    js = nc.jetstream()
    seen = set()
    psub = await js.subscribe("bustest.>", ordered_consumer=True)
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            msg = await psub.next_msg(timeout=0.5)
        except Exception:  # noqa: BLE001 - no more messages
            break
        env = json.loads(msg.data)
        if env["id"] in ids:
            seen.add(env["id"])
    await nc.close()
    return seen


def test_consumer_skips_already_processed_events_and_parks_poison(infra, monkeypatch):
    import libs.common.bus as bus
    monkeypatch.setitem(bus.STREAMS, "BUSTEST", "bustest.>")
    settings = _settings(infra)
    client = connect(settings.mongo_uri, "bustest")
    db = client[settings.mongo_db]
    handled = []

    def handler(env):
        if env["data"].get("poison"):
            raise RuntimeError("this event always fails")
        handled.append(env["id"])

    async def publish(payloads):
        nc = await nats.connect(infra.env["NATS_URL"])
        js = nc.jetstream()
        await ensure_stream(js, "BUSTEST")
        for msg_id, body in payloads:
            await js.publish("bustest.x.happened", body, headers={"Nats-Msg-Id": msg_id})
        await nc.close()

    dlq, ready, stop = [], threading.Event(), threading.Event()
    _collect(infra, "dlq.consumer", dlq, ready, stop)
    monkeypatch.setenv("METRICS_PORT", str(free_port()))
    worker = Worker("consumer", settings, db, relay=False)
    worker.consume("BUSTEST", handler, subjects=["bustest.x.>"])
    good = event("bustest.x.happened", {"ok": True})
    poison = event("bustest.x.happened", {"poison": True})
    after = event("bustest.x.happened", {"ok": True})
    with RunningWorker(worker):
        asyncio.run(publish([("m1", dumps(good)), ("m2", dumps(good)),  # same event, two messages
                             ("m3", b"{not json"), ("m4", dumps(poison)), ("m5", dumps(after))]))
        wait_until(lambda: after["id"] in handled, 10, message="event behind the poison handled")
        wait_until(lambda: len(dlq) == 2, 20, message="both poison messages parked")
        scrape = requests.get(f"http://127.0.0.1:{worker.metrics_server.server_port}/metrics", timeout=10).text
    stop.set()
    # the worker's metrics (libs/common/observability.py): counted as it happened, read at scrape time
    key = 'consumer="consumer@BUSTEST",service="consumer"'
    assert f"stellary_dead_letters_total{{{key}}} 2.0" in scrape
    assert f"stellary_consumer_redeliveries_total{{{key}}} 4.0" in scrape   # 2 poison × deliveries 2 and 3
    assert f"stellary_consumer_lag{{{key}}} 0.0" in scrape
    assert 'stellary_outbox_backlog{service="consumer"} 0.0' in scrape
    assert handled.count(good["id"]) == 1
    assert worker.stats["skipped"] >= 1 and worker.stats["deadLettered"] == 2
    errors = sorted(h.get("Stellary-Error", "") for h, _ in dlq)
    assert any("always fails" in e for e in errors) and all(errors)
    assert db.dead_letters.count_documents({}) == 2


def test_commands_reply_with_data_or_the_domain_error(infra):
    settings = _settings(infra)
    client = connect(settings.mongo_uri, "bustest")
    worker = Worker("calc", settings, client[settings.mongo_db], relay=False)

    def double(payload):
        if payload["n"] < 0:
            raise NotFound("No such number")
        return {"n": payload["n"] * 2}

    worker.command("double", double)
    caller = SyncNats(infra.env["NATS_URL"], "test-caller").start()
    try:
        with RunningWorker(worker):
            assert caller.call("calc", "double", {"n": 21}) == {"n": 42}
            with pytest.raises(NotFound, match="No such number"):
                caller.call("calc", "double", {"n": -1})
            bad = caller.request("cmd.calc.double", {})
            assert bad["ok"] is False and bad["statusCode"] == 400
        with pytest.raises(ServiceUnavailable):
            caller.call("calc", "double", {"n": 1}, timeout=1)
    finally:
        caller.close()


def test_a_slow_command_does_not_hold_up_the_others(infra):
    """`wait` blocks until `release` runs: answered one at a time, `wait` would time out first."""
    settings = _settings(infra)
    client = connect(settings.mongo_uri, "bustest")
    worker = Worker("gate", settings, client[settings.mongo_db], relay=False)
    released = threading.Event()
    worker.command("wait", lambda payload: {"released": released.wait(8)})
    worker.command("release", lambda payload: released.set() or {"ok": True})
    caller = SyncNats(infra.env["NATS_URL"], "test-caller").start()
    try:
        with RunningWorker(worker):
            waiting = {}
            thread = threading.Thread(target=lambda: waiting.update(caller.call("gate", "wait", {}, timeout=10)))
            thread.start()
            time.sleep(0.2)                    # the wait command is in (a head start, not an assertion)
            assert caller.call("gate", "release", {}, timeout=10) == {"ok": True}
            thread.join(10)
            assert waiting == {"released": True}
    finally:
        caller.close()
