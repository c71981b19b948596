"""The only pymongo code of the notifications service.

Collection `notifications`, one document per (event, recipient):
    {_id: <24 hex, derived from (eventId, userId)>, userId, orgId, workspaceId, projectId, eventId,
     seq: <int, µs clock of the worker that stored it>, readAt: date | None,
     activity: {type, actorId, ..., createdAt}, createdAt}
The deterministic `_id` makes a redelivered event a no-op even when the consumer's
processed-marker was lost (worker killed between the insert and the ack).
`seq` orders a user's notifications (newest first, with `_id` as the tie-breaker) and is the
cursor of the SSE stream.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from pymongo import ASCENDING, DESCENDING, InsertOne
from pymongo.errors import BulkWriteError, OperationFailure

from libs.common.mongo import count, ensure_collections, is_id, set_update

log = logging.getLogger(__name__)
COLLECTIONS = ("notifications", "outbox", "processed_events", "dead_letters")
TTL_INDEX = "createdAt_ttl"
# `{"readAt": None}` is what one would write, but the embedded stand-in's count matches nothing
# with it once (userId, readAt) is indexed; `$eq: None` means the same on MongoDB.
UNREAD = {"$eq": None}
# `$currentDate`, not `$set: {readAt: now()}`: the stand-in stores a datetime given to `$set` as text.
MARK_READ = set_update(stamp=("readAt",))


def notification_id(event_id: str, user_id: str) -> str:
    """One id per (event, recipient), stable across redeliveries and workers."""
    return hashlib.sha256(f"{event_id}:{user_id}".encode()).hexdigest()[:24]


class NotificationStore:
    def __init__(self, db):
        self.db = db
        self.col = db["notifications"]

    def ensure_indexes(self, retention_days: int) -> None:
        ensure_collections(self.db, COLLECTIONS)
        # (userId, seq) serves the list, its cursor and the stream. Not (userId, seq, _id): the
        # embedded stand-in rejects every insert into a collection with `_id` in a compound index.
        self.col.create_index([("userId", ASCENDING), ("seq", DESCENDING)])
        self.col.create_index([("userId", ASCENDING), ("readAt", ASCENDING)])
        self.col.create_index("seq")   # the streams' safety poll: what was stored lately, whoever for
        self.col.create_index("orgId")
        self.col.create_index("workspaceId")
        self.col.create_index([("userId", ASCENDING), ("workspaceId", ASCENDING)])
        self.db["dead_letters"].create_index("at")
        self._ensure_ttl(retention_days * 86400)

    def _ensure_ttl(self, seconds: int) -> None:
        try:
            self.col.create_index("createdAt", name=TTL_INDEX, expireAfterSeconds=seconds)
        except OperationFailure:
            # The retention changed since the index was built: rebuild it with the new value.
            self.col.drop_index(TTL_INDEX)
            self.col.create_index("createdAt", name=TTL_INDEX, expireAfterSeconds=seconds)

    # ---------------------------------------------------------------- writes
    def insert_many(self, docs: list[dict]) -> list[dict]:
        """Insert, skipping the (event, recipient) pairs already stored. Returns the new ones."""
        if not docs:
            return []
        try:
            self.col.bulk_write([InsertOne(d) for d in docs], ordered=False)
            return docs
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 for e in errors):
                raise
            duplicates = {e["index"] for e in errors}
            return [d for i, d in enumerate(docs) if i not in duplicates]

    def mark_read(self, *, user_id: str, notification_id: str) -> dict | None:
        if not is_id(notification_id):
            return None
        self.col.update_one({"_id": notification_id, "userId": user_id, "readAt": UNREAD},
                            MARK_READ)
        return self.col.find_one({"_id": notification_id, "userId": user_id})

    def mark_all_read(self, *, user_id: str) -> int:
        return self.col.update_many({"userId": {"$eq": user_id}, "readAt": UNREAD}, MARK_READ).modified_count

    def prune_read(self, *, user_id: str, keep: int) -> int:
        """Delete the user's read notifications past the newest `keep`: what a user's list, count and
        stream cost stays bounded by their unread notifications plus `keep`, not by their history
        (which retention alone bounds only by time). `keep` <= 0 keeps them all."""
        if keep <= 0:
            return 0
        read = {"userId": {"$eq": user_id}, "readAt": {"$ne": None}}
        cutoff = list(self.col.find(read, {"seq": 1}).sort("seq", DESCENDING).skip(keep).limit(1))
        if not cutoff:
            return 0
        return self.col.delete_many(read | {"seq": {"$lte": cutoff[0]["seq"]}}).deleted_count

    def delete_for_org(self, org_id: str) -> int:
        return self.col.delete_many({"orgId": org_id}).deleted_count

    def delete_for_workspace(self, workspace_id: str) -> int:
        return self.col.delete_many({"workspaceId": workspace_id}).deleted_count

    def delete_for_member(self, *, user_id: str, workspace_id: str | None = None, org_id: str | None = None) -> int:
        query: dict = {"userId": {"$eq": user_id}}
        if workspace_id:
            query["workspaceId"] = workspace_id
        if org_id:
            query["orgId"] = org_id
        return self.col.delete_many(query).deleted_count

    def purge(self, *, before: datetime) -> int:
        return self.col.delete_many({"createdAt": {"$lt": before}}).deleted_count

    # ---------------------------------------------------------------- reads
    def list(self, *, user_id: str, limit: int, unread_only: bool = False,
             after: tuple[int, str] | None = None) -> list[dict]:
        """Newest first; `after` = the (seq, id) of the last row of the previous page."""
        query: dict = {"userId": {"$eq": user_id}}   # `$eq`: the stand-in then uses (userId, seq)
        if unread_only:
            query["readAt"] = UNREAD
        if after is not None:
            seq, last_id = after
            query["$or"] = [{"seq": {"$lt": seq}}, {"seq": seq, "_id": {"$lt": last_id}}]
        return list(self.col.find(query).sort([("seq", DESCENDING), ("_id", DESCENDING)]).limit(limit))

    def count_unread(self, *, user_id: str) -> int:
        return count(self.col, {"userId": {"$eq": user_id}, "readAt": UNREAD})

    def by_ids(self, *, user_id: str, ids: list[str]) -> list[dict]:
        ids = [i for i in ids if is_id(i)]
        if not ids:
            return []
        return list(self.col.find({"userId": {"$eq": user_id}, "_id": {"$in": ids}}))

    def recent_keys(self, *, user_id: str, since_seq: int, limit: int = 1000) -> list[tuple[int, str]]:
        """(seq, id) of the user's notifications with seq > since_seq, oldest first."""
        rows = self.col.find({"userId": {"$eq": user_id}, "seq": {"$gt": since_seq}}, {"_id": 1, "seq": 1})
        return [(r["seq"], r["_id"]) for r in rows.sort([("seq", ASCENDING), ("_id", ASCENDING)]).limit(limit)]

    # ---------------------------------------------------------------- the streams' safety poll (one per process)
    def recent_keys_of(self, *, user_ids: list[str], since_seq: int, limit: int = 5000) -> list[tuple[str, int, str]]:
        """(userId, seq, id) of these users' notifications with seq > since_seq, oldest first: the
        range on the `seq` index (what was stored lately, for anyone), the users picked here. A
        `userId: {$in: …}` filter makes the embedded stand-in scan every notification ever kept."""
        if not user_ids:
            return []
        wanted, out, seen = set(user_ids), [], set()
        for _page in range(10):   # pages of `limit` while full: a burst for other users hides nothing
            rows = list(self.col.find({"seq": {"$gt": since_seq}}, {"_id": 1, "seq": 1, "userId": 1})
                        .sort([("seq", ASCENDING), ("_id", ASCENDING)]).limit(limit))
            out += [(r["userId"], r["seq"], r["_id"]) for r in rows if r["userId"] in wanted and r["_id"] not in seen]
            seen.update(r["_id"] for r in rows)
            if len(rows) < limit:
                break
            # the last seq again (two rows may share it), unless the page holds only that seq
            since_seq = rows[-1]["seq"] - (rows[0]["seq"] != rows[-1]["seq"])
        return out

    def count_unread_of(self, *, user_ids: list[str]) -> dict[str, int]:
        """{userId: unread} for these users (0 for those with none): one count per user on the
        (userId, readAt) index, which costs what is unread, not every notification kept (`$in`
        makes the stand-in scan them all)."""
        return {user_id: self.count_unread(user_id=user_id) for user_id in dict.fromkeys(user_ids)}
