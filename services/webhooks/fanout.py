"""An event from the bus becomes one delivery per enabled endpoint of its workspace subscribed to
its type (one insert). A delivery's id is derived from (event id, endpoint id): an event the bus
hands over twice, or to two workers, still makes one delivery per endpoint.

A workspace's enabled endpoints are kept in memory: every change of an endpoint is announced on
ENDPOINTS_CHANGED (libs/common/announced.py), so an event costs no read while this worker heard
them all, and one indexed query otherwise or ENDPOINTS_RECHECK_S after the last."""
from __future__ import annotations

import logging

from libs.common.announced import MISSING, AnnouncedCache, announce
from libs.common.mongo import iso, now

from .catalog import BY_SUBJECT
from .delivery import body_of
from .storage import Stores, derived_id

log = logging.getLogger(__name__)
ENDPOINTS_CHANGED = "webhooks.endpoints.changed"
ENDPOINTS_RECHECK_S = 10.0
CACHED_WORKSPACES = 5000


def announce_endpoint_changes(stores: Stores, bus) -> None:
    """A process that writes endpoints tells every worker."""
    stores.endpoints.on_change.append(lambda workspace_id: announce(bus, ENDPOINTS_CHANGED, workspace_id))


def payload_data(envelope: dict) -> dict:
    """The envelope's data, with who did it and in which project when it does not say."""
    data = dict(envelope.get("data") or {})
    data.setdefault("actor", envelope.get("actor"))
    if envelope.get("projectId"):
        data.setdefault("projectId", envelope["projectId"])
    return data


def new_delivery(*, endpoint: dict, event_id: str, event_type: str, body: str, stamp=None) -> dict:
    created = stamp or now()
    return {"_id": derived_id(event_id, endpoint["id"]), "endpointId": endpoint["id"],
            "orgId": endpoint.get("orgId"), "workspaceId": endpoint["workspaceId"], "eventId": event_id,
            "eventType": event_type, "body": body, "status": "pending", "attempts": [], "tries": 0,
            "nextMs": int(created.timestamp() * 1000), "dueMs": int(created.timestamp() * 1000),
            "leaseUntil": 0, "leaseToken": None, "createdAt": created,
            "createdAtMs": int(created.timestamp() * 1000)}


class Fanout:
    def __init__(self, *, stores: Stores, on_new=None, bus=None):
        self.stores = stores
        self.on_new = on_new or (lambda count: None)
        self._endpoints = None
        if bus is not None:
            self._endpoints = AnnouncedCache(bus, ENDPOINTS_CHANGED, recheck_s=ENDPOINTS_RECHECK_S,
                                             max_keys=CACHED_WORKSPACES)
            stores.endpoints.on_change.append(   # this process's own changes, at once
                lambda key: self._endpoints.forget(key) if key else self._endpoints.clear())
            announce_endpoint_changes(stores, bus)

    def endpoints_of(self, workspace_id: str) -> list[dict]:
        if self._endpoints is None:
            return self.stores.endpoints.enabled_in(workspace_id)
        rows = self._endpoints.get(workspace_id)
        if rows is MISSING:
            ticket = self._endpoints.ticket()
            rows = self.stores.endpoints.enabled_in(workspace_id)
            self._endpoints.put(workspace_id, rows, ticket)
        return rows

    def handle(self, envelope: dict) -> int:
        """Deliveries created for this event (0 when no endpoint wants it)."""
        kind = BY_SUBJECT.get(envelope.get("type"))
        workspace_id = envelope.get("workspaceId")
        if kind is None or not workspace_id or not envelope.get("id"):
            return 0
        endpoints = [e for e in self.endpoints_of(workspace_id) if kind in (e.get("events") or [])]
        if not endpoints:
            return 0
        stamp = now()
        body = body_of(event_id=envelope["id"], event_type=kind,
                       timestamp=envelope.get("occurredAt") or iso(stamp), workspace_id=workspace_id,
                       data=payload_data(envelope))
        docs = [new_delivery(endpoint=e, event_id=envelope["id"], event_type=kind, body=body, stamp=stamp)
                for e in endpoints]
        created = self.stores.deliveries.insert_many(docs)
        if created:
            self.on_new(len(created))
        return len(created)
