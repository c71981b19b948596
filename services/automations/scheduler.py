"""The due-date scheduler: fires `due_date_reached` once per (card, due date), on any number of workers.

Every card with a due date has a row in `due` (kept up to date from boards' events by events.py):
`dueAtMs`, and `nextMs` = when a scheduler should look at it next. A scheduler thread:
  1. claims due rows one at a time with an atomic find_one_and_update that pushes `nextMs` past a
     lease — no two workers fire the same row; a worker that dies mid-fire leaves the row to come back
     when its lease ends;
  2. fires it (evaluates the project's due_date_reached rules on the card as boards has it now, if its
     due date is still that one and it is not archived), then deletes the row unless the due date
     changed meanwhile;
  3. sleeps until the earliest `nextMs` (one indexed query), at most AUTOMATIONS_SCHEDULER_MAX_SLEEP
     seconds, and is woken at once when this process records an earlier due date (`wake()`).
Rows live in MongoDB, so a due date that passed while every worker was down fires when one comes back.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime

from libs.common.errors import ApiError, NotFound

from . import engine
from .storage import Stores, derived_id, now_ms

log = logging.getLogger(__name__)
LEASE_MS = 30_000


def to_ms(value) -> int | None:
    """An ISO date (as boards' events carry it) → epoch ms."""
    if not value:
        return None
    try:
        return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


class Scheduler:
    def __init__(self, *, stores: Stores, executor, bus, settings):
        self.stores = stores
        self.executor = executor
        self.bus = bus
        self.settings = settings
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_ms: int | None = None

    # ---------------------------------------------------------------- control
    def start(self) -> "Scheduler":
        self._thread = threading.Thread(target=self._loop, name="automations-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def wake(self, due_ms: int | None = None) -> None:
        """A due date was recorded: look again now if it may be earlier than what we sleep towards."""
        if due_ms is None or self._next_ms is None or due_ms < self._next_ms:
            self._wake.set()

    # ---------------------------------------------------------------- the loop
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_due()
                self._next_ms = self.stores.due.next_ms()
                sleep = self.settings.scheduler_max_sleep
                if self._next_ms is not None:
                    sleep = min(sleep, max(0.0, (self._next_ms - now_ms()) / 1000))
            except Exception:  # noqa: BLE001 - database down and the like: try again a little later
                log.exception("automations scheduler: pass failed")
                self._next_ms, sleep = None, 2.0
            self._wake.wait(sleep)
            self._wake.clear()

    def run_due(self) -> int:
        """Fire every row that is due now; returns how many were claimed."""
        claimed = 0
        while not self._stop.is_set():
            row = self.stores.due.claim(worker=self.name, lease_ms=LEASE_MS)
            if row is None:
                return claimed
            claimed += 1
            try:
                self.fire(row)
            except ApiError as err:  # boards not answering: the lease brings the row back later
                log.warning("automations scheduler: card %s not fired yet: %s", row["id"], err.message)
                continue
            self.stores.due.done(row["id"], row["dueAtMs"])
        return claimed

    def fire(self, row: dict) -> None:
        if not any(r["trigger"] == "due_date_reached" for r in self.executor.rules_of(row["projectId"])):
            return
        try:
            card = self.bus.call("boards", "get_card", {"workspaceId": row["workspaceId"], "cardId": row["id"]},
                                 timeout=self.settings.command_timeout)
        except NotFound:
            return
        if card.get("archived") or to_ms(card.get("dueDate")) != row["dueAtMs"]:
            return  # its due date moved (the newer row is scheduled) or it left the board
        envelope = {"id": derived_id("due", row["id"], str(row["dueAtMs"])), "type": engine.DUE,
                    "actor": {"userId": None, "via": "system"}, "orgId": row.get("orgId"),
                    "workspaceId": row["workspaceId"], "projectId": row["projectId"],
                    "data": {"card": card, "project": {"id": row["projectId"], "name": row.get("projectName")},
                             "projectMemberIds": list(row.get("memberIds") or [])}}
        self.executor.handle(envelope, ["due_date_reached"])
