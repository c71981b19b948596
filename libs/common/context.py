"""The caller context the gateway forwards to services.

The gateway authenticates the bearer token and runs the org → workspace guard chain, then
forwards what it resolved as a short-lived HS256 token in the `X-Stellary-Caller` header.
Services verify it with the shared INTERNAL_TOKEN_SECRET and refuse any request without it:
a service is never reachable with a user's bearer token alone.

Claims (all strings unless noted):
    sub          user id                     via       "user" | "pat" | "automation" | "agent" | "mcp"
    email, name  the user's                  scopes    list of PAT scopes (JWT: every scope)
    org          {id, slug, role}            ws        {id, slug, role, pilotageRole} (both optional)
    tid          PAT id (when via == "pat")  rid       request id

A trusted internal client that calls the gateway's REST API with a user's own bearer token (the
mcp service) may label the change it makes with a `via` marker: the `X-Stellary-Via` header, a
short-lived HS256 token signed with the same secret, bound to the user (`sign_via` / `verify_via`).
The gateway checks it, sets the caller's `via` to it and never forwards the header; an outside
client cannot forge one.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import jwt
from flask import current_app, g, request

from .errors import Forbidden, NotFound, Unauthorized

HEADER = "X-Stellary-Caller"
AUDIENCE = "stellary-internal"
VIA_HEADER = "X-Stellary-Via"
VIA_AUDIENCE = "stellary-via"
MARKED_VIAS = ("mcp",)          # the `via` values a marker may carry
ALL_SCOPES = ("account:read", "account:write", "projects:read", "projects:write",
              "pilotage:read", "pilotage:write", "notifications:read")
PILOTAGE_RANK = {"viewer": 0, "reviewer": 1, "owner": 2}


@dataclass(frozen=True)  # shared: a verified token's Caller is reused (verify_caller)
class Caller:
    user_id: str
    email: str = ""
    name: str = ""
    via: str = "user"
    scopes: tuple = ALL_SCOPES
    org: dict | None = None
    ws: dict | None = None
    token_id: str | None = None
    request_id: str | None = None
    extra: dict = field(default_factory=dict)

    # --- derived, read-only helpers -------------------------------------------------
    @property
    def org_id(self) -> str | None:
        return self.org["id"] if self.org else None

    @property
    def workspace_id(self) -> str | None:
        return self.ws["id"] if self.ws else None

    @property
    def org_role(self) -> str | None:
        return self.org.get("role") if self.org else None

    @property
    def ws_role(self) -> str | None:
        return self.ws.get("role") if self.ws else None

    @property
    def pilotage_role(self) -> str | None:
        return self.ws.get("pilotageRole") if self.ws else None

    def actor(self) -> dict:
        """The `actor` of an event envelope."""
        return {"userId": self.user_id, "via": self.via}

    def claims(self) -> dict:
        out = {"sub": self.user_id, "email": self.email, "name": self.name, "via": self.via,
               "scopes": list(self.scopes)}
        if self.org:
            out["org"] = self.org
        if self.ws:
            out["ws"] = self.ws
        if self.token_id:
            out["tid"] = self.token_id
        if self.request_id:
            out["rid"] = self.request_id
        return out

    @classmethod
    def from_claims(cls, claims: dict) -> "Caller":
        return cls(user_id=claims["sub"], email=claims.get("email", ""), name=claims.get("name", ""),
                   via=claims.get("via", "user"), scopes=tuple(claims.get("scopes", ALL_SCOPES)),
                   org=claims.get("org"), ws=claims.get("ws"), token_id=claims.get("tid"),
                   request_id=claims.get("rid"))


def sign_caller(caller: Caller, secret: str, ttl: int = 60) -> str:
    now = int(time.time())
    payload = caller.claims() | {"aud": AUDIENCE, "iat": now, "exp": now + ttl}
    return jwt.encode(payload, secret, algorithm="HS256")


# Tokens this process verified, until they expire: the gateway reuses one for a few seconds
# (gateway/auth.py `signed_caller`), and decoding it again cost ~6 % of a service's time per request.
_VERIFIED: dict[tuple[str, str], tuple[float, "Caller"]] = {}
_VERIFIED_MAX = 10_000


def verify_caller(token: str, secret: str) -> Caller:
    key = (token, secret)
    hit = _VERIFIED.get(key)
    if hit is not None and hit[0] > time.time():
        return hit[1]
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], audience=AUDIENCE,
                            options={"require": ["exp", "sub"]})
    except jwt.PyJWTError as exc:
        raise Unauthorized("Invalid internal caller token") from exc
    verified = Caller.from_claims(claims)
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[key] = (float(claims["exp"]), verified)
    return verified


def sign_via(*, user_id: str, via: str, secret: str, ttl: int = 60) -> str:
    """The `X-Stellary-Via` marker: `user_id`'s requests carrying it are made `via` (e.g. "mcp")."""
    if via not in MARKED_VIAS:
        raise ValueError(f"not a marked via: {via!r}")
    now = int(time.time())
    return jwt.encode({"sub": user_id, "via": via, "aud": VIA_AUDIENCE, "iat": now, "exp": now + ttl},
                      secret, algorithm="HS256")


def verify_via(token: str, *, secret: str, user_id: str) -> str:
    """The `via` a marker carries for `user_id`. Raises Unauthorized when it is not ours, expired,
    or made for another user."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], audience=VIA_AUDIENCE,
                            options={"require": ["exp", "sub"]})
    except jwt.PyJWTError as exc:
        raise Unauthorized("Invalid via marker") from exc
    if claims["sub"] != user_id or claims.get("via") not in MARKED_VIAS:
        raise Unauthorized("Invalid via marker")
    return claims["via"]


def load_caller() -> Caller | None:
    """Flask before_request hook body: verify the header if present; `caller()` enforces it."""
    token = request.headers.get(HEADER)
    if not token:
        g.caller = None
        return None
    g.caller = verify_caller(token, current_app.config["INTERNAL_TOKEN_SECRET"])
    return g.caller


def caller() -> Caller:
    current = getattr(g, "caller", None)
    if current is None:
        raise Unauthorized("Missing caller context: services are reached through the gateway")
    return current


def workspace_caller(org_slug: str, ws_slug: str) -> Caller:
    """The caller, checked to be inside the workspace named by the path (the gateway's guard)."""
    current = caller()
    if not current.org or current.org.get("slug") != org_slug:
        raise NotFound("Organization not found")
    if not current.ws or current.ws.get("slug") != ws_slug:
        raise NotFound("Workspace not found")
    return current


def require_ws_admin(current: Caller, message: str = "Workspace admin role required") -> None:
    if current.ws_role != "admin":
        raise Forbidden(message)


def require_pilotage(current: Caller, minimum: str = "reviewer") -> None:
    rank = PILOTAGE_RANK.get(current.pilotage_role or "viewer", 0)
    if rank < PILOTAGE_RANK[minimum]:
        raise Forbidden(f"Pilotage role '{minimum}' or higher required")
