"""One attempt of one delivery, wherever it runs (a worker's dispatcher, or the web process for
`ping` and `redeliver`): sign, send, record, schedule the next attempt or settle (API.md §6).

    2xx            -> succeeded (the endpoint's run of failed deliveries resets)
    410            -> failed, and the endpoint is disabled at once
    anything else  -> retrying after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 24 h (±10 % jitter; a longer
    or no answer      Retry-After wins, up to 24 h), then failed; WEBHOOKS_MAX_FAILED_RUN (20) deliveries
                      in a row failed disable the endpoint (`disabledReason`)
A manual attempt (ping, redeliver) is one attempt: it does not move the schedule of a delivery that
is retrying, and a ping that fails is failed at once. Every attempt is made under a lease taken
atomically (storage.py): one attempt, one sender, however many processes run.
"""
from __future__ import annotations

import json
import logging
import random

from libs.common.mongo import from_ms, iso, now, now_ms

from . import signing
from .storage import Stores

log = logging.getLogger(__name__)
SCHEDULE_S = (5, 300, 1800, 7200, 18000, 36000, 86400)
JITTER = 0.10
MAX_RETRY_AFTER_S = 86400
PING = "ping"


def body_of(*, event_id: str, event_type: str, timestamp: str, workspace_id: str, data: dict) -> str:
    """The exact JSON text a delivery sends (stored, so every attempt signs the same bytes)."""
    return json.dumps({"id": event_id, "type": event_type, "timestamp": timestamp, "workspaceId": workspace_id,
                       "data": data}, separators=(",", ":"), default=str)


def render_delivery(d: dict) -> dict:
    return {"id": d["id"], "webhookId": d["endpointId"], "eventId": d["eventId"], "eventType": d["eventType"],
            "status": d["status"], "attempts": [dict(a) for a in d.get("attempts") or []],
            "nextAttemptAt": iso(from_ms(d.get("nextMs"))) if d.get("nextMs") else None,
            "createdAt": iso(d["createdAt"])}


class Deliverer:
    def __init__(self, *, stores: Stores, sender, settings, schedule=SCHEDULE_S, rng=random.random):
        self.stores = stores
        self.sender = sender
        self.settings = settings
        self.schedule = tuple(schedule)
        self.rng = rng
        self.lease_ms = int((settings.timeout_s + 20) * 1000)

    def delay_ms(self, tries: int, retry_after_s: float | None) -> int | None:
        """When to try again after the `tries`-th scheduled attempt failed; None = no more tries."""
        if tries > len(self.schedule):
            return None
        delay = self.schedule[tries - 1] * (1 + JITTER * (2 * self.rng() - 1))
        if retry_after_s is not None:
            delay = max(delay, min(float(retry_after_s), MAX_RETRY_AFTER_S))
        return int(delay * 1000)

    def attempt(self, delivery: dict, token: str, *, manual: bool = False, endpoint: dict | None = None) -> dict:
        """Make one attempt of a delivery claimed with `token` (its endpoint as read at the claim, or
        read now); returns the delivery as settled."""
        if endpoint is None:
            endpoint = self.stores.endpoints.by_id(delivery["endpointId"])
        # A ping is one attempt wherever it is made (a worker takes it over if the web process that
        # sent it died before recording it).
        manual = manual or delivery.get("eventType") == PING
        attempts = list(delivery.get("attempts") or [])
        tries = int(delivery.get("tries") or 0)
        waiting_ms = delivery.get("nextMs") if delivery.get("status") in ("pending", "retrying") else None
        started = now()
        if endpoint is None:
            # recorded by a fan-out that read the endpoint just before it was deleted (with its
            # deliveries): nothing lists it any more, nor would prune it
            self.stores.deliveries.delete_leased(delivery["id"], token)
            return dict(delivery, status="failed", nextMs=None)
        if not endpoint["enabled"] and not manual:
            attempts.append({"at": iso(started), "statusCode": None, "durationMs": 0, "error": "endpoint disabled"})
            return self._settle(delivery, token, status="failed", attempts=attempts, tries=tries, next_ms=None)
        headers = signing.headers(msg_id=delivery["eventId"], body=delivery["body"],
                                  secrets_=signing.valid_secrets(endpoint.get("secrets"), now_ms()),
                                  timestamp=started)
        outcome = self.sender.post(endpoint["url"], body=delivery["body"].encode(), headers=headers)
        attempts.append({"at": iso(started), "statusCode": outcome.status, "durationMs": outcome.duration_ms,
                         "error": outcome.error})
        if outcome.ok:
            if endpoint.get("failedRun"):
                self.stores.endpoints.record_success(endpoint["id"])
            return self._settle(delivery, token, status="succeeded", attempts=attempts, tries=tries, next_ms=None)
        if outcome.status == 410:
            if self.stores.endpoints.disable(endpoint["id"], "the endpoint answered 410 Gone"):
                log.warning("webhook %s disabled: it answered 410 Gone", endpoint["id"])
            return self._settle(delivery, token, status="failed", attempts=attempts, tries=tries, next_ms=None)
        if manual:
            if waiting_ms is not None:   # a retrying delivery keeps its schedule
                return self._settle(delivery, token, status=delivery["status"], attempts=attempts, tries=tries,
                                    next_ms=int(waiting_ms))
            return self._settle(delivery, token, status="failed", attempts=attempts, tries=tries, next_ms=None)
        tries += 1
        delay = self.delay_ms(tries, outcome.retry_after_s)
        if delay is not None:
            return self._settle(delivery, token, status="retrying", attempts=attempts, tries=tries,
                                next_ms=now_ms() + delay)
        settled = self._settle(delivery, token, status="failed", attempts=attempts, tries=tries, next_ms=None)
        self._count_failed(endpoint)
        return settled

    def _count_failed(self, endpoint: dict) -> None:
        run = self.stores.endpoints.record_failed_delivery(endpoint["id"])
        limit = self.settings.max_failed_run
        if run >= limit:
            reason = f"disabled after {limit} deliveries in a row failed"
            if self.stores.endpoints.disable(endpoint["id"], reason):
                log.warning("webhook %s %s", endpoint["id"], reason)

    def _settle(self, delivery: dict, token: str, *, status: str, attempts: list, tries: int,
                next_ms: int | None) -> dict:
        if not self.stores.deliveries.settle(delivery["id"], token, status=status, attempts=attempts, tries=tries,
                                             next_ms=next_ms):
            log.warning("webhook delivery %s: lease lost before its attempt was recorded", delivery["id"])
        return dict(delivery, status=status, attempts=attempts, tries=tries, nextMs=next_ms)

