"""The only module of pilotage that speaks pymongo. Documents in, plain dicts (with `id`) out.

Every read and write is scoped by `workspaceId`: an id from another workspace simply matches
nothing. Ids (`_id` included) are 24-hex strings, so `_id` order is creation order and serves
as the list cursor.
"""
from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, ReturnDocument

from libs.common.mongo import CURRENT, ensure_collections, reader, set_update
from libs.common.paging import decode_cursor, encode_cursor

# The pilotage collections that hold one kind of entity each (all scoped by workspace).
ENTITIES = ("missions", "priorities", "todos", "decisions", "docs", "actions", "documents")
COLLECTIONS = list(ENTITIES) + ["settings", "outbox", "processed_events", "dead_letters"]


def _update(changes: dict, *, unset=None) -> dict:
    """`$set` the changes and stamp `updatedAt`. Datetime values are always "now" here: they take
    the server's date (the dialect: mongo.set_update, CURRENT)."""
    values = {k: (CURRENT if isinstance(v, datetime) else v) for k, v in changes.items() if k != "updatedAt"}
    return set_update(values, unset=unset or ())


# Top-level boolean fields, read back through the dialect (the stand-in returns 0 / 1 after `$set`).
_out = reader(bools=("active",))


class PilotageStore:
    def __init__(self, db):
        self.db = db
        self.settings = db["settings"]

    def col(self, name: str):
        if name not in ENTITIES:
            raise KeyError(name)
        return self.db[name]

    def ensure_indexes(self) -> None:
        ensure_collections(self.db, COLLECTIONS)
        for name in ENTITIES:
            # (workspaceId, _id) would serve the cursor better on MongoDB, but the embedded stand-in
            # (nx-27017) then fails every insert ("JSON path error near '_id'"): workspaceId alone.
            self.db[name].create_index("workspaceId")
            self.db[name].create_index("orgId")
        self.db["todos"].create_index([("workspaceId", ASCENDING), ("missionId", ASCENDING)])
        self.db["todos"].create_index([("workspaceId", ASCENDING), ("priorityId", ASCENDING)])
        self.db["decisions"].create_index([("workspaceId", ASCENDING), ("missionId", ASCENDING)])
        self.db["actions"].create_index([("workspaceId", ASCENDING), ("status", ASCENDING)])
        self.db["documents"].create_index([("workspaceId", ASCENDING), ("parentId", ASCENDING)])
        self.settings.create_index("orgId")

    # ---- generic entity access
    def insert(self, name: str, doc: dict, *, session=None) -> dict:
        self.col(name).insert_one(doc, session=session)
        return _out(doc)

    def get(self, name: str, workspace_id: str, entity_id: str, *, session=None) -> dict | None:
        return _out(self.col(name).find_one({"_id": entity_id, "workspaceId": workspace_id}, session=session))

    def exists(self, name: str, workspace_id: str, entity_id: str, *, session=None) -> bool:
        return self.col(name).find_one({"_id": entity_id, "workspaceId": workspace_id}, {"_id": 1},
                                       session=session) is not None

    def update(self, name: str, workspace_id: str, entity_id: str, changes: dict, *, unset=None,
               expect: dict | None = None, session=None) -> dict | None:
        """Set `changes` (and `updatedAt`) on the entity if it still matches `expect`; None otherwise."""
        update = _update(changes, unset=unset)
        query = {"_id": entity_id, "workspaceId": workspace_id} | (expect or {})
        return _out(self.col(name).find_one_and_update(query, update, return_document=ReturnDocument.AFTER,
                                                       session=session))

    def delete(self, name: str, workspace_id: str, entity_id: str, *, session=None) -> bool:
        return self.col(name).delete_one({"_id": entity_id, "workspaceId": workspace_id},
                                         session=session).deleted_count == 1

    def list(self, name: str, workspace_id: str, *, filters: dict | None = None, limit: int | None = None,
             after: str | None = None, projection: dict | None = None, session=None) -> list[dict]:
        """Entities in creation order; `after` (an id) resumes after that entity; `limit` caps it."""
        query = {"workspaceId": workspace_id} | (filters or {})
        if after:
            query["_id"] = {"$gt": after}
        cursor = self.col(name).find(query, projection, session=session)
        if limit:
            return [_out(d) for d in cursor.sort("_id", ASCENDING).limit(limit)]
        # Unbounded: sort here. The stand-in's server-side sort costs more than the whole read
        # (1,000 todos: ~60 ms sorted vs ~35 ms unsorted); hex ids sort the same as strings.
        return sorted((_out(d) for d in cursor), key=lambda d: d["id"])

    def page(self, name: str, workspace_id: str, *, filters: dict | None = None, limit: int | None = None,
             cursor: str | None = None, projection: dict | None = None) -> tuple[list[dict], str | None]:
        """(rows, next cursor or None): `limit` rows after `cursor`, and the cursor when more remain."""
        after = decode_cursor(cursor, str)
        rows = self.list(name, workspace_id, filters=filters, after=after[0] if after else None,
                         projection=projection, limit=(limit + 1) if limit else None)
        if limit and len(rows) > limit:
            rows = rows[:limit]
            return rows, encode_cursor(rows[-1]["id"])
        return rows, None

    def unlink(self, name: str, workspace_id: str, field: str, value: str, *, session=None) -> list[str]:
        """Clear `field` wherever it points at `value`; returns the ids that changed."""
        query = {"workspaceId": workspace_id, field: value}
        ids = [d["_id"] for d in self.col(name).find(query, {"_id": 1}, session=session)]
        if ids:
            self.col(name).update_many({"_id": {"$in": ids}, "workspaceId": workspace_id},
                                       _update({field: None}), session=session)
        return ids

    def find_by_ids(self, name: str, workspace_id: str, ids, *, session=None) -> list[dict]:
        return [_out(d) for d in self.col(name).find({"workspaceId": workspace_id, "_id": {"$in": list(ids)}},
                                                     session=session)]

    # ---- actions: the apply claim (one apply at a time per action)
    def claim_action(self, workspace_id: str, action_id: str, stale_before) -> dict | None:
        query = {"_id": action_id, "workspaceId": workspace_id, "status": "approved",
                 "$or": [{"applyingAt": None}, {"applyingAt": {"$lt": stale_before}}]}
        return _out(self.col("actions").find_one_and_update(query, {"$currentDate": {"applyingAt": True}},
                                                             return_document=ReturnDocument.AFTER))

    # ---- documents: the tree
    def document_parents(self, workspace_id: str) -> dict[str, str | None]:
        """{documentId: parentId} for the whole workspace (one query; used for cycle checks)."""
        return {d["_id"]: d.get("parentId") for d in
                self.col("documents").find({"workspaceId": workspace_id}, {"_id": 1, "parentId": 1})}

    def has_children(self, workspace_id: str, document_id: str, *, session=None) -> bool:
        return self.col("documents").find_one({"workspaceId": workspace_id, "parentId": document_id}, {"_id": 1},
                                              session=session) is not None

    # ---- per-workspace pilotage settings (the current cycle)
    def get_settings(self, workspace_id: str) -> dict | None:
        return self.settings.find_one({"_id": workspace_id})

    def set_settings(self, workspace_id: str, org_id: str, changes: dict, *, session=None) -> None:
        self.settings.update_one({"_id": workspace_id},
                                 _update(changes | {"orgId": org_id, "workspaceId": workspace_id}),
                                 upsert=True, session=session)

    # ---- identity's deletions
    def purge_tenant(self, tenant) -> dict:
        """Delete the pilotage data of deleted workspaces (and of the whole org when it went)."""
        ids = list(tenant.workspace_ids)
        by_ws = {"workspaceId": {"$in": ids}}
        query = {"$or": [{"orgId": tenant.org_id}, by_ws]} if tenant.whole_org and tenant.org_id else by_ws
        settings = {"$or": [{"orgId": tenant.org_id}, {"_id": {"$in": ids}}]} if tenant.whole_org and tenant.org_id \
            else {"_id": {"$in": ids}}
        counts = {name: self.col(name).delete_many(query).deleted_count for name in ENTITIES}
        self.settings.delete_many(settings)
        return counts
