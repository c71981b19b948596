"""The `custom_fields` collection (the values live on the cards: `cards.customFields`).

    custom_fields {_id, orgId, workspaceId, projectId, name, type, options, createdAt}
"""
from __future__ import annotations

from ..storage import insert, insert_many, out, update


def ensure_indexes(db) -> None:
    db["custom_fields"].create_index("projectId")
    db["custom_fields"].create_index("workspaceId")


class FieldStore:
    def __init__(self, db):
        self.fields = db["custom_fields"]

    def insert(self, doc, session=None) -> dict:
        return insert(self.fields, doc, session)

    def insert_many(self, docs, session=None) -> list[dict]:
        return insert_many(self.fields, docs, session)

    def get(self, ws_id, project_id, field_id) -> dict | None:
        return out(self.fields.find_one({"_id": field_id, "projectId": project_id, "workspaceId": ws_id}))

    def list(self, ws_id, project_id, session=None) -> list[dict]:
        return [out(d) for d in self.fields.find({"projectId": project_id, "workspaceId": ws_id},
                                                 session=session).sort([("createdAt", 1), ("_id", 1)])]

    def update(self, ws_id, field_id, changes, session=None) -> dict | None:
        return update(self.fields, {"_id": field_id, "workspaceId": ws_id}, {"$set": changes}, session)

    def delete(self, ws_id, field_id, session=None) -> None:
        self.fields.delete_one({"_id": field_id, "workspaceId": ws_id}, session=session)
