"""The `labels` collection (name unique per project).

    labels {_id, orgId, workspaceId, projectId, name, color, createdAt}
"""
from __future__ import annotations

from pymongo import ASCENDING

from ..storage import insert, insert_many, out, update


def ensure_indexes(db) -> None:
    db["labels"].create_index([("projectId", ASCENDING), ("name", ASCENDING)], unique=True)
    db["labels"].create_index("workspaceId")


class LabelStore:
    def __init__(self, db):
        self.labels = db["labels"]

    def insert(self, doc, session=None) -> dict:
        return insert(self.labels, doc, session)

    def insert_many(self, docs, session=None) -> list[dict]:
        return insert_many(self.labels, docs, session)

    def get(self, ws_id, project_id, label_id) -> dict | None:
        return out(self.labels.find_one({"_id": label_id, "projectId": project_id, "workspaceId": ws_id}))

    def by_name(self, project_id, name) -> dict | None:
        return out(self.labels.find_one({"projectId": project_id, "name": name}))

    def list(self, ws_id, project_id, session=None) -> list[dict]:
        return [out(d) for d in self.labels.find({"projectId": project_id, "workspaceId": ws_id},
                                                 session=session).sort([("createdAt", 1), ("_id", 1)])]

    def update(self, ws_id, label_id, changes, session=None) -> dict | None:
        return update(self.labels, {"_id": label_id, "workspaceId": ws_id}, {"$set": changes}, session)

    def delete(self, ws_id, label_id, session=None) -> None:
        self.labels.delete_one({"_id": label_id, "workspaceId": ws_id}, session=session)
