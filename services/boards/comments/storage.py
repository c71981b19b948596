"""The `comments` collection.

    comments {_id, orgId, workspaceId, projectId, cardId, authorId, authorName, content, createdAt}
"""
from __future__ import annotations

from pymongo import ASCENDING

from ..storage import insert, out


def ensure_indexes(db) -> None:
    db["comments"].create_index([("cardId", ASCENDING), ("createdAt", ASCENDING)])
    db["comments"].create_index("projectId")
    db["comments"].create_index("workspaceId")


class CommentStore:
    def __init__(self, db):
        self.comments = db["comments"]

    def insert(self, doc, session=None) -> dict:
        return insert(self.comments, doc, session)

    def get(self, ws_id, card_id, comment_id, session=None) -> dict | None:
        return out(self.comments.find_one({"_id": comment_id, "cardId": card_id, "workspaceId": ws_id},
                                          session=session))

    def list(self, ws_id, card_id, *, skip=0, limit=None) -> list[dict]:
        cursor = self.comments.find({"cardId": card_id, "workspaceId": ws_id}).sort([("createdAt", 1), ("_id", 1)])
        if skip:
            cursor = cursor.skip(skip)
        if limit:
            cursor = cursor.limit(limit)
        return [out(d) for d in cursor]

    def delete(self, ws_id, comment_id, session=None) -> int:
        return self.comments.delete_one({"_id": comment_id, "workspaceId": ws_id}, session=session).deleted_count
