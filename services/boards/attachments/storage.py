"""The only module of attachments that speaks pymongo: `attachments` (metadata), `s3_deletions`
(the queue of object keys to delete, retried until S3 accepts) and the `attachmentCount` of `cards`.

    attachments  {_id, orgId, workspaceId, projectId, cardId, uploadedBy, originalName, mimeType,
                  size, key, createdAt}
    s3_deletions {_id, key, attempts, nextAt, lastError, reason, createdAt}

`nextAt` is epoch milliseconds (an int), not a date: the embedded Mongo stand-in stores a datetime
given to `$set` as text ('2026-11-29 16:29:24', no ms, no zone), which then never matches a date
range query, so a retried row would never come due again. Numbers behave the same everywhere.
"""
from __future__ import annotations

import time

from pymongo import ASCENDING, ReturnDocument

from libs.common.mongo import ensure_collections, from_doc, new_id, now

COLLECTIONS = ["attachments", "s3_deletions", "cards"]


_out = from_doc


def ensure_indexes(db) -> None:
    ensure_collections(db, COLLECTIONS)
    db.attachments.create_index([("cardId", ASCENDING), ("createdAt", ASCENDING)])
    db.attachments.create_index("projectId")
    db.attachments.create_index("workspaceId")
    db.attachments.create_index("orgId")
    db.attachments.create_index("key", unique=True)
    db.s3_deletions.create_index("nextAt")


def epoch_ms(delay_s: float = 0.0) -> int:  # the dialect's form of a time a query compares
    """Now (+ delay_s) in epoch milliseconds: the unit of `nextAt`."""
    return int((time.time() + delay_s) * 1000)


def deletion_row(key: str, *, reason: str, delay_s: float = 0.0) -> dict:
    return {"_id": new_id(), "key": key, "attempts": 0, "nextAt": epoch_ms(delay_s),
            "lastError": None, "reason": reason, "createdAt": now()}


class AttachmentStore:
    def __init__(self, db):
        self.db = db
        self.attachments = db["attachments"]
        self.deletions = db["s3_deletions"]
        self.cards = db["cards"]

    # ---- cards (owned by the boards core; attachments only reads scope and keeps the counter)
    def find_card(self, *, card_id: str, project_id: str, workspace_id: str) -> dict | None:
        return _out(self.cards.find_one({"_id": card_id, "projectId": project_id, "workspaceId": workspace_id},
                                        {"_id": 1, "orgId": 1, "workspaceId": 1, "projectId": 1}))

    def bump_count(self, *, card_id: str, project_id: str, workspace_id: str, by: int, session=None) -> bool:
        """$inc the card's attachmentCount; False when the card is gone (deleted meanwhile)."""
        result = self.cards.update_one({"_id": card_id, "projectId": project_id, "workspaceId": workspace_id},
                                       {"$inc": {"attachmentCount": by}}, session=session)
        # the board's version (the ETag of its card lists, see boards storage.lock_board)
        self.db["projects"].update_one({"_id": {"$eq": project_id}}, {"$inc": {"boardRev": 1}}, session=session)
        return result.matched_count == 1

    # ---- metadata
    def insert(self, doc: dict, *, session=None) -> dict:
        self.attachments.insert_one(doc, session=session)
        return _out(doc)

    def list_for_card(self, *, card_id: str, workspace_id: str) -> list[dict]:
        cursor = self.attachments.find({"cardId": card_id, "workspaceId": workspace_id}).sort(
            [("createdAt", ASCENDING), ("_id", ASCENDING)])
        return [_out(d) for d in cursor]

    def get(self, *, attachment_id: str, card_id: str, workspace_id: str) -> dict | None:
        return _out(self.attachments.find_one({"_id": attachment_id, "cardId": card_id,
                                               "workspaceId": workspace_id}))

    def get_by_id(self, attachment_id: str) -> dict | None:
        return _out(self.attachments.find_one({"_id": attachment_id}))

    def delete_one(self, *, attachment_id: str, card_id: str, workspace_id: str, session=None) -> dict | None:
        return _out(self.attachments.find_one_and_delete({"_id": attachment_id, "cardId": card_id,
                                                          "workspaceId": workspace_id}, session=session))

    def keys_matching(self, query: dict, *, session=None) -> list[tuple[str, str]]:
        return [(d["_id"], d["key"]) for d in self.attachments.find(query, {"key": 1}, session=session)]

    def delete_ids(self, ids: list[str], *, session=None) -> int:
        if not ids:
            return 0
        return self.attachments.delete_many({"_id": {"$in": ids}}, session=session).deleted_count

    def key_referenced(self, key: str) -> bool:
        return self.attachments.find_one({"key": key}, {"_id": 1}) is not None

    # ---- deletion queue
    def queue(self, rows: list[dict], *, session=None) -> None:
        if rows:
            self.deletions.insert_many(rows, session=session)

    def unqueue(self, row_id: str, *, session=None) -> None:
        self.deletions.delete_one({"_id": row_id}, session=session)

    def make_due(self, row_id: str) -> None:
        self.deletions.update_one({"_id": row_id}, {"$set": {"nextAt": epoch_ms()}})

    def due(self, *, limit: int) -> list[dict]:
        return list(self.deletions.find({"nextAt": {"$lte": epoch_ms()}}).sort("nextAt", ASCENDING).limit(limit))

    def claim(self, row: dict, *, lease_s: float) -> dict | None:
        """Take a due row for `lease_s` seconds; None if another worker took it first."""
        return self.deletions.find_one_and_update(
            {"_id": row["_id"], "nextAt": row["nextAt"]},
            {"$set": {"nextAt": epoch_ms(lease_s)}}, return_document=ReturnDocument.AFTER)

    def failed(self, row_id: str, *, attempts: int, retry_in_s: float, error: str) -> None:
        self.deletions.update_one({"_id": row_id}, {"$set": {"attempts": attempts, "nextAt": epoch_ms(retry_in_s),
                                                             "lastError": error[:500]}})
