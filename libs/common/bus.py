"""The event bus: envelope, outbox, relay, durable consumers, request/reply commands.

Producer side (inside a request):
    with unit_of_work(client) as session:
        storage.save(card, session=session)
        outbox.add(event("boards.card.moved", data, caller=caller, project_id=pid), session=session)
Right after the commit, the writer's process publishes the row to JetStream with `Nats-Msg-Id` =
event id and deletes it; the worker's sweeper publishes what a crash or an outage left (outbox.py).
JetStream drops a re-publish inside its duplicate window and nothing is lost while NATS is down.

Consumer side (in the worker): a durable pull consumer per (service, stream), shared by every
replica; a message is acked only after its handler ran; an event id already recorded in the
`processed` collection is skipped; a message that keeps failing is parked on `dlq.<service>`.

Commands: `cmd.<service>.<verb>`, queue group = service; replies are
`{"ok": true, "data": ...}` or `{"ok": false, "statusCode": N, "message": "..."}`.
"""
from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import socket
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime

import nats
from marshmallow import ValidationError
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError
from pymongo.errors import DuplicateKeyError, PyMongoError

from . import telemetry
from .errors import ApiError, ServiceUnavailable, error_for_status, validation_message
from .mongo import ensure_in_background, iso, new_id, now, now_ms
from .outbox import Outbox, publish_rows  # noqa: F401 - Outbox is part of the bus API
from .pull import Puller

log = logging.getLogger(__name__)

# One stream per producing service. Every worker may create any of them (same config), so a
# consumer never waits for its producer's first start.
STREAMS = {
    "IDENTITY": "identity.>",
    "BOARDS": "boards.>",
    "PILOTAGE": "pilotage.>",
    "AGENTS": "agents.>",
    "AUTOMATIONS": "automations.>",
    "NOTIFICATIONS": "notifications.>",
    "DLQ": "dlq.>",
}
STREAM_MAX_AGE_S = 7 * 86400
# How long a delivered, unacknowledged message stays with a consumer before JetStream hands it to
# another: what a crashed worker's in-flight messages wait. Handlers are short and idempotent.
ACK_WAIT_S = 10
# An idle consumer's pull request waits this long on the server (a message answers it at once).
FETCH_WAIT_S = 15
RELAY_DELETE_S = 0.25       # published outbox rows are deleted in batches (SyncNats._forget_later)
RELAY_DELETE_BATCH = 500


