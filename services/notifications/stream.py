"""GET /notifications/stream: Server-Sent Events of the caller's new notifications.

    retry: 2000

    event: count
    data: {"count": 3}

    id: 1764431234567890
    event: notification
    data: {"id": "...", "userId": "...", "readAt": null, "activity": {...}, "createdAt": "..."}

    : keep-alive

The database is the source of truth; NATS only makes it fast. After storing notifications the
worker publishes a core (non-persistent) wake-up on `live.notifications.<userId>` with their ids;
each web process subscribes to `live.notifications.*` and hands the ids to the streams of that
user, which read those rows by id. A safety poll (NOTIFICATIONS_STREAM_POLL_MS, 5 s) reads what
a lost wake-up missed and refreshes the unread count (a read in another tab).

`id:` is the stream cursor: the highest `seq` sent so far (seq = the storing worker's µs clock).
Two workers may commit out of seq order, so every read looks LOOKBACK_US back and skips ids
already sent. `Last-Event-ID: <cursor>` resumes: what was stored after it is sent first.
Without it, the stream starts with what is stored from now on.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time

from libs.common.mongo import is_id

from .schemas import notifications_out
from .storage import NotificationStore

log = logging.getLogger(__name__)
LIVE_SUBJECT = "live.notifications"           # + ".<userId>", payload {"ids": [...]}
LOOKBACK_US = 10_000_000
BATCH = 200


class LiveHub:
    """Per-process registry of open streams, fed by the NATS wake-ups."""

    def __init__(self):
        self._lock = threading.Lock()
        self._watchers: dict[str, set[queue.SimpleQueue]] = {}

    def register(self, user_id: str) -> queue.SimpleQueue:
        q: queue.SimpleQueue = queue.SimpleQueue()
        with self._lock:
            self._watchers.setdefault(user_id, set()).add(q)
        return q

    def unregister(self, user_id: str, q: queue.SimpleQueue) -> None:
        with self._lock:
            watchers = self._watchers.get(user_id)
            if watchers is not None:
                watchers.discard(q)
                if not watchers:
                    del self._watchers[user_id]

    def touch(self, user_id: str) -> None:
        """Wake this process's streams of `user_id` to re-read the unread count (after a read here;
        streams held by other web processes see it at their next safety poll)."""
        self.on_live(f"{LIVE_SUBJECT}.{user_id}", {"ids": []})

    def on_live(self, subject: str, payload) -> None:
        """SyncNats callback (NATS thread): keep it short."""
        user_id = subject.rsplit(".", 1)[-1]
        with self._lock:
            watchers = list(self._watchers.get(user_id, ()))
        payload = payload or {}
        ids = payload.get("ids") or []
        rows = [r for r in payload.get("rows") or [] if isinstance(r, dict) and r.get("userId") == user_id]
        for q in watchers:
            q.put((ids, rows))

    @property
    def open_streams(self) -> int:
        with self._lock:
            return sum(len(w) for w in self._watchers.values())


def _frame(event: str, data, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def parse_last_event_id(value: str | None) -> int | None:
    value = (value or "").strip()
    if not (value.isascii() and value.isdigit() and len(value) <= 19):
        return None
    number = int(value)
    return number if number < 2 ** 63 - LOOKBACK_US else None  # within int64 once looked back from


def event_stream(*, store: NotificationStore, hub: LiveHub, user_id: str, last_event_id: int | None,
                 poll_s: float = 1.0, heartbeat_s: float = 15.0, max_age_s: float = 3600.0):
    """The generator behind the SSE response (holds one gunicorn thread while open)."""
    wakeups = hub.register(user_id)
    try:
        cursor = last_event_id if last_event_id is not None else time.time_ns() // 1000
        # What the client already has: everything up to the cursor (a resume), or up to now.
        sent: dict[str, int] = {i: s for s, i in store.recent_keys(user_id=user_id, since_seq=cursor - LOOKBACK_US)
                                if s <= cursor}
        count = None
        yield "retry: 2000\n\n"
        started = last_write = time.monotonic()
        next_poll = 0.0
        pending_ids: list[str] = []
        given: dict[str, dict] = {}   # rows that came with a wake-up: sent without reading them back
        woken = False
        while time.monotonic() - started < max_age_s:
            out = []
            polled = time.monotonic() >= next_poll
            if polled:
                keys = store.recent_keys(user_id=user_id, since_seq=cursor - LOOKBACK_US)
                pending_ids.extend(i for s, i in keys if i not in sent)
                next_poll = time.monotonic() + poll_s
            fresh = [i for i in dict.fromkeys(pending_ids) if i not in sent and is_id(i)]
            pending_ids = []
            if fresh:
                batch = fresh[:BATCH]
                known = [given.pop(i) for i in batch if i in given]
                missing = [i for i in batch if all(r["id"] != i for r in known)]
                docs = store.by_ids(user_id=user_id, ids=missing) if missing else []
                read = [row | {"seq": d["seq"]} for row, d in zip(notifications_out(docs), docs)]
                for row in sorted(known + read, key=lambda r: (r["seq"], r["id"])):
                    row = dict(row)
                    seq = row.pop("seq")
                    sent[row["id"]] = seq
                    cursor = max(cursor, seq)
                    out.append(_frame("notification", row, cursor))
                pending_ids = fresh[BATCH:]
            given.clear()
            if out:  # the notifications first: the count query must not delay them
                yield "".join(out)
                last_write = time.monotonic()
                out = []
            if woken or polled or count is None:
                current = store.count_unread(user_id=user_id)
                if current != count:
                    count = current
                    out.append(_frame("count", {"count": count}))
            if not out and time.monotonic() - last_write >= heartbeat_s:
                out.append(": keep-alive\n\n")
            if out:
                yield "".join(out)
                last_write = time.monotonic()
            if len(sent) > 5000:  # forget what is too old to come back through the lookback
                horizon = cursor - LOOKBACK_US
                sent = {i: s for i, s in sent.items() if s > horizon}
            if pending_ids:
                continue
            woken = False
            timeout = max(0.0, min(next_poll, last_write + heartbeat_s) - time.monotonic())
            try:
                ids, rows = wakeups.get(timeout=timeout)
                pending_ids.extend(ids)
                given.update((r["id"], r) for r in rows if isinstance(r.get("seq"), int))
                woken = True
                while True:  # a burst of wake-ups: take them all at once
                    ids, rows = wakeups.get_nowait()
                    pending_ids.extend(ids)
                    given.update((r["id"], r) for r in rows if isinstance(r.get("seq"), int))
            except queue.Empty:
                pass
    finally:
        hub.unregister(user_id, wakeups)
