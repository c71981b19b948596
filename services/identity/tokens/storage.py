"""The `api_tokens` collection. Only the token's SHA-256 is stored, with its first 10 characters.

    api_tokens {_id, userId, name, prefix, hash (unique), scopes, expiresAt, lastUsedAt, createdAt}
"""
from __future__ import annotations

from ..storage import insert, out, stamped


class TokenStore:
    def __init__(self, db):
        self.tokens = db["api_tokens"]

    def ensure_indexes(self) -> None:
        self.tokens.create_index("hash", unique=True)
        self.tokens.create_index("userId")

    def insert(self, doc, session=None) -> dict:
        return insert(self.tokens, doc, session)

    def get(self, token_id, user_id) -> dict | None:
        return out(self.tokens.find_one({"_id": token_id, "userId": user_id}))

    def get_by_hash(self, token_hash) -> dict | None:
        return out(self.tokens.find_one({"hash": token_hash}))

    def list(self, user_id) -> list[dict]:
        return [out(d) for d in self.tokens.find({"userId": user_id}).sort("createdAt", -1)]

    def touch(self, token_id) -> None:
        self.tokens.update_one({"_id": token_id}, stamped({}, "lastUsedAt"))

    def delete(self, token_id, session=None) -> None:
        self.tokens.delete_one({"_id": token_id}, session=session)