async def _quiet_error(exc) -> None:
    """nats-py logs every failed (re)connect with a traceback by default; one line is enough."""
    log.warning("nats: %s", exc or "connection error")


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` one token, `>` the rest."""
    p, t = pattern.split("."), subject.split(".")
    for i, token in enumerate(p):
        if token == ">":
            return len(t) > i
        if i >= len(t) or (token != "*" and token != t[i]):
            return False
    return len(p) == len(t)


def stream_for(subject: str) -> str:
    return "DLQ" if subject.startswith("dlq.") else subject.split(".", 1)[0].upper()


def _json_default(value):
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value) -> bytes:
    return json.dumps(value, default=_json_default, separators=(",", ":")).encode()


def event(subject: str, data: dict, *, caller=None, actor: dict | None = None, org_id: str | None = None,
          workspace_id: str | None = None, project_id: str | None = None) -> dict:
    """Build an envelope. `caller` (a context.Caller) fills actor, orgId and workspaceId."""
    if caller is not None:
        actor = actor or caller.actor()
        org_id = org_id or caller.org_id
        workspace_id = workspace_id or caller.workspace_id
    envelope = {"id": new_id(), "type": subject, "occurredAt": iso(now()),
                "actor": actor or {"userId": None, "via": "system"}, "orgId": org_id,
                "workspaceId": workspace_id, "data": data, "traceparent": telemetry.current_traceparent()}
    if project_id is not None:
        envelope["projectId"] = project_id
    return envelope


class Processed:
    """Event ids a consumer has handled (idempotency): `_id` = "<consumer>:<event id>", `atMs` when.

    Kept PROCESSED_KEEP (default 1 day, far beyond JetStream's 2-minute duplicate window and a
    redelivery's ack wait), then pruned by the worker in bounded batches on the `atMs` index."""

    def __init__(self, db):
        self.col = db["processed_events"]

    def ensure_indexes(self) -> None:
        self.col.create_index("atMs")
        for name, info in self.col.index_information().items():   # the TTL index of before 2026-12
            if [k for k, _ in info.get("key", [])] == ["at"]:
                self.col.drop_index(name)

    def seen(self, consumer: str, event_id: str) -> bool:
        return self.col.find_one({"_id": f"{consumer}:{event_id}"}, {"_id": 1}) is not None

    def mark(self, consumer: str, event_id: str) -> None:
        try:
            self.col.insert_one({"_id": f"{consumer}:{event_id}", "atMs": now_ms()})
        except DuplicateKeyError:
            pass

    def prune(self, keep_s: float, *, batch: int = 1000) -> int:
        """Forget ids older than `keep_s`, `batch` at a time (a bounded cost per command)."""
        cutoff = now_ms() - int(keep_s * 1000)
        removed = 0
        while True:
            ids = [d["_id"] for d in self.col.find({"atMs": {"$lt": cutoff}}, {"_id": 1}).limit(batch)]
            if ids:
                removed += self.col.delete_many({"_id": {"$in": ids}}).deleted_count
            if len(ids) < batch:
                return removed


HEARTBEAT_S = 8   # a beat is one replace_one; /health calls a worker down after 3 missed beats


class Heartbeats:
    """The `workers` collection: one row per worker process, its last beat in epoch ms (a number, so
    range queries work on the embedded stand-in too) and its counters."""

    def __init__(self, db):
        self.col = db["workers"]

    def ensure_indexes(self) -> None:
        self.col.create_index([("service", 1), ("at", 1)])

    def beat(self, service: str, stats: dict) -> None:
        """One document per process, overwritten: the collection never grows with time."""
        key = f"{service}:{socket.gethostname()}:{os.getpid()}"
        self.col.replace_one({"_id": key}, {"_id": key, "service": service, "at": now_ms(), "stats": dict(stats)},
                             upsert=True)

    def prune(self, service: str) -> int:
        """Forget processes gone for an hour (a restart gets a new pid)."""
        return self.col.delete_many({"service": service, "at": {"$lt": now_ms() - 3600_000}}).deleted_count

    def alive(self, service: str, within_s: float = 3 * HEARTBEAT_S) -> bool:
        cutoff = int((time.time() - within_s) * 1000)
        return self.col.find_one({"service": service, "at": {"$gte": cutoff}}, {"_id": 1}) is not None


def worker_up(db, service: str) -> bool:
    """For /health: has a worker of `service` beaten recently? Never raises."""
    try:
        return Heartbeats(db).alive(service)
    except PyMongoError:
        return False


# ----------------------------------------------------------------------------- async side

async def ensure_stream(js, name: str) -> None:
    try:
        await js.stream_info(name)
        return
    except NotFoundError:
        pass
    config = StreamConfig(name=name, subjects=[STREAMS[name]], retention=RetentionPolicy.LIMITS,
                          storage=StorageType.FILE, max_age=STREAM_MAX_AGE_S, duplicate_window=120)
    try:
        await js.add_stream(config)
    except Exception as exc:  # noqa: BLE001 - created concurrently by another worker
        if "already in use" not in str(exc) and "exists" not in str(exc):
            raise


async def connect_nats(url: str, name: str, stop: asyncio.Event | None = None, on_reconnect=None):
    """Connect, retrying with backoff until NATS answers (services start before their deps)."""
    async def reconnected():
        log.info("%s: NATS reconnected", name)
        if on_reconnect is not None:
            on_reconnect()

    delay = 0.2
    while True:
        try:
            return await nats.connect(url, name=name, connect_timeout=2, max_reconnect_attempts=-1,
                                      reconnect_time_wait=0.5, allow_reconnect=True, error_cb=_quiet_error,
                                      reconnected_cb=reconnected, ping_interval=20, max_outstanding_pings=3)
        except Exception as exc:  # noqa: BLE001 - any failure: retry
            if stop is not None and stop.is_set():
                raise
            log.warning("%s: NATS not reachable at %s (%s); retrying in %.1fs", name, url, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5)


class Worker:
    """The asyncio process of a service: relays its outbox, runs its consumers and commands.

        worker = Worker("notifications", settings, db)
        worker.consume("BOARDS", handle_board_event, subjects=["boards.card.>"])
        worker.command("get_card", get_card)      # answers cmd.notifications.get_card
        worker.run()                              # until SIGTERM / SIGINT
    """

    def __init__(self, service: str, settings, db, *, relay: bool = True):
        self.service = service
        self.settings = settings
        self.db = db
        self.outbox = Outbox(db)
        self.processed = Processed(db)
        self.relay_enabled = relay
        self.consumers: list[tuple[str, list[str] | None, callable, str]] = []
        self.commands: dict[str, callable] = {}
        self._commands_in_flight: set = set()
        self.periodic: list[tuple[float, callable]] = []
        self.companions: list[tuple[callable, callable]] = []
        self.stop = None
        self.nc = None
        self.js = None
        self.loop = None
        self.tasks: list = []
        self.pull_subs: list = []
        self._sweep_now: asyncio.Event | None = None
        self.stats = {"published": 0, "handled": 0, "skipped": 0, "retried": 0, "deadLettered": 0}
        self.metrics = None         # observability._Metrics when METRICS_PORT is set
        self.metrics_server = None

    # ---- declaration
    def consume(self, stream: str, handler, *, subjects: list[str] | None = None, durable: str | None = None,
                idempotent: bool = False):
        """Run `handler(envelope)` for each event of `stream` (on `subjects`). Event ids already
        handled are skipped through the `processed_events` collection (two commands per event);
        a handler that is idempotent by itself (e.g. it writes with ids derived from the event id)
        says `idempotent=True` and spares them."""
        if idempotent:
            handler._stellary_idempotent = True
        self.consumers.append((stream, subjects, handler, durable or self.service))

    def alongside(self, start, stop) -> None:
        """A component with its own thread (a scheduler…) started after the worker connected and
        stopped before it drains."""
        self.companions.append((start, stop))

    def _consumer_groups(self) -> dict:
        """One durable consumer per (stream, durable): several `consume()` calls on one stream (the
        kit's on_tenant_deleted and the service's own identity handler) share it, each handler
        getting the subjects it asked for."""
        groups: dict[tuple[str, str], list] = {}
        for stream, subjects, handler, durable in self.consumers:
            groups.setdefault((stream, durable), []).append((subjects, handler))
        out = {}
        for key, entries in groups.items():
            if len(entries) == 1:
                out[key] = entries[0]
                continue
            if any(subjects is None for subjects, _ in entries):
                raise ValueError(f"{key}: a consumer sharing its stream must name its subjects")
            routes = [(subjects, handler) for subjects, handler in entries]

            def dispatch(envelope: dict, routes=routes) -> None:
                subject = envelope.get("type") or ""
                for subjects, handler in routes:
                    if any(subject_matches(pattern, subject) for pattern in subjects):
                        handler(envelope)

            if all(getattr(h, "_stellary_idempotent", False) for _, h in entries):
                dispatch._stellary_idempotent = True
            out[key] = (sorted({s for subjects, _ in entries for s in subjects}), dispatch)
        return out

    def command(self, verb: str, handler):
        self.commands[verb] = handler

    def every(self, seconds: float, fn, *, idle_max: float | None = None):
        """Run `fn()` (in a thread) every `seconds`. With `idle_max`, a run that returns something
        falsy (nothing to do) doubles the wait, up to `idle_max`; a run that did work resets it."""
        self.periodic.append((seconds, fn, idle_max))

    # ---- run
    def run(self) -> None:
        import signal

        async def main():
            self.stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop.set)
            await self.start()
            await self.stop.wait()
            await self.shutdown()

        asyncio.run(main())

    async def start(self) -> None:
        if self.stop is None:
            self.stop = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        self._sweep_now = asyncio.Event()
        self.nc = await connect_nats(self.settings.nats_url, f"{self.service}-worker", self.stop,
                                     on_reconnect=self._on_reconnect)
        self.js = self.nc.jetstream()
        await self._ensure_streams()
        self._serve_metrics()
        ensure_in_background(self._ensure_indexes, f"{self.service}-worker bus collections")
        if self.relay_enabled:
            self.tasks.append(asyncio.create_task(self._sweep_loop(), name="outbox-sweeper"))
            self.tasks.append(asyncio.create_task(self._every(self.settings.maintenance_interval_s, self._maintain),
                                                  name="maintenance"))
        for (stream, durable), (subjects, handler) in self._consumer_groups().items():
            self.tasks.append(asyncio.create_task(self._consume(stream, subjects, handler, durable),
                                                  name=f"consume-{stream}"))
        if self.commands:
            await self.nc.subscribe(f"cmd.{self.service}.*", queue=self.service, cb=self._command_arrived)
            await self.nc.flush()  # the server knows the subscription before start() returns
        for seconds, fn, idle_max in self.periodic:
            self.tasks.append(asyncio.create_task(self._every(seconds, fn, idle_max)))
        self.tasks.append(asyncio.create_task(self._every(HEARTBEAT_S, self._heartbeat), name="heartbeat"))
        for start, _ in self.companions:
            start()
        log.info("%s worker started (relay=%s, consumers=%d, commands=%s)", self.service,
                 self.relay_enabled, len(self.consumers), sorted(self.commands))

    async def shutdown(self) -> None:
        self.stop.set()
        for _, stop in self.companions:
            try:
                stop()
            except Exception:  # noqa: BLE001 - stopping anyway
                log.exception("%s: stopping a companion failed", self.service)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        # Drop the pull subscriptions before draining: whatever they hold unacked is redelivered
        # (ack_wait) and skipped if already processed.
        for sub in getattr(self, "pull_subs", []):
            try:
                await sub.stop()
            except Exception:  # noqa: BLE001 - closing anyway
                pass
        try:
            await self.nc.drain()
        except Exception:  # noqa: BLE001 - closing anyway
            pass

    async def _ensure_streams(self) -> None:
        names = {self.service.upper(), "DLQ"} | {c[0] for c in self.consumers}
        delay = 0.2
        while True:
            try:
                for name in sorted(names):
                    if name in STREAMS:
                        await ensure_stream(self.js, name)
                return
            except Exception as exc:  # noqa: BLE001 - JetStream not ready yet
                log.warning("%s: cannot ensure streams (%s); retrying", self.service, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5)

    def _serve_metrics(self) -> None:
        from .observability import metrics, metrics_port, serve_worker_metrics
        if metrics_port() <= 0:
            return
        self.metrics = metrics(self.service)
        if self.metrics_server is None:   # False: embedded in a web process, whose /metrics has them
            self.metrics_server = serve_worker_metrics(self)

    def consumer_infos(self, timeout: float = 2.0) -> dict:
        """{"<durable>@<stream>": ConsumerInfo} of this worker's consumers, from any thread (a
        scrape); what NATS does not answer in time is left out."""
        loop, js = self.loop, self.js
        if loop is None or js is None or loop.is_closed():
            return {}

        async def ask():
            out = {}
            for stream, durable in self._consumer_groups():
                try:
                    out[f"{durable}@{stream}"] = await js.consumer_info(stream, durable, timeout=timeout)
                except Exception:  # noqa: BLE001 - not created yet, NATS away
                    pass
            return out
        try:
            return asyncio.run_coroutine_threadsafe(ask(), loop).result(timeout + 1)
        except Exception:  # noqa: BLE001 - a scrape must not fail on NATS
            return {}

    def _ensure_indexes(self) -> None:
        self.outbox.ensure_indexes()
        self.processed.ensure_indexes()
        Heartbeats(self.db).ensure_indexes()

    def _heartbeat(self) -> None:
        """Tell the service's web processes this worker is alive (their /health reads it)."""
        Heartbeats(self.db).beat(self.service, self.stats)

    async def _every(self, seconds: float, fn, idle_max: float | None = None) -> None:
        wait = seconds
        while not self.stop.is_set():
            try:
                did = await asyncio.to_thread(fn)
                wait = seconds if (idle_max is None or did) else min(wait * 2, idle_max)
            except Exception:  # noqa: BLE001 - a periodic job must not kill the worker
                log.exception("%s: periodic job %s failed", self.service, getattr(fn, "__name__", fn))
            try:
                await asyncio.wait_for(self.stop.wait(), timeout=wait)
            except asyncio.TimeoutError:
                pass

    def announce(self, subject: str, payload: dict) -> None:
        """A best-effort core NATS publish from any thread (live wake-ups; never an event)."""
        nc, loop = self.nc, self.loop
        if nc is None or loop is None or not nc.is_connected:
            return
        try:
            asyncio.run_coroutine_threadsafe(nc.publish(subject, dumps(payload)), loop)
        except RuntimeError:  # loop closing
            pass

    # ---- outbox sweeper (the writers publish their own rows right after commit: see outbox.py)
    def relay(self, outbox: Outbox, rows: list[dict]) -> None:
        """An Outbox's `bus` in this process: publish committed rows now (any thread)."""
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(lambda: self.tasks.append(loop.create_task(self._publish(outbox, rows))))

    async def _publish(self, outbox: Outbox, rows: list[dict]) -> int:
        if self.nc is None or not self.nc.is_connected:
            raise ConnectionError(f"NATS not connected; {len(rows)}+ rows wait in the outbox")
        done, exc = await publish_rows(self.js, rows)
        if done:
            self.stats["published"] += len(done)
            try:
                await asyncio.to_thread(outbox.delete, done)
            except Exception as del_exc:  # noqa: BLE001 - swept again later; JetStream drops the duplicates
                log.warning("%s relay: cannot delete %d published rows: %s", self.service, len(done), del_exc)
        if exc is not None:
            raise exc
        return len(done)

    async def sweep(self) -> int:
        """Publish what the writers left behind (crash, NATS outage), oldest first. Returns how many."""
        total = 0
        while not self.stop.is_set():
            rows = await asyncio.to_thread(self.outbox.pending, older_than_s=self.settings.outbox_sweep_grace_s)
            if not rows:
                break
            total += await self._publish(self.outbox, rows)
            if len(rows) < 500:
                break
        return total

    async def _sweep_loop(self) -> None:
        low, high = self.settings.outbox_sweep_s, self.settings.outbox_sweep_max_s
        delay = low
        while not self.stop.is_set():
            try:
                found = await self.sweep()
                delay = low if found else min(delay * 2, high)
            except Exception as exc:  # noqa: BLE001 - database or NATS down: try again later
                log.warning("%s relay: publish failed (%s); retrying in %.1fs", self.service, exc, delay)
                delay = min(delay * 2, high)
            self._sweep_now.clear()
            waits = [asyncio.ensure_future(self.stop.wait()), asyncio.ensure_future(self._sweep_now.wait())]
            try:
                await asyncio.wait(waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()

    def _on_reconnect(self) -> None:
        for sub in self.pull_subs:   # a restarted server forgot their pull requests: ask again now
            sub.reset()
        if self._sweep_now is not None:
            self._sweep_now.set()   # what piled up during the outage goes out now, not at the next sweep

    def _maintain(self) -> None:
        """Keep every periodic query's cost flat: forget old processed ids and long-gone processes."""
        removed = self.processed.prune(self.settings.processed_keep_s)
        Heartbeats(self.db).prune(self.service)
        if removed:
            log.info("%s: pruned %d processed event ids", self.service, removed)

    # ---- consumers
    async def _consume(self, stream: str, subjects, handler, durable: str) -> None:
        while not self.stop.is_set():
            try:
                sub = await self._subscribe(stream, subjects, durable)
                self.pull_subs.append(sub)
                break
            except Exception as exc:  # noqa: BLE001
                log.warning("%s: cannot create consumer %s on %s: %s", self.service, durable, stream, exc)
                await asyncio.sleep(1)
        consumer_key = f"{durable}@{stream}"
        while not self.stop.is_set():
            try:
                msgs = await sub.fetch()
            except Exception as exc:  # noqa: BLE001 - NATS gone: nats-py reconnects, we retry
                log.warning("%s: fetch failed on %s: %s", self.service, stream, exc)
                await asyncio.sleep(0.5)
                continue
            for msg in msgs:
                try:
                    await self._handle(msg, handler, consumer_key)
                except Exception as exc:  # noqa: BLE001 - ack/nak lost (NATS gone): redelivered after ack_wait
                    log.warning("%s: could not settle %s: %s", self.service, msg.subject, exc)

    async def _subscribe(self, stream: str, subjects, durable: str):
        await ensure_stream(self.js, stream)
        config = ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT,
                                deliver_policy=DeliverPolicy.ALL, ack_wait=ACK_WAIT_S, max_deliver=-1,
                                max_ack_pending=1000)
        if subjects and len(subjects) == 1:
            config.filter_subject = subjects[0]
        elif subjects:
            config.filter_subjects = subjects
        try:
            # Create, or update an existing durable (a service whose subscriptions changed gets its
            # new subject filter).
            await self.js.add_consumer(stream, config=config)
        except Exception as exc:  # noqa: BLE001 - keep the consumer as it is, if there is one
            log.warning("%s: cannot create/update consumer %s on %s: %s", self.service, durable, stream, exc)
            await self.js.consumer_info(stream, durable)   # none: raise, and the caller retries
        return await Puller(self.nc, stream, durable, expires_s=FETCH_WAIT_S).start()

    async def _handle(self, msg, handler, consumer_key: str) -> None:
        delivered = msg.metadata.num_delivered if msg.metadata else 1
        if delivered > 1 and self.metrics is not None:
            self.metrics.redeliveries.labels(self.service, consumer_key).inc()
        token = telemetry.attach_from_headers(msg.headers)
        try:
            with telemetry.span(f"{msg.subject} process", kind="consumer",
                                attributes={"messaging.system": "nats", "messaging.destination.name": msg.subject,
                                            "messaging.consumer.group.name": consumer_key,
                                            "messaging.message.delivery_count": delivered}):
                await self._settle(msg, handler, consumer_key, delivered)
        finally:
            telemetry.detach(token)

    async def _settle(self, msg, handler, consumer_key: str, delivered: int) -> None:
        try:
            envelope = json.loads(msg.data)
            if not isinstance(envelope, dict) or "id" not in envelope:
                raise ValueError("not an event envelope")
            bookkeeping = not getattr(handler, "_stellary_idempotent", False)
            if bookkeeping and await asyncio.to_thread(self.processed.seen, consumer_key, envelope["id"]):
                self.stats["skipped"] += 1
                await msg.ack()
                return
            await asyncio.to_thread(handler, envelope)
            if bookkeeping:
                await asyncio.to_thread(self.processed.mark, consumer_key, envelope["id"])
            self.stats["handled"] += 1
            if self.metrics is not None:
                self.metrics.handled.labels(self.service, consumer_key).inc()
            await msg.ack()
        except Exception as exc:  # noqa: BLE001 - any handler failure: retry, then park
            if delivered >= self.settings.consumer_max_deliver:
                await self._dead_letter(msg, exc, consumer_key, delivered)
            else:
                self.stats["retried"] += 1
                log.warning("%s: handler failed on %s (delivery %d): %s", self.service, msg.subject, delivered, exc)
                await msg.nak(delay=min(0.2 * 2 ** delivered, 5))

    async def _dead_letter(self, msg, exc: Exception, consumer_key: str, delivered: int) -> None:
        self.stats["deadLettered"] += 1
        if self.metrics is not None:
            self.metrics.dead_letters.labels(self.service, consumer_key).inc()
        log.error("%s: parking %s on dlq.%s after %d deliveries: %s", self.service, msg.subject,
                  self.service, delivered, exc)
        seq = msg.metadata.sequence.stream if msg.metadata else new_id()
        record = {"_id": f"{consumer_key}:{seq}", "consumer": consumer_key, "subject": msg.subject, "error": repr(exc)[:2000],
                  "deliveries": delivered, "data": msg.data.decode("utf-8", "replace")[:100_000], "at": now()}
        try:
            await asyncio.to_thread(self.db["dead_letters"].replace_one, {"_id": record["_id"]}, record, upsert=True)
            headers = {"Stellary-Error": repr(exc)[:500], "Stellary-Subject": msg.subject,
                       "Stellary-Consumer": consumer_key}
            await self.js.publish(f"dlq.{self.service}", msg.data, headers=headers, timeout=2)
            await msg.ack()
        except Exception as park_exc:  # noqa: BLE001 - could not park: let it be redelivered
            log.error("%s: could not park message: %s", self.service, park_exc)
            await msg.nak(delay=5)

    # ---- commands
    async def _command_arrived(self, msg) -> None:
        """Answer each command in its own task: a subscription's callbacks run one at a time, so a slow
        command (a write waiting for its transaction) would hold up every command behind it. Handlers run
        in the default thread pool, which bounds how many run at once."""
        task = asyncio.create_task(self._on_command(msg))
        self._commands_in_flight.add(task)
        task.add_done_callback(self._commands_in_flight.discard)

    async def _on_command(self, msg) -> None:
        verb = msg.subject.rsplit(".", 1)[-1]
        handler = self.commands.get(verb)
        token = telemetry.attach_from_headers(msg.headers)
        try:
            if handler is None:
                reply = {"ok": False, "statusCode": 404, "message": f"Unknown command {verb}"}
            else:
                payload = json.loads(msg.data or b"{}")
                result = await asyncio.to_thread(handler, payload)
                reply = {"ok": True, "data": result}
        except ApiError as err:
            reply = {"ok": False, "statusCode": err.status, "message": err.message}
        except ValidationError as err:
            reply = {"ok": False, "statusCode": 400, "message": validation_message(err.normalized_messages())}
        except (ValueError, TypeError, KeyError) as err:
            reply = {"ok": False, "statusCode": 400, "message": f"Bad command payload: {err}"}
        except Exception as err:  # noqa: BLE001 - a command must always get an answer
            log.exception("%s: command %s failed", self.service, verb)
            reply = {"ok": False, "statusCode": 500, "message": f"Command failed: {err.__class__.__name__}"}
        finally:
            telemetry.detach(token)
        if msg.reply:
            await msg.respond(dumps(reply))


# ----------------------------------------------------------------------------- sync side

class SyncNats:
    """A NATS connection usable from synchronous code (Flask handlers, the gateway).

    It runs an asyncio loop in a daemon thread, connects lazily and reconnects forever.
    Subscriptions declared before the connection exists are applied when it does.
    """

    def __init__(self, url: str, name: str):
        self.url = url
        self.name = name
        self._loop = None
        self._thread = None
        self._nc = None
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self._subs: list[tuple[str, callable]] = []
        self.on_reconnect: list[callable] = []
        self._relay_queue: collections.deque = collections.deque()
        self._relay_wake: asyncio.Event | None = None
        self._published: dict[int, tuple] = {}   # outbox → ids published, not yet deleted
        self._delete_timer = None
        self._tasks: set = set()
        self._closing = False

    def start(self) -> "SyncNats":
        with self._lock:
            if self._thread is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._run, name=f"{self.name}-nats", daemon=True)
                self._thread.start()
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._connect())
        self._loop.run_forever()

    async def _connect(self) -> None:
        async def reconnected():
            log.info("%s: NATS reconnected", self.name)
            for cb in self.on_reconnect:
                cb()

        delay = 0.2
        while True:
            try:
                self._nc = await nats.connect(self.url, name=self.name, connect_timeout=2, max_reconnect_attempts=-1,
                                              reconnect_time_wait=0.5, reconnected_cb=reconnected,
                                              error_cb=_quiet_error,
                                              ping_interval=20, max_outstanding_pings=3)
                break
            except Exception as exc:  # noqa: BLE001
                if self._closing:
                    return
                log.warning("%s: NATS not reachable (%s); retrying in %.1fs", self.name, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5)
        if self._closing:   # closed while connecting: it would stay connected (and reconnecting) for ever
            await self._nc.close()
            return
        for subject, cb in self._subs:
            await self._nc.subscribe(subject, cb=self._wrap(cb))
        if self._subs:
            await self._nc.flush(timeout=5)   # the server has them: what is published from now on reaches us
        self._relay_wake = asyncio.Event()
        self._loop.create_task(self._relay_loop())
        if self._relay_queue:
            self._relay_wake.set()
        self._connected.set()
        for cb in self.on_reconnect:  # the first connection counts: caches built before it are stale
            cb()

    def relay(self, outbox, rows: list[dict]) -> None:
        """An Outbox's `bus`: publish rows just committed (any thread; returns at once). In commit
        order, one NATS connection; what fails stays in the outbox for the worker's sweeper."""
        self.start()
        self._relay_queue.append((outbox, rows))
        wake = self._relay_wake
        if wake is not None:
            try:
                self._loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # loop closed (process exiting): the sweeper has the rows
                pass

    async def _relay_loop(self) -> None:
        from .outbox import publish_rows

        while True:
            await self._relay_wake.wait()
            self._relay_wake.clear()
            while self._relay_queue:
                batches: dict[int, tuple] = {}
                while self._relay_queue:   # everything committed meanwhile goes out as one batch
                    outbox, rows = self._relay_queue.popleft()
                    batches.setdefault(id(outbox), (outbox, []))[1].extend(rows)
                if not self.connected:
                    continue  # NATS is down: the worker's sweeper publishes these when it is back
                js = self._nc.jetstream()
                for outbox, rows in batches.values():
                    done, exc = await publish_rows(js, rows)
                    if exc is not None:
                        log.warning("%s: publish failed (%s); %d rows left to the sweeper", self.name, exc,
                                    len(rows) - len(done))
                    if done:
                        self._forget_later(outbox, done)

    def _forget_later(self, outbox, ids: list[str]) -> None:
        """Published rows are deleted in batches, at most RELAY_DELETE_S after their publish (or at
        RELAY_DELETE_BATCH rows): one database command per batch instead of one per commit. Their
        grace period keeps the sweeper off them meanwhile; a delete lost to a crash leaves rows it
        re-publishes, which JetStream and the consumers drop as duplicates."""
        entry = self._published.setdefault(id(outbox), (outbox, []))
        entry[1].extend(ids)
        if sum(len(pending) for _, pending in self._published.values()) >= RELAY_DELETE_BATCH:
            self.tasks_keep(self._loop.create_task(self._delete_published()))
        elif self._delete_timer is None:
            self._delete_timer = self._loop.call_later(
                RELAY_DELETE_S, lambda: self.tasks_keep(self._loop.create_task(self._delete_published())))

    def tasks_keep(self, task) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _delete_published(self) -> None:
        if self._delete_timer is not None:
            self._delete_timer.cancel()
            self._delete_timer = None
        batches, self._published = self._published, {}
        for outbox, ids in batches.values():
            try:
                await asyncio.to_thread(outbox.delete, ids)
            except Exception as exc:  # noqa: BLE001 - swept and de-duplicated later
                log.warning("%s: cannot delete %d published rows: %s", self.name, len(ids), exc)

    @staticmethod
    def _wrap(cb):
        async def handler(msg):
            try:
                cb(msg.subject, json.loads(msg.data) if msg.data else None)
            except Exception:  # noqa: BLE001 - a bad message must not kill the subscription
                log.exception("subscription callback failed on %s", msg.subject)
        return handler

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    def subscribe(self, subject: str, cb) -> None:
        """`cb(subject, payload)` runs on the NATS thread: keep it short."""
        self.start()
        self._subs.append((subject, cb))
        if self._connected.is_set():
            async def now():
                await self._nc.subscribe(subject, cb=self._wrap(cb))
                await self._nc.flush(timeout=5)
            asyncio.run_coroutine_threadsafe(now(), self._loop).result(6)

    def publish(self, subject: str, payload: dict) -> None:
        """A best-effort core publish (a live wake-up, never an event): dropped while NATS is away."""
        self.start()
        if self.connected:
            try:
                asyncio.run_coroutine_threadsafe(self._nc.publish(subject, dumps(payload)), self._loop)
            except RuntimeError:  # loop closing
                pass

    def request(self, subject: str, payload: dict, timeout: float = 5.0) -> dict:
        self.start()
        if not self._connected.wait(timeout):
            raise ServiceUnavailable("Message bus unavailable")
        headers = telemetry.inject_headers()
        future = asyncio.run_coroutine_threadsafe(
            self._nc.request(subject, dumps(payload), timeout=timeout, headers=headers or None), self._loop)
        try:
            msg = future.result(timeout + 1)
        except (NoRespondersError,):
            raise ServiceUnavailable(f"No service answers {subject}")
        except (NatsTimeout, FutureTimeout, asyncio.TimeoutError):
            raise ServiceUnavailable(f"Timed out waiting for {subject}")
        except Exception as exc:  # noqa: BLE001 - connection lost and the like
            raise ServiceUnavailable(f"Message bus error: {exc.__class__.__name__}")
        return json.loads(msg.data)

    def call(self, service: str, verb: str, payload: dict, timeout: float = 5.0):
        """Run command `cmd.<service>.<verb>` and return its data, or raise its error."""
        reply = self.request(f"cmd.{service}.{verb}", payload, timeout)
        if reply.get("ok"):
            return reply.get("data")
        raise error_for_status(int(reply.get("statusCode", 502)), reply.get("message", "Command failed"))

    def close(self) -> None:
        self._closing = True   # a connection still being retried gives up
        if self._nc is not None and self._loop is not None:
            try:
                if self._published:
                    asyncio.run_coroutine_threadsafe(self._delete_published(), self._loop).result(2)
            except Exception:  # noqa: BLE001 - swept and de-duplicated later
                pass
            try:
                asyncio.run_coroutine_threadsafe(self._nc.close(), self._loop).result(2)
            except Exception:  # noqa: BLE001
                pass
