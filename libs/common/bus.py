"""The event bus: envelope, outbox, relay, durable consumers, request/reply commands.

Producer side (inside a request):
    with unit_of_work(client) as session:
        storage.save(card, session=session)
        outbox.add(event("boards.card.moved", data, caller=caller, project_id=pid), session=session)
The worker's relay publishes unpublished outbox rows to JetStream with `Nats-Msg-Id` = event id,
so JetStream drops a re-publish inside its duplicate window and nothing is lost while NATS is down.

Consumer side (in the worker): a durable pull consumer per (service, stream), shared by every
replica; a message is acked only after its handler ran; an event id already recorded in the
`processed` collection is skipped; a message that keeps failing is parked on `dlq.<service>`.

Commands: `cmd.<service>.<verb>`, queue group = service; replies are
`{"ok": true, "data": ...}` or `{"ok": false, "statusCode": N, "message": "..."}`.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime

import nats
from nats.errors import NoRespondersError, TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from marshmallow import ValidationError
from pymongo.errors import DuplicateKeyError, PyMongoError

from . import telemetry
from .errors import ApiError, ServiceUnavailable, error_for_status, validation_message
from .mongo import iso, new_id, now

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


async def _quiet_error(exc) -> None:
    """nats-py logs every failed (re)connect with a traceback by default; one line is enough."""
    log.warning("nats: %s", exc or "connection error")


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


class Outbox:
    """The `outbox` collection of one service's database."""

    def __init__(self, db):
        self.col = db["outbox"]

    def ensure_indexes(self) -> None:
        self.col.create_index([("published", 1), ("seq", 1)])
        self.col.create_index("publishedAt", expireAfterSeconds=7 * 86400)

    def add(self, envelope: dict, *, session=None) -> dict:
        self.add_many([envelope], session=session)
        return envelope

    def add_many(self, envelopes: list[dict], *, session=None) -> None:
        if not envelopes:
            return
        base = time.time_ns()
        rows = [{"_id": e["id"], "subject": e["type"], "envelope": e, "published": False,
                 "seq": base + i, "createdAt": now()} for i, e in enumerate(envelopes)]
        self.col.insert_many(rows, session=session)

    def pending(self, limit: int = 200) -> list[dict]:
        return list(self.col.find({"published": False}).sort("seq", 1).limit(limit))

    def mark_published(self, ids: list[str]) -> None:
        if ids:
            self.col.update_many({"_id": {"$in": ids}}, {"$set": {"published": True, "publishedAt": now()}})


class Processed:
    """Event ids a consumer has handled (idempotency). A unique `_id` per (consumer, event)."""

    def __init__(self, db):
        self.col = db["processed_events"]

    def ensure_indexes(self) -> None:
        self.col.create_index("at", expireAfterSeconds=14 * 86400)

    def seen(self, consumer: str, event_id: str) -> bool:
        return self.col.find_one({"_id": f"{consumer}:{event_id}"}, {"_id": 1}) is not None

    def mark(self, consumer: str, event_id: str) -> None:
        try:
            self.col.insert_one({"_id": f"{consumer}:{event_id}", "at": now()})
        except DuplicateKeyError:
            pass


HEARTBEAT_S = 5


class Heartbeats:
    """The `workers` collection: one row per worker process, its last beat in epoch ms (a number, so
    range queries work on the embedded stand-in too) and its counters."""

    def __init__(self, db):
        self.col = db["workers"]

    def beat(self, service: str, stats: dict) -> None:
        now_ms = int(time.time() * 1000)
        key = f"{service}:{socket.gethostname()}:{os.getpid()}"
        self.col.replace_one({"_id": key}, {"_id": key, "service": service, "at": now_ms, "stats": dict(stats)},
                             upsert=True)
        self.col.delete_many({"service": service, "at": {"$lt": now_ms - 3600_000}})  # long-gone processes

    def alive(self, service: str, within_s: float = 4 * HEARTBEAT_S) -> bool:
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


