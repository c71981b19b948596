"""Helpers for the notifications tests: publish real envelopes to JetStream, read the SSE stream."""
from __future__ import annotations

import asyncio
import json
import queue
import threading
import time

import nats
import requests

from libs.common.bus import dumps, ensure_stream, event, stream_for
from libs.common.mongo import new_id
from services.notifications.service import ACTIVITY_SUBJECTS
from tests.support import wait_until


def activity(subject: str, *, actor: str | None, members: list[str], org_id: str | None = None,
             workspace_id: str | None = None, project: dict | None = None, card=...,
             **data) -> dict:
    """A boards activity envelope as docs/CONTRACTS.md describes it."""
    project = project or {"id": new_id(), "name": "Website"}
    card = card if card is not ... else {"id": new_id(), "title": "Login page", "columnId": new_id()}
    body = {"activity": ACTIVITY_SUBJECTS[subject],
            "project": project, "projectMemberIds": members, "card": card} | data
    envelope = event(subject, body, actor={"userId": actor, "via": "user"}, org_id=org_id or new_id(),
                     workspace_id=workspace_id or new_id(), project_id=project["id"])
    return envelope


def moved(actor: str, members: list[str], **kw) -> dict:
    kw.setdefault("meta", {"fromColumn": "To Do", "toColumn": "In Progress",
                           "fromColumnId": new_id(), "toColumnId": new_id()})
    return activity("boards.card.moved", actor=actor, members=members, **kw)


class Publisher:
    """A JetStream publisher on its own loop thread (tests are synchronous)."""

    def __init__(self, url: str):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        async def quiet(exc):  # reconnect noise while a test stops NATS
            pass

        self.nc = self._run(nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.2, error_cb=quiet))
        self.js = self.nc.jetstream()
        self._streams: set[str] = set()

    def _run(self, coro, timeout: float = 20):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def publish(self, subject: str, payload, *, msg_id: str | None = None, headers: dict | None = None) -> None:
        """`payload`: an envelope (dict; `Nats-Msg-Id` = its id unless `msg_id`) or raw bytes."""
        stream = stream_for(subject)
        if stream not in self._streams:
            self._run(ensure_stream(self.js, stream))
            self._streams.add(stream)
        data = payload if isinstance(payload, bytes) else dumps(payload)
        hdrs = dict(headers or {})
        msg_id = msg_id or (payload.get("id") if isinstance(payload, dict) else None)
        if msg_id:
            hdrs["Nats-Msg-Id"] = msg_id
        self._run(self.js.publish(subject, data, headers=hdrs or None, timeout=5))

    def consumer_info(self, stream: str, durable: str):
        return self._run(self.js.consumer_info(stream, durable))

    def subscribe(self, subject: str) -> "queue.Queue":
        """Core subscription; messages land in the returned queue as nats Msg objects."""
        out: queue.Queue = queue.Queue()

        async def cb(msg):
            out.put(msg)

        self._run(self.nc.subscribe(subject, cb=cb))
        self._run(self.nc.flush())
        return out

    def close(self) -> None:
        try:
            self._run(self.nc.close(), timeout=5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)


def notifications(client, **params) -> list[dict]:
    r = client.get("/notifications", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def wait_notifications(client, n: int, timeout: float = 15.0, **params) -> list[dict]:
    """Wait until the client has at least `n` notifications; returns them (newest first)."""
    return wait_until(lambda: (lambda rows: rows if len(rows) >= n else None)(notifications(client, limit=200, **params)),
                      timeout=timeout, message=f"{n} notifications")


def count(client) -> int:
    r = client.get("/notifications/count")
    assert r.status_code == 200, r.text
    return r.json()["count"]


class SSE:
    """Reads `GET /notifications/stream` through the gateway on a thread; events go to a queue
    as dicts {event, id, data} (comments as {"comment": text})."""

    def __init__(self, client, last_event_id: str | None = None):
        headers = client.headers({"Accept": "text/event-stream"})
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.response = requests.get(client.base + "/notifications/stream", headers=headers, stream=True,
                                     timeout=(5, 60))
        self.events: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        current: dict = {}
        try:
            for raw in self.response.iter_lines(chunk_size=1, decode_unicode=True):
                line = raw if raw is not None else ""
                if line == "":
                    if current:
                        if "data" in current:
                            current["data"] = json.loads(current["data"])
                        self.events.put(current)
                    current = {}
                elif line.startswith(":"):
                    self.events.put({"comment": line[1:].strip(), "at": time.monotonic()})
                else:
                    field, _, value = line.partition(":")
                    current[field] = value[1:] if value.startswith(" ") else value
        except Exception:  # noqa: BLE001 - closed by the test
            pass

    def next(self, event: str | None = None, timeout: float = 10.0, where=None) -> dict:
        """The next event of that type (others are skipped), within the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {event or 'event'} on the stream within {timeout}s")
            try:
                item = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            if event is not None and item.get("event") != event and not (event == "comment" and "comment" in item):
                continue
            if where is not None and not where(item):
                continue
            return item

    def close(self) -> None:
        self.response.close()
