"""The only pymongo code of the webhooks service. Documents in, plain dicts (with `id`) out.

Collections (ids are 24-hex strings; every time a query compares is an epoch-ms integer, because the
embedded stand-in stores a datetime given to `$set` as text):
    endpoints  {_id, orgId, workspaceId, url, events, description, enabled, disabledReason, failedRun,
                secrets: [{secret, createdAtMs, expiresAtMs|None}], createdBy, createdAt, updatedAt}
               indexed by (workspaceId, enabled)
    deliveries {_id: <24 hex of (eventId, endpointId)>, endpointId, orgId, workspaceId, eventId, eventType,
                body (the exact JSON text sent), status, attempts: [{at, statusCode, durationMs, error}],
                tries, nextMs|None, dueMs?, leaseUntil, leaseToken, createdAt, createdAtMs}
               `dueMs` exists while the delivery waits for an attempt: its next attempt time, or, while
               an attempt is in flight, the end of that attempt's lease (a killed worker's attempt comes
               back to the others then); terminal deliveries have none. Indexed by `dueMs` (the
               dispatchers' claim and next-due queries) and (endpointId, createdAtMs) (the log, pruning,
               deletions) only: each index costs every write.
               The derived `_id` makes a redelivered event fan out to each endpoint once.
"""
from __future__ import annotations

import hashlib
import secrets as _secrets

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError

from libs.common.mongo import ensure_collections, now_ms, reader

COLLECTIONS = ("endpoints", "deliveries", "outbox", "processed_events", "dead_letters", "workers")
TERMINAL = ("succeeded", "failed")
MAX_ATTEMPTS_KEPT = 50

_endpoint_out = reader(dates=("createdAt", "updatedAt"), bools=("enabled",))
_delivery_out = reader(dates=("createdAt",))


def derived_id(*parts: str) -> str:
    """A 24-hex id stable across redeliveries and workers."""
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:24]


class EndpointStore:
    def __init__(self, db):
        self.col = db["endpoints"]
        self.on_change: list = []   # fn(workspace_id, or None for "any") after each change: announced

    def changed(self, workspace_id: str | None) -> None:
        for fn in self.on_change:
            fn(workspace_id)

    def ensure_indexes(self) -> None:
        self.col.create_index([("workspaceId", ASCENDING), ("enabled", ASCENDING)])
        self.col.create_index("orgId")

    def insert(self, doc: dict) -> dict:
        self.col.insert_one(doc)
        self.changed(doc["workspaceId"])
        return _endpoint_out(doc)

    def get(self, workspace_id: str, endpoint_id: str) -> dict | None:
        return _endpoint_out(self.col.find_one({"_id": endpoint_id, "workspaceId": workspace_id}))

    def by_id(self, endpoint_id: str) -> dict | None:
        return _endpoint_out(self.col.find_one({"_id": endpoint_id}))

    def by_ids(self, ids) -> dict[str, dict]:
        ids = list(ids)
        return {d["_id"]: _endpoint_out(d) for d in self.col.find({"_id": {"$in": ids}})} if ids else {}

    def list(self, workspace_id: str) -> list[dict]:
        rows = [_endpoint_out(d) for d in self.col.find({"workspaceId": {"$eq": workspace_id}})]
        return sorted(rows, key=lambda r: (r["createdAt"], r["id"]))

    def count(self, workspace_id: str) -> int:
        return len(list(self.col.find({"workspaceId": {"$eq": workspace_id}}, {"_id": 1})))

    def enabled_in(self, workspace_id: str) -> list[dict]:
        """The workspace's enabled endpoints (the fan-out's one indexed query per event)."""
        return [_endpoint_out(d) for d in self.col.find({"workspaceId": {"$eq": workspace_id}, "enabled": True},
                                                        {"secrets": 0})]

    def update(self, workspace_id: str, endpoint_id: str, values: dict) -> dict | None:
        updated = _endpoint_out(self.col.find_one_and_update(
            {"_id": endpoint_id, "workspaceId": workspace_id},
            {"$set": values, "$currentDate": {"updatedAt": True}}, return_document=ReturnDocument.AFTER))
        if updated is not None:
            self.changed(workspace_id)
        return updated

    def delete(self, workspace_id: str, endpoint_id: str) -> bool:
        deleted = self.col.delete_one({"_id": endpoint_id, "workspaceId": workspace_id}).deleted_count == 1
        if deleted:
            self.changed(workspace_id)
        return deleted

    # ---- the senders' side
    def record_success(self, endpoint_id: str) -> None:
        self.col.update_one({"_id": endpoint_id, "failedRun": {"$gt": 0}}, {"$set": {"failedRun": 0}})

    def record_failed_delivery(self, endpoint_id: str) -> int:
        """One more delivery in a row ended `failed`; returns the run's length."""
        doc = self.col.find_one_and_update({"_id": endpoint_id}, {"$inc": {"failedRun": 1}},
                                           projection={"failedRun": 1}, return_document=ReturnDocument.AFTER)
        return int((doc or {}).get("failedRun") or 0)

    def disable(self, endpoint_id: str, reason: str) -> bool:
        """Disable an endpoint that is still enabled; True if this call did it."""
        doc = self.col.find_one_and_update({"_id": endpoint_id, "enabled": True},
                                           {"$set": {"enabled": False, "disabledReason": reason},
                                            "$currentDate": {"updatedAt": True}}, projection={"workspaceId": 1})
        if doc is None:
            return False
        self.changed(doc.get("workspaceId"))
        return True

    def ids_where(self, query: dict) -> list[str]:
        return [d["_id"] for d in self.col.find(query, {"_id": 1})]

    def delete_ids(self, ids: list[str], workspace_id=None) -> int:
        """Delete these endpoints; `workspace_id` when they are all of one (else "any" is announced)."""
        if not ids:
            return 0
        deleted = self.col.delete_many({"_id": {"$in": ids}}).deleted_count
        self.changed(workspace_id if isinstance(workspace_id, str) else None)
        return deleted

    def ids(self) -> list[str]:
        return [d["_id"] for d in self.col.find({}, {"_id": 1})]


