"""Values a worker keeps in memory per key and re-reads rarely, because whoever changes one says so.

A consumer that needs, for every event, something that almost never changes (automations: a
project's rules; webhooks: a workspace's endpoints) would otherwise read it from the database once
per event. Instead every writer of that data calls `announce(bus, subject, key)` after its write: a
core NATS message every process of the service hears, and the `AnnouncedCache` behind `subject`
drops that key. An entry is trusted without a read only:
  - while this process's bus is connected with its subscription live (an announcement sent while it
    was away is lost: every (re)connection starts a new generation and older entries are re-read);
  - for `recheck_s` at most since it was read (the backstop for an announcement lost in transit,
    e.g. published by a writer whose own connection was down).
Otherwise `get` reports a miss and the caller reads (and `put`s) as it would without a cache.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Hashable

MISSING = object()


def announce(bus, subject: str, key: Hashable) -> None:
    """Tell every process of the service that `key` changed (best effort, see the module's doc)."""
    bus.publish(subject, {"key": key})


class AnnouncedCache:
    """`ticket = cache.ticket()`, read, `cache.put(key, value, ticket)`: a value read while an
    announcement (or a reconnection) came in is kept for `peek` but not trusted by `get`."""

    def __init__(self, bus, subject: str, *, recheck_s: float, max_keys: int = 2000):
        self.subject = subject
        self.recheck_s = recheck_s
        self.max_keys = max_keys
        self._bus = bus
        self._entries: dict[Hashable, tuple[bool, float, Any]] = {}   # key -> (trusted, read at, value)
        self._seq = 0          # +1 on every invalidation: a read that straddles one is not trusted
        self._live = False     # the subscription is in place on the current connection
        self._lock = threading.Lock()
        self.stats = {"hits": 0, "misses": 0, "announced": 0}
        bus.on_reconnect.append(self._reconnected)
        bus.subscribe(subject, self._heard)   # in place at once if the bus is connected already
        self._live = bus.connected

    def get(self, key: Hashable, default=MISSING):
        """The value read for `key`, if it may be used without reading again; else `default`."""
        entry = self._entries.get(key)
        if (entry is not None and entry[0] and self._live and self._bus.connected
                and time.monotonic() - entry[1] < self.recheck_s):
            self.stats["hits"] += 1
            return entry[2]
        self.stats["misses"] += 1
        return default

    def peek(self, key: Hashable, default=None):
        """The last value read for `key`, trusted or not, however old (to compare with a version)."""
        entry = self._entries.get(key)
        return default if entry is None else entry[2]

    def ticket(self) -> int:
        """Take one before reading what `put` will keep."""
        return self._seq

    def put(self, key: Hashable, value: Any, ticket: int) -> None:
        with self._lock:
            if key not in self._entries and len(self._entries) >= self.max_keys:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = (ticket == self._seq, time.monotonic(), value)

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._seq += 1
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._seq += 1
            self._entries.clear()

    def _reconnected(self) -> None:
        """Called once the subscription is in place on a new connection: what was announced while
        there was none is unknown, so everything is read again."""
        self.clear()
        self._live = True

    def _heard(self, _subject: str, payload) -> None:
        self.stats["announced"] += 1
        key = payload.get("key") if isinstance(payload, dict) else None
        if key is None:
            self.clear()
        else:
            self.forget(key)
