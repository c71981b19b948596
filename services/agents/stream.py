"""GET W/missions/:missionId/stream: the mission's log as Server-Sent Events, ending after a terminal status.

    retry: 2000

    id: 1
    event: status
    data: {"seq": 1, "type": "status", "data": {"status": "queued", "previous": null}, "at": "…"}

    id: 4
    event: tool_call
    data: {"seq": 4, "type": "tool_call", "data": {"callId": "…", "tool": "read_card", "arguments": {…}}, "at": "…"}

    : keep-alive

`id:` is the step's seq. Without Last-Event-ID the stream starts at the first step; `Last-Event-ID: <seq>`
(or `?lastEventId=`) resumes after it. Once the terminal status (completed, failed, cancelled) is sent the
stream ends; a client reconnecting after it gets what followed and the end at once.
The log is the truth; NATS only makes it fast: every writer announces its rows on
`live.agents.missions.<missionId>`, each web process hands them to the streams of that mission, and a safety
poll (AGENTS_STREAM_POLL_MS) reads what a lost wake-up missed. Steps are sent in seq order: a hole (a seq
taken by a writer that has not inserted yet) is waited for until the next poll, then skipped if older than 2 s.
"""
from __future__ import annotations

import json
import queue
import threading
import time

from .journal import LIVE_SUBJECT
from .schemas import StepOut
from .storage import TERMINAL, StepStore, now_ms

HOLE_GRACE_MS = 2000


class LiveHub:
    """Per-process registry of open mission streams, fed by the NATS wake-ups."""

    def __init__(self):
        self._lock = threading.Lock()
        self._watchers: dict[str, set[queue.SimpleQueue]] = {}

    def register(self, mission_id: str) -> queue.SimpleQueue:
        q: queue.SimpleQueue = queue.SimpleQueue()
        with self._lock:
            self._watchers.setdefault(mission_id, set()).add(q)
        return q

    def unregister(self, mission_id: str, q: queue.SimpleQueue) -> None:
        with self._lock:
            watchers = self._watchers.get(mission_id)
            if watchers is not None:
                watchers.discard(q)
                if not watchers:
                    del self._watchers[mission_id]

    def on_live(self, subject: str, payload) -> None:
        """SyncNats callback (NATS thread) — and the web process's own writes: keep it short."""
        mission_id = subject.rsplit(".", 1)[-1]
        with self._lock:
            watchers = list(self._watchers.get(mission_id, ()))
        rows = [r for r in (payload or {}).get("rows") or [] if isinstance(r, dict) and isinstance(r.get("seq"), int)]
        for q in watchers:
            q.put(rows)

    def publisher(self, bus):
        """`announce` for the web process's Journal: this process's streams at once, the others over NATS."""
        def announce(subject: str, payload: dict) -> None:
            self.on_live(subject, payload)
            bus.publish(subject, payload)
        return announce


def _frame(row: dict) -> str:
    body = StepOut().dump(row)
    return f"id: {row['seq']}\nevent: {row['type']}\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"


def parse_last_event_id(value: str | None) -> int:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) <= 12 else 0


def is_terminal(row: dict) -> bool:
    return row["type"] == "status" and (row.get("data") or {}).get("status") in TERMINAL


def event_stream(*, steps: StepStore, hub: LiveHub, mission_id: str, last_seq: int, poll_s: float = 3.0,
                 heartbeat_s: float = 15.0, max_age_s: float = 3600.0, exists=None):
    """The generator behind the SSE response (holds one web thread while open). `exists()` says whether the
    mission is still there (its agent or workspace may be deleted meanwhile): a quiet safety poll asks it."""
    wakeups = hub.register(mission_id)
    try:
        cursor = last_seq
        pending: dict[int, dict] = {}
        yield "retry: 2000\n\n"
        started = last_write = time.monotonic()
        next_poll = 0.0
        while time.monotonic() - started < max_age_s:
            polled = time.monotonic() >= next_poll
            if polled:
                fresh = steps.after(mission_id, cursor)
                for row in fresh:
                    pending.setdefault(row["seq"], row)
                next_poll = time.monotonic() + poll_s
                if not fresh and not pending and exists is not None and not exists():
                    return
            out, ended = [], False
            while pending:
                low = min(pending)
                if low <= cursor:
                    pending.pop(low)
                    continue
                if low != cursor + 1 and not (polled and now_ms() - pending[low]["atMs"] > HOLE_GRACE_MS):
                    break   # a hole: wait for its row (a wake-up or the next poll)
                row = pending.pop(low)
                cursor = low
                out.append(_frame(row))
                if is_terminal(row):
                    ended = True
                    break
            if not out and time.monotonic() - last_write >= heartbeat_s:
                out.append(": keep-alive\n\n")
            if out:
                yield "".join(out)
                last_write = time.monotonic()
            if ended:
                return
            timeout = max(0.0, min(next_poll, last_write + heartbeat_s) - time.monotonic())
            try:
                rows = wakeups.get(timeout=timeout)
                while True:
                    for row in rows:
                        if row["seq"] > cursor:
                            pending.setdefault(row["seq"], row)
                    rows = wakeups.get_nowait()
            except queue.Empty:
                pass
            if pending and min(pending) != cursor + 1:
                next_poll = min(next_poll, time.monotonic() + 0.2)   # a hole: look at the log soon
    finally:
        hub.unregister(mission_id, wakeups)
