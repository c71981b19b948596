"""Webhook endpoints as the API shows them: CRUD, rotate-secret, ping, the delivery log, redeliver
(API.md §6). Workspace admins only (403 for members); PAT scopes are the gateway's. Every lookup is
scoped by (workspaceId, id): an id from another workspace or org is a 404, like a malformed one.
The secret is returned by create and rotate-secret only. `ping` and `redeliver` make their attempt in
this request, under the same lease as the workers' attempts (delivery.py), and answer the delivery
with it.
"""
from __future__ import annotations

from libs.common.context import Caller, require_ws_admin
from libs.common.errors import Conflict, NotFound
from libs.common.mongo import from_ms, is_id, iso, new_id, now, now_ms
from libs.common.paging import decode_cursor, encode_cursor

from . import signing
from .delivery import PING, Deliverer, body_of, render_delivery
from .fanout import new_delivery
from .storage import Stores
from .targets import check_url

ADMIN_ONLY = "Workspace admin role required to manage webhooks"


def render_endpoint(e: dict) -> dict:
    current = next((s for s in e.get("secrets") or [] if not s.get("expiresAtMs")), None)
    return {"id": e["id"], "url": e["url"], "events": list(e.get("events") or []),
            "description": e.get("description"), "enabled": bool(e.get("enabled")),
            "disabledReason": e.get("disabledReason"),
            "secretRotatedAt": iso(from_ms(current["createdAtMs"])) if current and current.get("rotated") else None,
            "createdBy": e.get("createdBy"), "createdAt": iso(e["createdAt"]),
            "updatedAt": iso(e.get("updatedAt") or e["createdAt"])}


class WebhooksService:
    def __init__(self, *, stores: Stores, deliverer: Deliverer, settings):
        self.stores = stores
        self.endpoints = stores.endpoints
        self.deliverer = deliverer
        self.settings = settings

    def _check_url(self, url: str) -> None:
        check_url(url, allow_private=self.settings.allow_private_targets)

    def get_or_raise(self, caller: Caller, endpoint_id: str) -> dict:
        require_ws_admin(caller, ADMIN_ONLY)
        endpoint = self.endpoints.get(caller.workspace_id, endpoint_id) if is_id(endpoint_id) else None
        if endpoint is None:
            raise NotFound("Webhook not found")
        return endpoint

    # ------------------------------------------------------------------ CRUD
    def create(self, *, caller: Caller, data: dict) -> dict:
        require_ws_admin(caller, ADMIN_ONLY)
        self._check_url(data["url"])
        if self.endpoints.count(caller.workspace_id) >= self.settings.max_endpoints:
            raise Conflict(f"A workspace holds at most {self.settings.max_endpoints} webhooks")
        stamp = now()
        secret = signing.new_secret()
        doc = {"_id": new_id(), "orgId": caller.org_id, "workspaceId": caller.workspace_id, "url": data["url"],
               "events": list(data["events"]), "description": data.get("description"),
               "enabled": bool(data["enabled"]), "disabledReason": None, "failedRun": 0,
               "secrets": [{"secret": secret, "createdAtMs": now_ms(), "expiresAtMs": None}],
               "createdBy": caller.user_id, "createdAt": stamp, "updatedAt": stamp}
        return render_endpoint(self.endpoints.insert(doc)) | {"secret": secret}

    def list(self, *, caller: Caller) -> list[dict]:
        require_ws_admin(caller, ADMIN_ONLY)
        return [render_endpoint(e) for e in self.endpoints.list(caller.workspace_id)]

    def get(self, *, caller: Caller, endpoint_id: str) -> dict:
        return render_endpoint(self.get_or_raise(caller, endpoint_id))

    def update(self, *, caller: Caller, endpoint_id: str, data: dict) -> dict:
        endpoint = self.get_or_raise(caller, endpoint_id)
        if not data:
            return render_endpoint(endpoint)
        values = {k: data[k] for k in ("url", "events", "description") if k in data}
        if "url" in values:
            self._check_url(values["url"])
        if "events" in values:
            values["events"] = list(values["events"])
        if "enabled" in data:
            # Enabling (again) clears why it was disabled and its run of failed deliveries.
            values.update({"enabled": True, "disabledReason": None, "failedRun": 0} if data["enabled"]
                          else {"enabled": False})
        updated = self.endpoints.update(caller.workspace_id, endpoint["id"], values)
        if updated is None:
            raise NotFound("Webhook not found")
        return render_endpoint(updated)

    def delete(self, *, caller: Caller, endpoint_id: str) -> dict:
        endpoint = self.get_or_raise(caller, endpoint_id)
        if self.endpoints.delete(caller.workspace_id, endpoint["id"]):
            self.stores.deliveries.delete_for_endpoint(endpoint["id"])
        return {"ok": True}

    def rotate(self, *, caller: Caller, endpoint_id: str) -> dict:
        endpoint = self.get_or_raise(caller, endpoint_id)
        secret, stored = signing.rotated(endpoint.get("secrets") or [], at_ms=now_ms())
        stored[0]["rotated"] = True
        if self.endpoints.update(caller.workspace_id, endpoint["id"], {"secrets": stored}) is None:
            raise NotFound("Webhook not found")
        return {"secret": secret}

    # ------------------------------------------------------------------ deliveries
    def ping(self, *, caller: Caller, endpoint_id: str) -> dict:
        endpoint = self.get_or_raise(caller, endpoint_id)
        event_id, stamp = new_id(), now()
        body = body_of(event_id=event_id, event_type=PING, timestamp=iso(stamp), workspace_id=caller.workspace_id,
                       data={"webhookId": endpoint["id"], "url": endpoint["url"], "actor": caller.actor()})
        doc = new_delivery(endpoint=endpoint, event_id=event_id, event_type=PING, body=body, stamp=stamp)
        doc["nextMs"] = None   # one attempt, now: a ping has no schedule
        delivery, token = self.stores.deliveries.insert_leased(doc, lease_ms=self.deliverer.lease_ms)
        return render_delivery(self.deliverer.attempt(delivery, token, manual=True))

    def deliveries(self, *, caller: Caller, endpoint_id: str, limit: int,
                   cursor: str | None) -> tuple[list[dict], str | None]:
        endpoint = self.get_or_raise(caller, endpoint_id)
        after = decode_cursor(cursor, int, str)
        rows = self.stores.deliveries.page(endpoint["id"], limit=limit + 1, after=after)
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_cursor(rows[-1]["createdAtMs"], rows[-1]["id"])
        return [render_delivery(d) for d in rows], next_cursor

    def redeliver(self, *, caller: Caller, endpoint_id: str, delivery_id: str) -> dict:
        endpoint = self.get_or_raise(caller, endpoint_id)
        if not is_id(delivery_id) or self.stores.deliveries.get(caller.workspace_id, endpoint["id"],
                                                                delivery_id) is None:
            raise NotFound("Delivery not found")
        claimed = self.stores.deliveries.claim_now(caller.workspace_id, endpoint["id"], delivery_id,
                                                   lease_ms=self.deliverer.lease_ms)
        if claimed is None:
            raise Conflict("An attempt of this delivery is in progress")
        delivery, token = claimed
        return render_delivery(self.deliverer.attempt(delivery, token, manual=True))
