"""MongoDB access helpers. Ids are 24-hex strings (see DESIGN.md: the embedded stand-in)."""
from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import tempfile
import threading
import time
from datetime import datetime, timezone

from bson import ObjectId
from pymongo import MongoClient, monitoring
from pymongo.errors import OperationFailure, PyMongoError

log = logging.getLogger(__name__)
_HEX24 = re.compile(r"^[0-9a-f]{24}$")


def new_id() -> str:
    return str(ObjectId())


def is_id(value) -> bool:
    return isinstance(value, str) and bool(_HEX24.match(value))


def now() -> datetime:
    """UTC now, truncated to milliseconds (what BSON stores), timezone-aware."""
    stamp = datetime.now(timezone.utc)
    return stamp.replace(microsecond=stamp.microsecond // 1000 * 1000)


def aware(value: datetime | None) -> datetime | None:
    """pymongo returns naive UTC datetimes unless tz_aware; normalise either way."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = aware(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def from_doc(doc: dict | None) -> dict | None:
    """A stored document as storage modules hand it out: a plain dict with `id` instead of `_id`."""
    if doc is None:
        return None
    doc = dict(doc)
    doc["id"] = doc.pop("_id")
    return doc


# ----------------------------------------------------------------------------- the dialect
# How values are written and read back so that MongoDB and the embedded stand-in (nx-27017) give the
# same answer. libs/common/tests/test_dialect.py shows each gap next to what MongoDB does.
#
#   gap (stand-in only)                                   rule
#   `$set` of a top-level datetime stores text            stamps of "now": `$currentDate` (CURRENT);
#                                                         other dates: `$set`, read back with read_date()
#   range query on such a text date (or on a              anything compared in a query is epoch ms (to_ms)
#   `$currentDate` stamp) matches nothing
#   `$set` of a top-level bool stores 0 / 1               read back with read_bool() (filters still match)
#   `$push` of a sub-document stores JSON text            `$set` the whole list instead
#   a compound index containing `_id` breaks inserts      never index `_id` with other keys
#   a plain equality filter `{f: v}` ignores the index   hot indexed queries filter with `{f: {"$eq": v}}`
#   (`{f: {"$eq": v}}` uses it)
#   `count_documents` ($match + $group/$sum) groups in   count() ($match + $count, counted by the
#   Python, row by row: 6 ms at 100 matches, 194 at 5,000  server): ~1 ms at any size (bench/count.py)

CURRENT = object()   # in set_update(): "the server's current date" (`$currentDate`)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def to_ms(value: datetime) -> int:
    """A datetime as epoch milliseconds: the form of every time a query compares (schedules, retries)."""
    return int(aware(value).timestamp() * 1000)


def from_ms(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, tz=timezone.utc)


def set_update(values: dict | None = None, *, stamp: tuple[str, ...] = ("updatedAt",), unset=()) -> dict:
    """An update document both servers store alike: `values` through `$set`, except those equal to
    CURRENT (and every `stamp` field), which take the server's current date through `$currentDate`."""
    values = values or {}
    current = {k: True for k, v in values.items() if v is CURRENT} | {k: True for k in stamp}
    update: dict = {}
    plain = {k: v for k, v in values.items() if v is not CURRENT and k not in current}
    if plain:
        update["$set"] = plain
    if current:
        update["$currentDate"] = current
    if unset:
        update["$unset"] = {k: "" for k in unset}
    return update


_STAND_IN_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?$")


def read_date(value):
    """A stored date as an aware datetime, whether the server kept a date or (the stand-in after a
    top-level `$set`) its text '2026-01-02 03:04:05.123000'. Anything else is returned unchanged."""
    if isinstance(value, datetime):
        return aware(value)
    if isinstance(value, str) and _STAND_IN_DATE.match(value):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return value


def read_bool(value):
    """A stored boolean as a bool (the stand-in returns 0 / 1 after a top-level `$set`); None stays None."""
    return None if value is None else bool(value)


def reader(*, dates: tuple[str, ...] = (), bools: tuple[str, ...] = ()):
    """A storage module's `document -> dict` (`id` for `_id`) with its date and boolean fields read
    back through the dialect:  _out = reader(dates=("createdAt", "dueDate"), bools=("archived",))"""
    def out(doc: dict | None) -> dict | None:
        doc = from_doc(doc)
        if doc is None:
            return None
        for key in dates:
            if key in doc:
                doc[key] = read_date(doc[key])
        for key in bools:
            if key in doc:
                doc[key] = read_bool(doc[key])
        return doc
    return out


def count(col, query: dict, *, session=None) -> int:
    """`col.count_documents(query)` at the cost of the index lookup on both servers (see the table)."""
    rows = list(col.aggregate([{"$match": query}, {"$count": "n"}], session=session))
    return rows[0]["n"] if rows else 0


# ----------------------------------------------------------------------------- after commit
_AFTER_COMMIT: dict[int, list] = {}


def after_commit(session, fn) -> None:
    """Run `fn()` once the unit of work of `session` has committed (at once when there is none).
    Never runs when it rolls back. The outbox uses it to publish a change as soon as it is durable."""
    hooks = _AFTER_COMMIT.get(id(session)) if session is not None else None
    if hooks is None:
        fn()
    else:
        hooks.append(fn)


def _run_hooks(hooks: list) -> None:
    for fn in hooks:
        try:
            fn()
        except Exception:  # noqa: BLE001 - the change is committed; a hook must not turn it into an error
            log.exception("after-commit hook failed")


_shared: dict = {}
_shared_lock = threading.Lock()


def connect(uri: str, app_name: str) -> MongoClient:
    """Build a client. Call this inside `create_app` / the worker, never at import (fork safety).
    With WORKERS_IN_WEB (`make up`) a web process and the bus worker on its thread share one client:
    one pool and one set of driver threads, each of which wakes twice a second even when idle."""
    from .kit import workers_in_web
    if not workers_in_web():
        return _client(uri, app_name)
    with _shared_lock:
        key = (os.getpid(), uri)
        if key not in _shared:
            _shared[key] = _client(uri, app_name)
        return _shared[key]


def _client(uri: str, app_name: str) -> MongoClient:
    # MONGO_HEARTBEAT_MS: how often the driver's monitor pings each server (pymongo's 10 s by
    # default; `make up` sets 30 s: a failed operation is noticed at once either way).
    heartbeat = int(os.environ.get("MONGO_HEARTBEAT_MS") or 10_000)
    listeners = [SlowCommands(slow)] if (slow := _slow_ms()) else []
    return MongoClient(uri, appname=app_name, tz_aware=True, serverSelectionTimeoutMS=5000,
                       connectTimeoutMS=3000, retryWrites=False, heartbeatFrequencyMS=heartbeat,
                       event_listeners=listeners)


def _slow_ms() -> int:
    try:
        return max(0, int(os.environ.get("MONGO_SLOW_MS") or 0))
    except ValueError:
        return 0


_SHAPED = ("filter", "sort", "projection", "pipeline", "updates", "deletes", "query", "update")


def shape(value):
    """A command's argument with its values replaced by their type: what an operator may log (no
    e-mail, token or title ever reaches the log) and what groups alike queries together."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        inner = [shape(v) for v in value[:3]]
        return inner + ["..."] if len(value) > 3 else inner
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return value if value in (1, -1, 0) else "num"   # sort and projection directions stay readable
    return type(value).__name__


class SlowCommands(monitoring.CommandListener):
    """MONGO_SLOW_MS=N: one warning per command that took N ms or more, with its collection and the
    value-free shape of its filter, sort, projection, pipeline or updates — how to find the query
    whose cost grows (bench/soak.py) without a profiler. Off by default: no listener at all."""

    def __init__(self, threshold_ms: int):
        self.threshold_us = threshold_ms * 1000
        self.pending: dict = {}          # (connection, request id) → the command, until it ends

    def started(self, event):
        self.pending[(event.connection_id, event.request_id)] = event.command

    def succeeded(self, event):
        self._done(event)

    def failed(self, event):
        self._done(event)

    def _done(self, event):
        command = self.pending.pop((event.connection_id, event.request_id), None)
        if command is None or event.duration_micros < self.threshold_us:
            return
        target = command.get(event.command_name)
        where = f"{event.database_name}.{target}" if isinstance(target, str) else event.database_name
        described = json.dumps({k: shape(command[k]) for k in _SHAPED if k in command}, default=str)
        ms = round(event.duration_micros / 1000, 1)
        log.warning("slow mongo command %s %s %.1fms %s", event.command_name, where, ms, described,
                    extra={"duration_ms": ms})


def _supports_transactions(client: MongoClient) -> bool:
    """MongoDB: only on a replica set or mongos. The embedded stand-in (no `version` in
    buildInfo) supports them too. MONGO_TRANSACTIONS=off|on overrides the detection."""
    forced = os.environ.get("MONGO_TRANSACTIONS", "auto").lower()
    if forced in {"on", "off"}:
        return forced == "on"
    cached = getattr(client, "_stellary_tx", None)
    if cached is not None:
        return cached
    try:
        hello = client.admin.command("hello")
        ok = bool(hello.get("setName")) or hello.get("msg") == "isdbgrid" or "version" not in client.server_info()
    except PyMongoError:
        return False
    client._stellary_tx = ok
    return ok


@contextlib.contextmanager
def unit_of_work(client: MongoClient):
    """Yield a session inside a transaction where the server supports it, else None.

    Storage methods take `session=` and pass it to pymongo, so the change and its outbox
    event commit together on MongoDB replica sets and on the embedded stand-in; on a
    standalone mongod they are written one after the other (the relay still publishes).
    """
    if not _supports_transactions(client):
        yield None
        return
    # The stand-in's transactions are SQLite savepoints on one shared connection: two at once —
    # from two threads or two processes — interleave and wedge every later transaction ("no such
    # savepoint"), so on the stand-in they run one at a time on this machine (a file lock; the
    # stand-in is only ever used by processes of one machine).
    hooks: list = []
    with (_stand_in_lock(client) if _is_stand_in(client) else contextlib.nullcontext()):
        with client.start_session() as session:
            _AFTER_COMMIT[id(session)] = hooks
            try:
                with session.start_transaction():
                    yield session
            finally:
                _AFTER_COMMIT.pop(id(session), None)
    _run_hooks(hooks)  # committed (an exception above skips this), and the machine lock released


class _MachineLock:
    """Re-entrant within a thread, exclusive across threads (RLock) and processes (flock)."""

    def __init__(self, path: str):
        self.path = path
        self.rlock = threading.RLock()
        self.depth = 0
        self.file = None

    def __enter__(self):
        self.rlock.acquire()
        if self.depth == 0:
            if self.file is None:
                self.file = open(self.path, "a+")
            fcntl.flock(self.file, fcntl.LOCK_EX)
        self.depth += 1
        return self

    def __exit__(self, *exc):
        self.depth -= 1
        if self.depth == 0:
            fcntl.flock(self.file, fcntl.LOCK_UN)
        self.rlock.release()


_LOCKS: dict[str, _MachineLock] = {}
_LOCKS_GUARD = threading.Lock()


def _stand_in_lock(client: MongoClient) -> _MachineLock:
    host, port = client.address or ("127.0.0.1", 27017)
    path = os.path.join(tempfile.gettempdir(), f"stellary-standin-tx-{host}-{port}.lock")
    with _LOCKS_GUARD:
        if path not in _LOCKS:
            _LOCKS[path] = _MachineLock(path)
        return _LOCKS[path]


def _is_stand_in(client: MongoClient) -> bool:
    """The embedded stand-in (nx-27017) answers buildInfo without a `version`."""
    cached = getattr(client, "_stellary_stand_in", None)
    if cached is None:
        try:
            cached = "version" not in client.server_info()
        except PyMongoError:
            return False
        client._stellary_stand_in = cached
    return cached


def ensure_in_background(setup, name: str, stop: threading.Event | None = None) -> threading.Thread:
    """Run `setup()` (index creation…) until it succeeds, retrying with backoff off the request path."""
    def run():
        delay = 0.2
        while not (stop and stop.is_set()):
            try:
                setup()
                log.info("%s: database ready", name)
                return
            except (PyMongoError, OperationFailure) as exc:
                log.warning("%s: database not ready (%s), retrying in %.1fs", name, exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 5)

    thread = threading.Thread(target=run, name=f"{name}-db-setup", daemon=True)
    thread.start()
    return thread


def ensure_collections(db, names) -> None:
    """Create collections up front: a transaction that creates one fails on the stand-in."""
    existing = set(db.list_collection_names())
    for name in names:
        if name not in existing:
            try:
                db.create_collection(name)
            except OperationFailure as exc:  # created concurrently by another process
                if "already exists" not in str(exc):
                    raise


def mongo_up(client: MongoClient) -> bool:
    """For /health: does the database answer a ping? Never raises."""
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