class DeliveryStore:
    def __init__(self, db):
        self.col = db["deliveries"]

    def ensure_indexes(self) -> None:
        # Two indexes only: every delivery written costs each of them (tenant deletions and pruning
        # go through the endpoint ids).
        self.col.create_index("dueMs")
        self.col.create_index([("endpointId", ASCENDING), ("createdAtMs", DESCENDING)])
        for name in ("createdAtMs_1", "workspaceId_1", "orgId_1"):   # the first release's, not needed
            if name in self.col.index_information():
                self.col.drop_index(name)

    def insert_many(self, docs: list[dict]) -> list[dict]:
        """Insert, skipping deliveries that exist already (a redelivered event); returns those inserted."""
        if not docs:
            return []
        try:
            self.col.insert_many(docs, ordered=False)
            return docs
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 for e in errors):
                raise
            failed = {e.get("index") for e in errors}
            return [d for i, d in enumerate(docs) if i not in failed]
        except DuplicateKeyError:
            return []

    def insert_leased(self, doc: dict, *, lease_ms: int) -> tuple[dict, str]:
        """A delivery created with its first attempt already claimed by this process (ping)."""
        token = _secrets.token_hex(8)
        until = now_ms() + lease_ms
        doc = dict(doc, dueMs=until, leaseUntil=until, leaseToken=token)
        self.col.insert_one(doc)
        return _delivery_out(doc), token

    def get(self, workspace_id: str, endpoint_id: str, delivery_id: str) -> dict | None:
        return _delivery_out(self.col.find_one({"_id": delivery_id, "workspaceId": workspace_id,
                                                "endpointId": endpoint_id}))

    def page(self, endpoint_id: str, *, limit: int, after: tuple[int, str] | None) -> list[dict]:
        """Newest first; `after` = (createdAtMs, id) of the last delivery of the previous page."""
        query: dict = {"endpointId": {"$eq": endpoint_id}}
        if after is not None:
            ms, last_id = after
            query["$or"] = [{"createdAtMs": {"$lt": ms}}, {"createdAtMs": ms, "_id": {"$lt": last_id}}]
        cursor = self.col.find(query, {"body": 0}).sort([("createdAtMs", DESCENDING), ("_id", DESCENDING)])
        return [_delivery_out(d) for d in cursor.limit(limit)]

    # ---- claiming: one attempt, one sender
    def claim_due(self, *, lease_ms: int, busy: list[str]) -> tuple[dict, str] | None:
        """Atomically take the earliest due delivery of an endpoint not in `busy`: its `dueMs` moves to
        the end of the lease, so no other dispatcher takes it unless this one dies mid-attempt."""
        current = now_ms()
        token = _secrets.token_hex(8)
        query: dict = {"dueMs": {"$lte": current}}
        if busy:
            query["endpointId"] = {"$nin": list(busy)}
        doc = self.col.find_one_and_update(
            query, {"$set": {"dueMs": current + lease_ms, "leaseUntil": current + lease_ms, "leaseToken": token}},
            sort=[("dueMs", ASCENDING)], return_document=ReturnDocument.AFTER)
        return (_delivery_out(doc), token) if doc else None

    def claim_batch(self, *, lease_ms: int, busy: list[str], room: int, per_endpoint: dict[str, int],
                    share: int) -> list[tuple[dict, str]]:
        """Claim up to `room` due deliveries in three commands, earliest first, at most `share` minus
        `per_endpoint[e]` of each endpoint. Atomic per delivery: the update only takes rows still due,
        so a row two dispatchers both picked goes to one of them."""
        current = now_ms()
        query: dict = {"dueMs": {"$lte": current}}
        if busy:
            query["endpointId"] = {"$nin": list(busy)}
        picked, counts = [], dict(per_endpoint)
        for row in self.col.find(query, {"endpointId": 1, "dueMs": 1}).sort("dueMs", ASCENDING).limit(room * 4):
            if counts.get(row["endpointId"], 0) >= share:
                continue
            counts[row["endpointId"]] = counts.get(row["endpointId"], 0) + 1
            picked.append(row["_id"])
            if len(picked) >= room:
                break
        if not picked:
            return []
        token = _secrets.token_hex(8)
        until = current + lease_ms
        self.col.update_many({"_id": {"$in": picked}, "dueMs": {"$lte": current}},
                             {"$set": {"dueMs": until, "leaseUntil": until, "leaseToken": token}})
        rows = self.col.find({"_id": {"$in": picked}, "leaseToken": token})
        return sorted(((_delivery_out(d), token) for d in rows), key=lambda pair: pair[0]["dueMs"])

    def claim_now(self, workspace_id: str, endpoint_id: str, delivery_id: str, *,
                  lease_ms: int) -> tuple[dict, str] | None:
        """Take a delivery for an attempt now (redeliver), unless an attempt of it is in flight."""
        current = now_ms()
        token = _secrets.token_hex(8)
        doc = self.col.find_one_and_update(
            {"_id": delivery_id, "workspaceId": workspace_id, "endpointId": endpoint_id,
             "leaseUntil": {"$lt": current}},
            {"$set": {"dueMs": current + lease_ms, "leaseUntil": current + lease_ms, "leaseToken": token}},
            return_document=ReturnDocument.AFTER)
        return (_delivery_out(doc), token) if doc else None

    def delete_leased(self, delivery_id: str, token: str) -> bool:
        return self.col.delete_one({"_id": delivery_id, "leaseToken": token}).deleted_count == 1

    def settle(self, delivery_id: str, token: str, *, status: str, attempts: list[dict], tries: int,
               next_ms: int | None) -> bool:
        """Record an attempt's outcome under the lease that made it; False if the lease was lost."""
        values = {"status": status, "attempts": attempts[-MAX_ATTEMPTS_KEPT:], "tries": tries, "nextMs": next_ms,
                  "leaseUntil": 0, "leaseToken": None}
        update: dict = {"$set": values}
        if next_ms is None:
            update["$unset"] = {"dueMs": ""}
        else:
            values["dueMs"] = next_ms
        return self.col.update_one({"_id": delivery_id, "leaseToken": token}, update).modified_count == 1

    def next_due_ms(self) -> int | None:
        doc = self.col.find_one({"dueMs": {"$gte": 0}}, {"dueMs": 1}, sort=[("dueMs", ASCENDING)])
        return int(doc["dueMs"]) if doc else None

    # ---- deletions and history
    def delete_for_endpoint(self, endpoint_id: str) -> int:
        return self.col.delete_many({"endpointId": {"$eq": endpoint_id}}).deleted_count

    def delete_for_endpoints(self, endpoint_ids: list[str]) -> int:
        # one indexed delete each (`$in` does not use the index on the stand-in)
        return sum(self.delete_for_endpoint(e) for e in endpoint_ids)

    def prune_older(self, endpoint_id: str, before_ms: int) -> int:
        """An endpoint's terminal deliveries created before `before_ms` (an indexed delete)."""
        return self.col.delete_many({"endpointId": {"$eq": endpoint_id}, "createdAtMs": {"$lt": before_ms},
                                     "status": {"$in": list(TERMINAL)}}).deleted_count

    def prune_beyond(self, endpoint_id: str, keep: int) -> int:
        """Terminal deliveries of an endpoint beyond its newest `keep`."""
        rows = list(self.col.find({"endpointId": {"$eq": endpoint_id}}, {"createdAtMs": 1})
                    .sort([("createdAtMs", DESCENDING)]).skip(keep).limit(1))
        if not rows:
            return 0
        return self.col.delete_many({"endpointId": {"$eq": endpoint_id}, "createdAtMs": {"$lte": rows[0]["createdAtMs"]},
                                     "status": {"$in": list(TERMINAL)}}).deleted_count


class Stores:
    """The webhooks database's stores, built together."""

    def __init__(self, db):
        self.db = db
        self.endpoints = EndpointStore(db)
        self.deliveries = DeliveryStore(db)

    def ensure_indexes(self) -> None:
        ensure_collections(self.db, COLLECTIONS)
        self.endpoints.ensure_indexes()
        self.deliveries.ensure_indexes()

    def delete_tenant(self, query: dict) -> dict:
        """Endpoints and deliveries of a workspace / org (`query` selects it). Deliveries go first: a
        purge cut short (database gone) is redelivered and still finds the endpoints whose deliveries
        are left. A delivery the fan-out records meanwhile is dropped by its first attempt."""
        ids = self.endpoints.ids_where({k: {"$eq": v} for k, v in query.items()})
        deliveries = self.deliveries.delete_for_endpoints(ids)
        return {"endpoints": self.endpoints.delete_ids(ids, query.get("workspaceId")), "deliveries": deliveries}
