"""The `users` collection.

    users {_id, email (unique), name, passwordHash, pwv (bumped by a password change), createdAt, updatedAt}
"""
from __future__ import annotations

from pymongo import ReturnDocument

from ..storage import insert, out, stamped


class UserStore:
    def __init__(self, db):
        self.users = db["users"]

    def ensure_indexes(self) -> None:
        self.users.create_index("email", unique=True)

    def insert(self, doc, session=None) -> dict:
        return insert(self.users, doc, session)

    def get(self, user_id) -> dict | None:
        return out(self.users.find_one({"_id": user_id}))

    def get_by_email(self, email) -> dict | None:
        return out(self.users.find_one({"email": email}))

    def list_by_ids(self, ids) -> list[dict]:
        return [out(d) for d in self.users.find({"_id": {"$in": list(ids)}})]

    def with_names(self, rows: list[dict]) -> list[dict]:
        """`rows` (memberships: each has a `userId`) with each user's `email` and `name` (None for an
        account that no longer exists), in one query."""
        users = {u["id"]: u for u in self.list_by_ids({r["userId"] for r in rows})} if rows else {}
        return [r | {"email": users[r["userId"]]["email"] if r["userId"] in users else None,
                     "name": users[r["userId"]].get("name") if r["userId"] in users else None} for r in rows]

    def update(self, user_id, changes, *, inc=None, session=None) -> dict | None:
        update = stamped(changes, "updatedAt")
        if inc:
            update["$inc"] = inc
        return out(self.users.find_one_and_update({"_id": user_id}, update, return_document=ReturnDocument.AFTER,
                                                  session=session))
