"""Personal access tokens: `synth_…` secrets a user creates with a JWT (never with a token), with the
scopes they allow (all by default) and an optional expiry; only their digest is stored, and the value is
in the creation's answer only. The gateway resolves one by its digest (`resolve`), then caches it."""
from __future__ import annotations

import secrets

from libs.common.context import ALL_SCOPES, Caller
from libs.common.errors import BadRequest, Forbidden, NotFound, Unauthorized
from libs.common.mongo import aware, is_id, new_id, now, unit_of_work

from .. import events
from ..accounts.storage import UserStore
from ..passwords import sha256
from .storage import TokenStore

PREFIX = "synth_"


def _with_jwt(caller: Caller) -> None:
    if caller.via != "user":
        raise Forbidden("API tokens are managed with a JWT, not with a token")


class TokensService:
    def __init__(self, *, store: TokenStore, users: UserStore, client, outbox):
        self.store = store
        self.users = users
        self.client = client
        self.outbox = outbox

    def get_or_raise(self, *, caller: Caller, token_id: str) -> dict:
        tok = self.store.get(token_id, caller.user_id) if is_id(token_id) else None
        if not tok:
            raise NotFound("Token not found")
        return tok

    def create(self, *, caller: Caller, name: str, scopes: list | None, expires_at) -> dict:
        """-> the stored token with its value (`token`), shown this once."""
        _with_jwt(caller)
        if expires_at is not None and expires_at <= now():
            raise BadRequest("expiresAt must be in the future")
        token = PREFIX + secrets.token_urlsafe(32)
        scopes = sorted(set(scopes), key=ALL_SCOPES.index) if scopes else list(ALL_SCOPES)
        doc = {"_id": new_id(), "userId": caller.user_id, "name": name, "prefix": token[:10],
               "hash": sha256(token), "scopes": scopes, "expiresAt": expires_at, "lastUsedAt": None,
               "createdAt": now()}
        with unit_of_work(self.client) as s:
            created = self.store.insert(doc, session=s)
            events.publish(self.outbox, "identity.token.created", {"tokenId": created["id"], "userId": caller.user_id},
                           caller=caller, session=s)
        return created | {"token": token}

    def list_tokens(self, *, caller: Caller) -> list[dict]:
        _with_jwt(caller)
        return self.store.list(caller.user_id)

    def delete(self, *, caller: Caller, token_id: str) -> None:
        """Revoke: the gateway drops it from its cache on `identity.token.revoked` (which carries the digest)."""
        _with_jwt(caller)
        tok = self.get_or_raise(caller=caller, token_id=token_id)
        with unit_of_work(self.client) as s:
            self.store.delete(tok["id"], session=s)
            events.publish(self.outbox, "identity.token.revoked",
                           {"tokenId": tok["id"], "userId": caller.user_id, "hash": tok["hash"]},
                           caller=caller, session=s)

    def resolve(self, *, token_hash: str) -> dict:
        """The live token of this digest (its use is recorded: `lastUsedAt`); 401 if none, expired, or its
        user is gone."""
        tok = self.store.get_by_hash(token_hash)
        if not tok:
            raise Unauthorized("Invalid token")
        if tok.get("expiresAt") and aware(tok["expiresAt"]) <= now():
            raise Unauthorized("Token expired")
        if not self.users.get(tok["userId"]):
            raise Unauthorized("Invalid token")
        self.store.touch(tok["id"])
        return tok