async def connect_nats(url: str, name: str, stop: asyncio.Event | None = None):
    """Connect, retrying with backoff until NATS answers (services start before their deps)."""
    delay = 0.2
    while True:
        try:
            return await nats.connect(url, name=name, connect_timeout=2, max_reconnect_attempts=-1,
                                      reconnect_time_wait=0.5, allow_reconnect=True, error_cb=_quiet_error,
                                      ping_interval=5, max_outstanding_pings=2)
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
        self.periodic: list[tuple[float, callable]] = []
        self.stop = None
        self.nc = None
        self.js = None
        self.stats = {"published": 0, "handled": 0, "skipped": 0, "retried": 0, "deadLettered": 0}

    # ---- declaration
    def consume(self, stream: str, handler, *, subjects: list[str] | None = None, durable: str | None = None):
        self.consumers.append((stream, subjects, handler, durable or self.service))

    def command(self, verb: str, handler):
        self.commands[verb] = handler

    def every(self, seconds: float, fn):
        self.periodic.append((seconds, fn))

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
        self.nc = await connect_nats(self.settings.nats_url, f"{self.service}-worker", self.stop)
        self.js = self.nc.jetstream()
        await self._ensure_streams()
        self.tasks = []
        self.pull_subs = []
        if self.relay_enabled:
            self.tasks.append(asyncio.create_task(self._relay(), name="relay"))
        for stream, subjects, handler, durable in self.consumers:
            self.tasks.append(asyncio.create_task(self._consume(stream, subjects, handler, durable),
                                                  name=f"consume-{stream}"))
        if self.commands:
            await self.nc.subscribe(f"cmd.{self.service}.*", queue=self.service, cb=self._on_command)
            await self.nc.flush()  # the server knows the subscription before start() returns
        for seconds, fn in self.periodic:
            self.tasks.append(asyncio.create_task(self._every(seconds, fn)))
        self.tasks.append(asyncio.create_task(self._every(HEARTBEAT_S, self._heartbeat), name="heartbeat"))
        log.info("%s worker started (relay=%s, consumers=%d, commands=%s)", self.service,
                 self.relay_enabled, len(self.consumers), sorted(self.commands))

    async def shutdown(self) -> None:
        self.stop.set()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        # Drop the pull subscriptions before draining: nats-py's fetch takes messages off their
        # queue without task_done(), so drain() would wait its full 30 s timeout on them. Whatever
        # they hold unacked is redelivered (ack_wait) and skipped if already processed.
        for sub in getattr(self, "pull_subs", []):
            try:
                await sub.unsubscribe()
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

    def _heartbeat(self) -> None:
        """Tell the service's web processes this worker is alive (their /health reads it)."""
        Heartbeats(self.db).beat(self.service, self.stats)

    async def _every(self, seconds: float, fn) -> None:
        while not self.stop.is_set():
            try:
                await asyncio.to_thread(fn)
            except Exception:  # noqa: BLE001 - a periodic job must not kill the worker
                log.exception("%s: periodic job %s failed", self.service, getattr(fn, "__name__", fn))
            try:
                await asyncio.wait_for(self.stop.wait(), timeout=seconds)
            except asyncio.TimeoutError:
                pass

    # ---- outbox relay
    async def _relay(self) -> None:
        poll = self.settings.outbox_poll_ms / 1000
        delay = poll
        while not self.stop.is_set():
            try:
                rows = await asyncio.to_thread(self.outbox.pending)
            except Exception as exc:  # noqa: BLE001 - database down: wait and retry
                log.warning("%s relay: cannot read outbox: %s", self.service, exc)
                await asyncio.sleep(1)
                continue
            if not rows:
                await asyncio.sleep(poll)
                continue
            published = []
            try:
                for row in rows:
                    env = row["envelope"]
                    headers = {"Nats-Msg-Id": row["_id"]}
                    if env.get("traceparent"):
                        headers["traceparent"] = env["traceparent"]
                    await self.js.publish(row["subject"], dumps(env), headers=headers, timeout=2)
                    published.append(row["_id"])
                delay = poll
            except Exception as exc:  # noqa: BLE001 - NATS down: keep the rest for later
                log.warning("%s relay: publish failed (%s); %d pending, retrying in %.1fs",
                            self.service, exc, len(rows) - len(published), delay)
                await asyncio.sleep(delay)
                delay = min(max(delay * 2, 0.1), 2)
            finally:
                if published:
                    self.stats["published"] += len(published)
                    try:
                        await asyncio.to_thread(self.outbox.mark_published, published)
                    except Exception as exc:  # noqa: BLE001 - re-published later; JetStream drops the duplicates
                        log.warning("%s relay: cannot mark %d rows published: %s", self.service, len(published), exc)
                        await asyncio.sleep(1)

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
                msgs = await sub.fetch(batch=64, timeout=1)
            except (NatsTimeout, asyncio.TimeoutError):
                continue
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
            # Create, or update an existing durable: pull_subscribe alone binds to it as it is, so a
            # service whose subscriptions changed would silently keep its old subject filter.
            await self.js.add_consumer(stream, config=config)
        except Exception as exc:  # noqa: BLE001 - keep the consumer as it is; pull_subscribe decides
            log.warning("%s: cannot create/update consumer %s on %s: %s", self.service, durable, stream, exc)
        return await self.js.pull_subscribe(subject=subjects[0] if subjects else STREAMS[stream],
                                            durable=durable, stream=stream, config=config)

    async def _handle(self, msg, handler, consumer_key: str) -> None:
        delivered = msg.metadata.num_delivered if msg.metadata else 1
        token = telemetry.attach_from_headers(msg.headers)
        try:
            envelope = json.loads(msg.data)
            if not isinstance(envelope, dict) or "id" not in envelope:
                raise ValueError("not an event envelope")
            if await asyncio.to_thread(self.processed.seen, consumer_key, envelope["id"]):
                self.stats["skipped"] += 1
                await msg.ack()
                return
            await asyncio.to_thread(handler, envelope)
            await asyncio.to_thread(self.processed.mark, consumer_key, envelope["id"])
            self.stats["handled"] += 1
            await msg.ack()
        except Exception as exc:  # noqa: BLE001 - any handler failure: retry, then park
            if delivered >= self.settings.consumer_max_deliver:
                await self._dead_letter(msg, exc, consumer_key, delivered)
            else:
                self.stats["retried"] += 1
                log.warning("%s: handler failed on %s (delivery %d): %s", self.service, msg.subject, delivered, exc)
                await msg.nak(delay=min(0.2 * 2 ** delivered, 5))
        finally:
            telemetry.detach(token)

    async def _dead_letter(self, msg, exc: Exception, consumer_key: str, delivered: int) -> None:
        self.stats["deadLettered"] += 1
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
                                              ping_interval=5, max_outstanding_pings=2)
                break
            except Exception as exc:  # noqa: BLE001
                log.warning("%s: NATS not reachable (%s); retrying in %.1fs", self.name, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5)
        for subject, cb in self._subs:
            await self._nc.subscribe(subject, cb=self._wrap(cb))
        self._connected.set()
        for cb in self.on_reconnect:  # the first connection counts: caches built before it are stale
            cb()

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
            asyncio.run_coroutine_threadsafe(self._nc.subscribe(subject, cb=self._wrap(cb)), self._loop).result(5)

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
        if self._nc is not None and self._loop is not None:
            try:
                asyncio.run_coroutine_threadsafe(self._nc.close(), self._loop).result(2)
            except Exception:  # noqa: BLE001
                pass
