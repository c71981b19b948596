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
user, which read those rows by id. One safety poll per web process (NOTIFICATIONS_STREAM_POLL_MS,
5 s, while a stream is open) reads, for every user with a stream open here, what was stored lately
and the unread count — two queries whatever the number of streams — and hands each user's streams
what a lost wake-up missed and a count changed elsewhere (a read in another tab, another process).

A stream is a coroutine (served by libs/common/asyncweb.py on the web process's event loop): an
open stream waiting for its next wake-up holds no thread; its database reads run on the process's
request pool.

`id:` is the stream cursor: the highest `seq` sent so far (seq = the storing worker's µs clock).
Two workers may commit out of seq order, so every read looks LOOKBACK_US back and skips ids
already sent. `Last-Event-ID: <cursor>` resumes: what was stored after it is sent first.
Without it, the stream starts with what is stored from now on.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time

from libs.common.asyncweb import Fanout, run_blocking
from libs.common.mongo import is_id

from .schemas import notifications_out
from .storage import NotificationStore

log = logging.getLogger(__name__)
LIVE_SUBJECT = "live.notifications"           # + ".<userId>", payload {"ids": [...]}
LOOKBACK_US = 10_000_000
BATCH = 200
KEYS_PAGE = 1000


class LiveHub:
    """Per-process registry of open streams, fed by the NATS wake-ups and by one safety poll of
    `store` every `poll_s` seconds while a stream is open. A stream receives (ids, rows, count):
    ids to read, rows already read, and the unread count (None: read it again; a poll's count, when
    it differs from the one the stream sent, is read again too)."""

    def __init__(self, store: NotificationStore | None = None, poll_s: float = 5.0):
        self.store, self.poll_s = store, poll_s
        self.fanout = Fanout(poll=self._poll if store is not None else None, poll_s=poll_s,
                             name="notifications-stream-poll")

    def register(self, user_id: str) -> asyncio.Queue:
        return self.fanout.register(user_id)

    def unregister(self, user_id: str, queue: asyncio.Queue) -> None:
        self.fanout.unregister(user_id, queue)

    def touch(self, user_id: str) -> None:
        """Wake this process's streams of `user_id` to re-read the unread count (after a read here;
        streams held by other web processes see it at their next safety poll)."""
        self.on_live(f"{LIVE_SUBJECT}.{user_id}", {"ids": []})

    def on_live(self, subject: str, payload) -> None:
        """SyncNats callback (NATS thread): keep it short."""
        user_id = subject.rsplit(".", 1)[-1]
        payload = payload or {}
        ids = payload.get("ids") or []
        rows = [r for r in payload.get("rows") or [] if isinstance(r, dict) and r.get("userId") == user_id]
        self.fanout.put(user_id, (ids, rows, None))

    def _poll(self, user_ids: list[str]) -> dict:
        """The safety poll (the fan-out's thread): what was stored since two polls and a lookback
        ago, and the unread counts, for every user with a stream open here."""
        since = time.time_ns() // 1000 - LOOKBACK_US - int(2 * self.poll_s * 1_000_000)
        ids: dict[str, list[str]] = {u: [] for u in user_ids}
        for user_id, _seq, notification_id in self.store.recent_keys_of(user_ids=user_ids, since_seq=since):
            ids.setdefault(user_id, []).append(notification_id)
        counts = self.store.count_unread_of(user_ids=user_ids)
        return {u: (ids[u], [], counts.get(u, 0)) for u in user_ids}

    @property
    def open_streams(self) -> int:
        return self.fanout.open_streams


def _frame(event: str, data, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def parse_last_event_id(value: str | None) -> int | None:
    value = (value or "").strip()
    if not (value.isascii() and value.isdigit() and len(value) <= 19):
        return None
    number = int(value)
    return number if number < 2 ** 63 - LOOKBACK_US else None  # within int64 once looked back from


async def event_stream(*, store: NotificationStore, hub: LiveHub, user_id: str, last_event_id: int | None,
                       heartbeat_s: float = 15.0, max_age_s: float = 3600.0):
    """The frames of one SSE response (an async generator: served as libs/common/asyncweb.AsyncBody)."""
    wakeups = hub.register(user_id)
    try:
        cursor = last_event_id if last_event_id is not None else time.time_ns() // 1000
        keys = await run_blocking(lambda: store.recent_keys(user_id=user_id, since_seq=cursor - LOOKBACK_US,
                                                            limit=KEYS_PAGE))
        # What the client already has: everything up to the cursor (a resume), or up to now.
        sent: dict[str, int] = {i: s for s, i in keys if s <= cursor}
        pending_ids: list[str] = [i for s, i in keys if s > cursor]   # what a resume missed
        backlog = len(keys) >= KEYS_PAGE   # more than a page missed: read on once these are sent
        count = None
        recount = True
        yield "retry: 2000\n\n"
        started = last_write = time.monotonic()
        given: dict[str, dict] = {}   # rows that came with a wake-up: sent without reading them back
        while time.monotonic() - started < max_age_s:
            out = []
            unread_sent = 0
            fresh = [i for i in dict.fromkeys(pending_ids) if i not in sent and is_id(i)]
            pending_ids = []
            if fresh:
                batch = fresh[:BATCH]
                known = [given.pop(i) for i in batch if i in given]
                missing = [i for i in batch if all(r["id"] != i for r in known)]
                docs = await run_blocking(lambda: store.by_ids(user_id=user_id, ids=missing)) if missing else []
                read = [row | {"seq": d["seq"]} for row, d in zip(notifications_out(docs), docs)]
                for row in sorted(known + read, key=lambda r: (r["seq"], r["id"])):
                    row = dict(row)
                    seq = row.pop("seq")
                    sent[row["id"]] = seq
                    cursor = max(cursor, seq)
                    out.append(_frame("notification", row, cursor))
                    unread_sent += row.get("readAt") is None
                pending_ids = fresh[BATCH:]
            given.clear()
            if out:  # the notifications first: the count query must not delay them
                yield "".join(out)
                last_write = time.monotonic()
                out = []
            # Re-read only when something else may have changed it (the start, a read, a poll that
            # disagrees): new notifications, all stored before they were sent, add what they add.
            if recount or count is None:
                current = await run_blocking(lambda: store.count_unread(user_id=user_id))
            else:
                current = count + unread_sent
            recount = False
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
            if backlog:
                keys = await run_blocking(lambda: store.recent_keys(user_id=user_id, since_seq=cursor - LOOKBACK_US,
                                                                    limit=KEYS_PAGE))
                pending_ids = [i for _s, i in keys if i not in sent]
                backlog = len(keys) >= KEYS_PAGE and bool(pending_ids)
                if pending_ids:
                    continue
            timeout = max(0.0, min(last_write + heartbeat_s, started + max_age_s) - time.monotonic())
            try:
                item = await asyncio.wait_for(wakeups.get(), timeout)
                while True:  # a burst of wake-ups: take them all at once
                    ids, rows, polled = item
                    pending_ids.extend(ids)
                    given.update((r["id"], r) for r in rows if isinstance(r.get("seq"), int))
                    # A wake-up with notifications: they add to the count as they are sent. One
                    # without (`touch`: a read here) or a poll's count that differs (it is a hint:
                    # it may predate a wake-up already served) is read again.
                    recount = recount or (polled is None and not ids and not rows) or \
                        (polled is not None and polled != count)
                    item = wakeups.get_nowait()
            except (asyncio.TimeoutError, asyncio.QueueEmpty):
                pass
    finally:
        hub.unregister(user_id, wakeups)
