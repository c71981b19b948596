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
`live.agents.missions.<missionId>`, each web process hands them to the streams of that mission, and one
safety poll per web process (AGENTS_STREAM_POLL_MS, while a stream is open) reads the highest seq of every
mission streamed here and which of them still exist — two queries whatever the number of streams: a stream
behind it reads the log (what a lost wake-up missed), a stream of a deleted mission ends. Steps are sent
in seq order: a hole (a seq taken by a writer that has not inserted yet) is read again shortly, then
skipped if older than 2 s.

A stream is a coroutine (served by libs/common/asyncweb.py on the web process's event loop): an open
stream waiting for its next step holds no thread; its reads of the log run on the process's request pool.
"""
from __future__ import annotations

import asyncio
import json
import time

from libs.common.asyncweb import Fanout, run_blocking
from libs.common.schemas import schema

from .journal import LIVE_SUBJECT
from .schemas import StepOut
from .storage import TERMINAL, MissionStore, StepStore, now_ms

HOLE_GRACE_MS = 2000
HOLE_RETRY_S = 0.2


class LiveHub:
    """Per-process registry of open mission streams, fed by the NATS wake-ups (a list of rows) and by
    one safety poll every `poll_s` seconds while a stream is open ((highest seq, mission exists))."""

    def __init__(self, steps: StepStore | None = None, missions: MissionStore | None = None, poll_s: float = 3.0):
        self.steps, self.missions = steps, missions
        self.fanout = Fanout(poll=self._poll if steps is not None else None, poll_s=poll_s, name="agents-stream-poll")

    def register(self, mission_id: str) -> asyncio.Queue:
        return self.fanout.register(mission_id)

    def unregister(self, mission_id: str, queue: asyncio.Queue) -> None:
        self.fanout.unregister(mission_id, queue)

    def on_live(self, subject: str, payload) -> None:
        """SyncNats callback (NATS thread) — and the web process's own writes: keep it short."""
        mission_id = subject.rsplit(".", 1)[-1]
        rows = [r for r in (payload or {}).get("rows") or [] if isinstance(r, dict) and isinstance(r.get("seq"), int)]
        self.fanout.put(mission_id, rows)

    def publisher(self, bus):
        """`announce` for the web process's Journal: this process's streams at once, the others over NATS."""
        def announce(subject: str, payload: dict) -> None:
            self.on_live(subject, payload)
            bus.publish(subject, payload)
        return announce

    def _poll(self, mission_ids: list[str]) -> dict:
        latest = self.steps.latest_seqs(mission_ids)
        alive = self.missions.existing(mission_ids) if self.missions is not None else set(mission_ids)
        return {m: (latest.get(m, 0), m in alive) for m in mission_ids}

    @property
    def open_streams(self) -> int:
        return self.fanout.open_streams


def _frame(row: dict) -> str:
    body = schema(StepOut).dump(row)
    return f"id: {row['seq']}\nevent: {row['type']}\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"


def parse_last_event_id(value: str | None) -> int:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) <= 12 else 0


def is_terminal(row: dict) -> bool:
    return row["type"] == "status" and (row.get("data") or {}).get("status") in TERMINAL


async def event_stream(*, steps: StepStore, hub: LiveHub, mission_id: str, last_seq: int,
                       heartbeat_s: float = 15.0, max_age_s: float = 3600.0):
    """The frames of one SSE response (an async generator: served as libs/common/asyncweb.AsyncBody)."""
    wakeups = hub.register(mission_id)
    try:
        cursor = last_seq
        pending: dict[int, dict] = {}
        yield "retry: 2000\n\n"
        started = last_write = time.monotonic()
        read_log, gone = True, False      # read the log at once (the opening), then when told to
        while time.monotonic() - started < max_age_s:
            polled = read_log
            if read_log:
                fresh = await run_blocking(steps.after, mission_id, cursor)
                for row in fresh:
                    pending.setdefault(row["seq"], row)
                read_log = False
                if gone and not fresh and not pending:
                    return        # its mission (its agent, its workspace) was deleted
            out, ended = [], False
            while pending:
                low = min(pending)
                if low <= cursor:
                    pending.pop(low)
                    continue
                if low != cursor + 1 and not (polled and now_ms() - pending[low]["atMs"] > HOLE_GRACE_MS):
                    break   # a hole: wait for its row (a wake-up, or the log read again shortly)
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
            hole = bool(pending) and min(pending) != cursor + 1
            timeout = max(0.0, min(last_write + heartbeat_s, started + max_age_s) - time.monotonic())
            try:
                item = await asyncio.wait_for(wakeups.get(), HOLE_RETRY_S if hole else timeout)
                while True:
                    if isinstance(item, tuple):         # the safety poll: (highest seq, mission exists)
                        latest, alive = item
                        read_log = read_log or latest > cursor or not alive
                        gone = gone or not alive
                    else:
                        for row in item:
                            if row["seq"] > cursor:
                                pending.setdefault(row["seq"], row)
                    item = wakeups.get_nowait()
            except asyncio.TimeoutError:
                read_log = read_log or hole
            except asyncio.QueueEmpty:
                pass
    finally:
        hub.unregister(mission_id, wakeups)
