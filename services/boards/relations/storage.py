"""The `relations` collection: one document per relation (`blocked_by` stored as the inverse `blocks`,
`related_to` once per pair).

    relations {_id, orgId, workspaceId, projectId, sourceCardId, targetCardId, type, createdBy, createdAt}
"""
from __future__ import annotations

from pymongo import ASCENDING

from ..storage import insert, insert_many, out


def ensure_indexes(db) -> None:
    db["relations"].create_index([("projectId", ASCENDING), ("sourceCardId", ASCENDING),
                                  ("targetCardId", ASCENDING), ("type", ASCENDING)], unique=True)
    db["relations"].create_index("targetCardId")
    db["relations"].create_index("workspaceId")


class RelationStore:
    def __init__(self, db):
        self.relations = db["relations"]

    def insert(self, doc, session=None) -> dict:
        return insert(self.relations, doc, session)

    def insert_many(self, docs, session=None) -> list[dict]:
        return insert_many(self.relations, docs, session)

    def find(self, project_id, source_id, target_id, rel_type) -> dict | None:
        return out(self.relations.find_one({"projectId": project_id, "sourceCardId": source_id,
                                            "targetCardId": target_id, "type": rel_type}))

    def get(self, ws_id, project_id, relation_id) -> dict | None:
        return out(self.relations.find_one({"_id": relation_id, "projectId": project_id, "workspaceId": ws_id}))

    def of_card(self, ws_id, card_id) -> list[dict]:
        docs = self.relations.find({"workspaceId": ws_id, "$or": [{"sourceCardId": card_id},
                                                                  {"targetCardId": card_id}]})
        return [out(d) for d in docs.sort([("createdAt", 1), ("_id", 1)])]

    def of_project(self, ws_id, project_id, rel_type=None, session=None) -> list[dict]:
        query = {"projectId": project_id, "workspaceId": ws_id}
        if rel_type:
            query["type"] = rel_type
        return [out(d) for d in self.relations.find(query, session=session).sort([("createdAt", 1), ("_id", 1)])]

    def delete(self, ws_id, relation_id, session=None) -> None:
        self.relations.delete_one({"_id": relation_id, "workspaceId": ws_id}, session=session)
