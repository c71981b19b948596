"""Who is calling, and what are they inside the org/workspace of the path.

JWTs are verified locally. PATs and the guard chain are resolved by identity (internal HTTP
endpoints) and cached per gateway process; identity's events invalidate the caches, so a
revoked token or a removed member stops working within the relay's latency (well under a
second), and the TTL bounds staleness even if the bus is down. A warm cache means no identity
round trip at all.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import replace

import jwt
import urllib3

from libs.common.context import ALL_SCOPES, Caller, sign_caller
from libs.common import jsonio
from libs.common.errors import (ApiError, BadRequest, NotFound, ServiceUnavailable, Unauthorized, error_for_status)

log = logging.getLogger(__name__)
PAT_PREFIX = "synth_"
PAT_TOUCH_INTERVAL = 60  # lastUsedAt precision: the gateway re-resolves a cached PAT at most once a minute


class TTLCache:
    def __init__(self, ttl: float):
        self.ttl = ttl
        self.data: dict = {}
        self.lock = threading.Lock()

    def get(self, key):
        item = self.data.get(key)
        if item is None:
            return None
        expires, value = item
        if expires < time.monotonic():
            with self.lock:  # never resize the dict under drop_where's feet (the NATS thread)
                if self.data.get(key) is item:
                    del self.data[key]
            return None
        return value

    def put(self, key, value, ttl: float | None = None):
        with self.lock:
            if len(self.data) > 50_000:  # bound memory: drop everything rather than track LRU
                self.data.clear()
            self.data[key] = (time.monotonic() + (ttl or self.ttl), value)

    def drop_where(self, predicate):
        with self.lock:
            for key, (_, value) in list(self.data.items()):
                if predicate(key, value):
                    del self.data[key]

    def clear(self):
        with self.lock:
            self.data.clear()


class _Missing:
    """A cached negative answer (not a member): re-raised without asking identity again."""

    def __init__(self, status: int, message: str):
        self.status, self.message = status, message


class Authenticator:
    def __init__(self, settings, http: urllib3.PoolManager):
        self.settings = settings
        self.http = http
        self.identity_url = settings.service_urls["identity"]
        self.principals = TTLCache(settings.cache_ttl)
        self.pats = TTLCache(settings.cache_ttl)
        self.stats = {"principal_lookups": 0, "pat_lookups": 0}
        # Bumped by every invalidation. A lookup that an invalidation overtook (identity answered
        # before the change, the event arrived before the answer was cached) is not cached, else
        # the stale answer would outlive the event by a whole TTL.
        self.generation = 0
        self._system_token = (0, "")
        # Hot-path memos (warm cache = no identity round trip and no repeated crypto):
        self._verified: dict = {}  # JWT -> its claims once the signature checked out (expiry re-checked on use)
        self._signed: dict = {}    # what a caller is -> (monotonic expiry, signed internal token)

    # ---- invalidation (called from the NATS thread on identity events)
    def on_identity_event(self, subject: str, env: dict | None) -> None:
        self.generation += 1
        data = (env or {}).get("data") or {}
        kind = subject.split(".", 1)[1] if "." in subject else subject
        if kind.startswith("token."):
            token_id = data.get("tokenId")
            self.pats.drop_where(lambda k, v: isinstance(v, dict) and v.get("tokenId") == token_id)
        elif kind.startswith(("member.", "org_member.", "user.")):
            user_id = data.get("userId") or (data.get("user") or {}).get("id")
            self.principals.drop_where(lambda k, v: k[0] == user_id)
        elif kind.startswith(("org.", "workspace.")):
            self._drop_scope(kind, data)

    def _drop_scope(self, kind: str, data: dict) -> None:
        """An org or workspace was created, renamed or deleted: drop the answers about it only —
        not the whole cache, which every sign-up (a personal org and workspace) would empty.
        Keys are (userId, orgSlug, wsSlug); a refusal cached for a slug that now exists goes too."""
        level = "org" if kind.startswith("org.") else "ws"
        part = data.get("org") if level == "org" else data.get("workspace")
        scope_id = (part or {}).get("id") or data.get("orgId" if level == "org" else "workspaceId")
        new_slug = (part or {}).get("slug")
        if not scope_id:
            self.principals.clear()
            return
        slot = 1 if level == "org" else 2

        def stale(key, value):
            if isinstance(value, _Missing):
                return new_slug is not None and key[slot] == new_slug
            return (value.get(level) or {}).get("id") == scope_id

        self.principals.drop_where(stale)

    def clear(self) -> None:
        self.generation += 1
        self.principals.clear()
        self.pats.clear()

    def forget_user(self, user_id: str) -> None:
        """Drop one user's cached principals: their own write through this gateway just changed
        them (accepted an invitation, changed their password…), and their next request must see
        it at once rather than when identity's event arrives."""
        self.generation += 1
        self.principals.drop_where(lambda k, v: k[0] == user_id)

    def forget_token(self, token_id: str) -> None:
        self.generation += 1
        self.pats.drop_where(lambda k, v: isinstance(v, dict) and v.get("tokenId") == token_id)

    # ---- the bearer token
    def authenticate(self, header: str | None) -> tuple[dict, dict | None]:
        """-> (claims {sub, pwv?}, pat info or None). Raises Unauthorized."""
        if not header or not header.lower().startswith("bearer "):
            raise Unauthorized("Missing bearer token")
        token = header[7:].strip()
        if not token:
            raise Unauthorized("Missing bearer token")
        if token.startswith(PAT_PREFIX):
            pat = self._resolve_pat(token)
            return {"sub": pat["userId"]}, pat
        claims = self._verified.get(token)
        if claims is not None:
            if claims["exp"] <= time.time():
                self._verified.pop(token, None)
                raise Unauthorized("Token expired")
            return claims, None
        try:
            claims = jwt.decode(token, self.settings.jwt_secret, algorithms=["HS256"],
                                options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("Token expired")
        except jwt.PyJWTError:
            raise Unauthorized("Invalid token")
        if claims.get("typ", "access") != "access" or not isinstance(claims["exp"], (int, float)):
            raise Unauthorized("Invalid token")
        if len(self._verified) > 20_000:  # bound memory: start over rather than track LRU
            self._verified.clear()
        self._verified[token] = claims
        return claims, None

    def _resolve_pat(self, token: str) -> dict:
        digest = hashlib.sha256(token.encode()).hexdigest()
        cached = self.pats.get(digest)
        now = time.time()
        if isinstance(cached, _Missing):
            raise Unauthorized(cached.message)
        if cached is not None and now - cached["_fetched"] < PAT_TOUCH_INTERVAL:
            if cached.get("_expires") and cached["_expires"] <= now:
                raise Unauthorized("Token expired")
            return cached
        self.stats["pat_lookups"] += 1
        generation = self.generation
        try:
            info = self._identity("POST", "/internal/pat", {"hash": digest})
        except Unauthorized as err:
            if generation == self.generation:
                self.pats.put(digest, _Missing(401, err.message), ttl=5)
            raise
        info["_fetched"] = now
        info["_expires"] = _epoch(info.get("expiresAt"))
        if generation == self.generation:
            self.pats.put(digest, info)
        return info

    # ---- the guard chain
    def principal(self, user_id: str, org: str | None, ws: str | None) -> dict:
        key = (user_id, org, ws)
        cached = self.principals.get(key)
        if isinstance(cached, _Missing):
            raise error_for_status(cached.status, cached.message)
        if cached is not None:
            return cached
        self.stats["principal_lookups"] += 1
        fields = {"userId": user_id}
        if org is not None:
            fields["org"] = org
        if ws is not None:
            fields["ws"] = ws
        generation = self.generation
        try:
            value = self._identity("GET", "/internal/principal", fields=fields)
        except NotFound as err:
            if generation == self.generation:
                self.principals.put(key, _Missing(404, err.message))
            raise
        if generation == self.generation:
            self.principals.put(key, value)
        return value

    def build_caller(self, claims: dict, pat: dict | None, principal: dict, request_id: str) -> Caller:
        user = principal["user"]
        if pat is None and claims.get("pwv", 0) != user.get("pwv", 0):
            raise Unauthorized("Token revoked (password changed)")
        return Caller(user_id=user["id"], email=user["email"], name=user.get("name") or "",
                      via="pat" if pat else "user", scopes=tuple(pat["scopes"]) if pat else ALL_SCOPES,
                      org=principal.get("org"), ws=principal.get("ws"), token_id=pat["tokenId"] if pat else None,
                      request_id=request_id)

    def signed_caller(self, caller: Caller) -> str:
        """The internal token for `caller`, reused for a few seconds: signing it on every request
        costs more than the rest of the warm path. The request id travels in X-Request-Id."""
        key = (caller.user_id, caller.email, caller.name, caller.via, caller.scopes, _frozen(caller.org),
               _frozen(caller.ws), caller.token_id)
        now = time.monotonic()
        hit = self._signed.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        ttl = self.settings.internal_token_ttl
        token = sign_caller(replace(caller, request_id=None), self.settings.internal_token_secret, ttl)
        if len(self._signed) > 20_000:
            self._signed.clear()
        self._signed[key] = (now + min(10.0, ttl / 2), token)  # always more than half its life left
        return token

    # ---- identity's internal endpoints
    def system_token(self) -> str:
        issued, token = self._system_token
        if time.time() - issued > 30:
            token = sign_caller(Caller(user_id="gateway", via="system", scopes=()),
                                self.settings.internal_token_secret, ttl=60)
            self._system_token = (time.time(), token)
        return token

    def _identity(self, method: str, path: str, body: dict | None = None, fields: dict | None = None) -> dict:
        headers = {"X-Stellary-Caller": self.system_token()}
        try:
            if body is not None:
                headers["Content-Type"] = "application/json"
                resp = self.http.request(method, self.identity_url + path, body=json.dumps(body).encode(),
                                         headers=headers, timeout=urllib3.Timeout(connect=2, read=10), retries=1)
            else:
                resp = self.http.request(method, self.identity_url + path, fields=fields, headers=headers,
                                         timeout=urllib3.Timeout(connect=2, read=10), retries=1)
        except urllib3.exceptions.HTTPError as exc:
            raise ServiceUnavailable("Service identity is unavailable") from exc
        try:
            payload = jsonio.loads(resp.data or b"{}")
        except BadRequest:
            raise ServiceUnavailable("Service identity answered garbage")
        if resp.status >= 400:
            if resp.status >= 500:
                raise ServiceUnavailable("Service identity is unavailable")
            raise error_for_status(resp.status, payload.get("message", "Error"))
        return payload


def _frozen(part: dict | None):
    return tuple(sorted(part.items())) if part else None


def _epoch(iso_text: str | None) -> float | None:
    if not iso_text:
        return None
    from datetime import datetime
    return datetime.fromisoformat(iso_text.replace("Z", "+00:00")).timestamp()


__all__ = ["Authenticator", "TTLCache", "ApiError"]
