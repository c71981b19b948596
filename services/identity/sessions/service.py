"""Sessions: a JWT for an email and password (login, throttled: throttle.py), the JWT itself (`issue`;
its `pwv` is the user's password version, so a password change ends the earlier ones at the gateway),
and the principal the gateway resolves a JWT's subject to on each request (cached there)."""
from __future__ import annotations

import time

import jwt

from libs.common.errors import NotFound, Unauthorized
from libs.common.mongo import is_id

from ..accounts.storage import UserStore
from ..orgs.storage import OrgMemberStore, OrgStore
from ..passwords import Passwords
from ..workspaces.service import WorkspacesService
from ..workspaces.storage import WorkspaceStore, WsMemberStore
from .throttle import Throttle


class SessionsService:
    def __init__(self, *, users: UserStore, throttle: Throttle, passwords: Passwords, settings,
                 workspaces: WorkspacesService, org_store: OrgStore, org_members: OrgMemberStore,
                 ws_store: WorkspaceStore, ws_members: WsMemberStore):
        self.users = users
        self.throttle = throttle
        self.passwords = passwords
        self.settings = settings
        self.workspaces = workspaces
        self.org_store = org_store
        self.org_members = org_members
        self.ws_store = ws_store
        self.ws_members = ws_members

    def issue(self, *, user: dict) -> str:
        issued = int(time.time())
        claims = {"sub": user["id"], "email": user["email"], "pwv": user.get("pwv", 0), "typ": "access",
                  "iat": issued, "exp": issued + self.settings.jwt_expires_in}
        return jwt.encode(claims, self.settings.jwt_secret, algorithm="HS256")

    def create(self, *, email: str, password: str, address: str = "") -> dict:
        """Log in -> {access_token, user (with its pilotageRole)}; 401 for a wrong email or password alike."""
        email = email.strip().lower()
        self.throttle.check(account=email, address=address)
        user = self.users.get_by_email(email)
        if not self.passwords.verify(user["passwordHash"] if user else None, password):
            self.throttle.failed(account=email, address=address)
            raise Unauthorized("Invalid email or password")
        self.throttle.succeeded(account=email, address=address)
        return {"access_token": self.issue(user=user),
                "user": user | {"pilotageRole": self.workspaces.pilotage_role(user_id=user["id"])}}

    def principal(self, *, user_id: str, org_slug: str | None, ws_slug: str | None) -> dict:
        """Who the caller is (`pwv` included) and their roles in the org / workspace named by the path
        -> {user, org?, ws?}; 401 for a user who no longer exists, 404 for a place they are not in."""
        user = self.users.get(user_id) if is_id(user_id) else None
        if not user:
            raise Unauthorized("User no longer exists")
        out = {"user": user}
        if org_slug is not None:
            org = self.org_store.get_by_slug(org_slug)
            member = self.org_members.get(org["id"], user_id) if org else None
            if not member:
                raise NotFound("Organization not found")
            out["org"] = org | {"role": member["role"]}
            if ws_slug is not None:
                ws = self.ws_store.get_by_slug(org["id"], ws_slug)
                ws_member = self.ws_members.get(ws["id"], user_id) if ws else None
                if not ws_member:
                    raise NotFound("Workspace not found")
                out["ws"] = ws | {"role": ws_member["role"],
                                  "pilotageRole": ws_member.get("pilotageRole", "viewer")}
        return out
