"""The `scopes` collection (dense `order` per project).

    scopes {_id, orgId, workspaceId, projectId, name, description, order, activeView, createdAt, updatedAt}
"""
from __future__ import annotations

from pymongo import ASCENDING

from ..storage import insert, insert_many, next_order, out, update


def ensure_indexes(db) -> None:
    db["scopes"].create_index([("projectId", ASCENDING), ("order", ASCENDING)])
    db["scopes"].create_index("workspaceId")


class ScopeStore:
    def __init__(self, db):
        self.scopes = db["scopes"]

    def insert(self, doc, session=None) -> dict:
        return insert(self.scopes, doc, session)

    def insert_many(self, docs, session=None) -> list[dict]:
        return insert_many(self.scopes, docs, session)

    def get(self, ws_id, project_id, scope_id, session=None) -> dict | None:
        return out(self.scopes.find_one({"_id": scope_id, "projectId": project_id, "workspaceId": ws_id},
                                        session=session))

    def list(self, ws_id, project_id, session=None) -> list[dict]:
        return [out(d) for d in self.scopes.find({"projectId": project_id, "workspaceId": ws_id},
                                                 session=session).sort([("order", 1), ("createdAt", 1)])]

    def count(self, project_id, session=None) -> int:
        return next_order(self.scopes, {"projectId": project_id}, session)

    def shift(self, project_id, *, start, end=None, delta, session=None) -> None:
        order = {"$gte": start}
        if end is not None:
            order["$lt"] = end
        self.scopes.update_many({"projectId": project_id, "order": order}, {"$inc": {"order": delta}},
                                session=session)

    def update(self, ws_id, scope_id, changes, session=None) -> dict | None:
        return update(self.scopes, {"_id": scope_id, "workspaceId": ws_id}, {"$set": changes}, session)
