"""The worker's dispatcher: claims due deliveries and sends them on a bounded pool of senders.

One thread claims (storage.claim_batch: the due deliveries leased in one update_many that only takes
rows still due, so a row goes to one dispatcher), a pool of WEBHOOKS_SENDERS threads sends. At most WEBHOOKS_PER_ENDPOINT_CONCURRENCY attempts of one
endpoint are in flight per process: the claim leaves out the endpoints at their share, so a slow
receiver holds its own senders and never delays the other endpoints' deliveries.
It never polls tightly: when nothing is claimable it sleeps until the earliest due time (one indexed
query), backing off from 1 s up to WEBHOOKS_DISPATCH_MAX_SLEEP while nothing waits at all, and is
woken at once by `wake()` — new deliveries made in this process, a `live.webhooks.due` core message
from another one, an attempt finishing. A worker killed mid-attempt leaves its leases to expire;
the deliveries are then claimed by another dispatcher (the attempt counts once: it was never settled).
"""
from __future__ import annotations

import collections
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from libs.common.mongo import now_ms

from .delivery import Deliverer
from .storage import Stores

log = logging.getLogger(__name__)
IDLE_START_S = 1.0


class Dispatcher:
    def __init__(self, *, stores: Stores, deliverer: Deliverer, settings):
        self.stores = stores
        self.deliverer = deliverer
        self.settings = settings
        self.senders = max(1, settings.senders)
        self.per_endpoint = max(1, settings.per_endpoint)
        self._inflight: collections.Counter = collections.Counter()
        self._total = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self.stats = {"attempts": 0, "succeeded": 0}

    # ---------------------------------------------------------------- control
    def start(self) -> "Dispatcher":
        self._pool = ThreadPoolExecutor(self.senders, thread_name_prefix="webhooks-sender")
        self._thread = threading.Thread(target=self._loop, name="webhooks-dispatcher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def wake(self, *_args) -> None:
        self._wake.set()

    # ---------------------------------------------------------------- the loop
    def _busy(self) -> list[str]:
        with self._lock:
            return [e for e, n in self._inflight.items() if n >= self.per_endpoint]

    def claim_all(self) -> int:
        """Claim and hand to the senders everything due now, within the pool's and endpoints' shares
        (a few commands per batch: find, update_many, read back, the batch's endpoints)."""
        claimed = 0
        while not self._stop.is_set():
            with self._lock:
                room = self.senders - self._total
                inflight = dict(self._inflight)
            if room <= 0:
                return claimed
            batch = self.stores.deliveries.claim_batch(lease_ms=self.deliverer.lease_ms, busy=self._busy(),
                                                       room=room, per_endpoint=inflight, share=self.per_endpoint)
            if not batch:
                return claimed
            endpoints = self.stores.endpoints.by_ids({d["endpointId"] for d, _ in batch})
            for delivery, token in batch:
                with self._lock:
                    self._inflight[delivery["endpointId"]] += 1
                    self._total += 1
                claimed += 1
                self._pool.submit(self._send, delivery, token, endpoints.get(delivery["endpointId"]))
        return claimed

    def _send(self, delivery: dict, token: str, endpoint: dict | None) -> None:
        try:
            settled = self.deliverer.attempt(delivery, token, endpoint=endpoint)
            self.stats["attempts"] += 1
            if settled["status"] == "succeeded":
                self.stats["succeeded"] += 1
        except Exception:  # noqa: BLE001 - database gone mid-attempt: the lease brings it back
            log.exception("webhook delivery %s: attempt failed", delivery["id"])
        finally:
            with self._lock:
                self._inflight[delivery["endpointId"]] -= 1
                if self._inflight[delivery["endpointId"]] <= 0:
                    del self._inflight[delivery["endpointId"]]
                self._total -= 1
            self._wake.set()

    def _sleep_for(self, idle: float) -> tuple[float, float]:
        """(how long to sleep, the next idle back-off)."""
        with self._lock:
            full = self._total >= self.senders
        if full:
            return self.settings.dispatch_max_sleep, IDLE_START_S   # an attempt finishing wakes us
        due = self.stores.deliveries.next_due_ms()
        if due is None:
            return idle, min(idle * 2, self.settings.dispatch_max_sleep)
        wait = (due - now_ms()) / 1000
        if wait <= 0:
            # Due, yet not claimable: its endpoint is at its share here; a finishing attempt wakes us
            # (the cap only covers a claim lost to another worker's race).
            return (IDLE_START_S if self._busy() else 0.05), IDLE_START_S
        return min(wait, self.settings.dispatch_max_sleep), IDLE_START_S

    def _loop(self) -> None:
        idle = IDLE_START_S
        while not self._stop.is_set():
            try:
                self.claim_all()
                sleep, idle = self._sleep_for(idle)
            except Exception:  # noqa: BLE001 - database down and the like: try again a little later
                log.exception("webhooks dispatcher: pass failed")
                sleep = 2.0
            if self._wake.wait(sleep):
                idle = IDLE_START_S
            self._wake.clear()
