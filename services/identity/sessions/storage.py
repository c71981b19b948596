"""The `login_failures` collection: failed-password counters per key (throttle.py), expired by TTL indexes.

    login_failures {_id: "<kind>|<account>|<address>" | "<kind>|<account>", count, lastAt, lockedUntilMs}
                   {_id: "ok|<kind>|<account>|<address>", seenAt}
"""
from __future__ import annotations

from pymongo import ReturnDocument

FAILURES_KEEP_S = 2 * 86400         # a failure counter outlives the longest lock by far
KNOWN_ADDRESS_KEEP_S = 30 * 86400   # an address an account logged in from stays known for a month


class FailureStore:
    def __init__(self, db):
        self.failures = db["login_failures"]

    def ensure_indexes(self) -> None:
        self.failures.create_index("lastAt", expireAfterSeconds=FAILURES_KEEP_S)
        self.failures.create_index("seenAt", expireAfterSeconds=KNOWN_ADDRESS_KEEP_S)

    def list_by_keys(self, keys) -> list[dict]:
        """The rows of `keys` as stored (their `_id` is the key)."""
        return list(self.failures.find({"_id": {"$in": list(keys)}}))

    def count(self, key) -> int:
        """One more failure for `key` -> how many there are now."""
        doc = self.failures.find_one_and_update(
            {"_id": key}, {"$inc": {"count": 1}, "$currentDate": {"lastAt": True}}, upsert=True,
            return_document=ReturnDocument.AFTER)
        return int(doc["count"])

    def lock(self, key, until_ms: int) -> None:
        self.failures.update_one({"_id": key}, {"$set": {"lockedUntilMs": until_ms}})

    def delete(self, key) -> None:
        self.failures.delete_one({"_id": key})

    def remember(self, key) -> None:
        self.failures.update_one({"_id": key}, {"$currentDate": {"seenAt": True}}, upsert=True)
