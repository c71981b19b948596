"""The only pymongo code of the mcp service: the record of tool calls.

Collection `tool_calls`, one document per call:
    {_id, at: date, atMs: epoch ms, userId, token: <PAT id> | "jwt", tool, orgSlug, wsSlug,
     status: "ok" | "error", statusCode, message, durationMs}
Kept MCP_CALL_RETENTION_DAYS: a TTL index on `at` (MongoDB) and an indexed delete on `atMs` every
MCP_PRUNE_INTERVAL (the embedded stand-in has no TTL monitor), so it never grows with history.
"""
from __future__ import annotations

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import OperationFailure

from libs.common.mongo import ensure_collections, from_doc, iso, new_id, now, read_date, to_ms

COLLECTION = "tool_calls"
TTL_INDEX = "at_ttl"


class CallLog:
    def __init__(self, db):
        self.db = db
        self.col = db[COLLECTION]

    def ensure_indexes(self, retention_days: int) -> None:
        ensure_collections(self.db, (COLLECTION,))
        self.col.create_index("atMs")
        self.col.create_index([("userId", ASCENDING), ("atMs", DESCENDING)])
        seconds = retention_days * 86400
        try:
            self.col.create_index("at", name=TTL_INDEX, expireAfterSeconds=seconds)
        except OperationFailure:  # the retention changed: rebuild the index with the new value
            self.col.drop_index(TTL_INDEX)
            self.col.create_index("at", name=TTL_INDEX, expireAfterSeconds=seconds)

    def record(self, entry: dict) -> None:
        self.record_many([entry])

    def record_many(self, entries: list[dict]) -> None:
        stamp = now()
        self.col.insert_many([{"_id": new_id(), "at": stamp, "atMs": to_ms(stamp)} | e for e in entries],
                             ordered=False)

    def prune(self, *, before_ms: int) -> int:
        return self.col.delete_many({"atMs": {"$lt": before_ms}}).deleted_count

    def recent(self, *, user_id: str, limit: int = 50) -> list[dict]:
        rows = self.col.find({"userId": {"$eq": user_id}}).sort("atMs", DESCENDING).limit(limit)
        return [from_doc(r) | {"at": iso(read_date(r["at"]))} for r in rows]
