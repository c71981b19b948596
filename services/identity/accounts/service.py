"""Accounts: registration (the account, its personal organization and workspace, and a JWT, in one unit
of work), the caller's profile, their password (throttled like login: a stolen token must not become a
password oracle), and users by id for other services (`cmd.identity.users`)."""
from __future__ import annotations

from libs.common.context import Caller
from libs.common.errors import Conflict, Unauthorized
from libs.common.mongo import is_id, new_id, now, unit_of_work

from .. import events
from ..orgs.service import OrgsService
from ..passwords import Passwords
from ..sessions.service import SessionsService
from ..sessions.throttle import Throttle
from ..storage import Duplicate
from ..workspaces.service import WorkspacesService
from .storage import UserStore


def user_event(user: dict) -> dict:
    return {"id": user["id"], "email": user["email"], "name": user.get("name")}


class AccountsService:
    def __init__(self, *, store: UserStore, orgs: OrgsService, workspaces: WorkspacesService,
                 sessions: SessionsService, throttle: Throttle, passwords: Passwords, client, outbox):
        self.store = store
        self.orgs = orgs
        self.workspaces = workspaces
        self.sessions = sessions
        self.throttle = throttle
        self.passwords = passwords
        self.client = client
        self.outbox = outbox

    def get(self, *, user_id: str) -> dict | None:
        return self.store.get(user_id) if is_id(user_id) else None

    def get_by_email(self, *, email: str) -> dict | None:
        return self.store.get_by_email(email)

    def get_or_raise(self, *, user_id: str) -> dict:
        """The caller's account; 401 once it is gone (their token outlived it)."""
        user = self.get(user_id=user_id)
        if not user:
            raise Unauthorized("User no longer exists")
        return user

    def create(self, *, email: str, password: str, name: str | None) -> dict:
        """Register -> {access_token, user}: the account, its personal organization (owner) and
        workspace (admin, pilotage owner)."""
        if self.store.get_by_email(email):
            raise Conflict("Email already registered")
        stamp = now()
        display = (name or email.split("@")[0]).strip() or "me"
        doc = {"_id": new_id(), "email": email, "name": name, "passwordHash": self.passwords.hash(password),
               "pwv": 0, "createdAt": stamp, "updatedAt": stamp}
        actor = {"userId": doc["_id"], "via": "user"}
        try:
            with unit_of_work(self.client) as s:
                user = self.store.insert(doc, session=s)
                events.publish(self.outbox, "identity.user.registered", {"user": user_event(user)},
                               actor=actor, session=s)
                org = self.orgs.create_personal(owner_id=user["id"], display=display, stamp=stamp, actor=actor,
                                                session=s)
                self.workspaces.create_personal(org=org, owner_id=user["id"], stamp=stamp, actor=actor, session=s)
        except Duplicate:
            raise Conflict("Email already registered")
        return {"access_token": self.sessions.issue(user=user), "user": user}

    def read(self, *, caller: Caller) -> dict:
        """The caller's account with its pilotage role."""
        user = self.get_or_raise(user_id=caller.user_id)
        return user | {"pilotageRole": self.workspaces.pilotage_role(user_id=user["id"])}

    def update(self, *, caller: Caller, data: dict) -> dict:
        user = self.get_or_raise(user_id=caller.user_id)
        if data:
            with unit_of_work(self.client) as s:
                user = self.store.update(user["id"], data, session=s)
                events.publish(self.outbox, "identity.user.updated", {"user": user_event(user)},
                               caller=caller, session=s)
        return user | {"pilotageRole": self.workspaces.pilotage_role(user_id=user["id"])}

    def change_password(self, *, caller: Caller, current: str, new: str, address: str = "") -> dict:
        """-> {access_token}: earlier JWTs stop working (the gateway compares `pwv`), so the caller
        gets a fresh one."""
        user = self.get_or_raise(user_id=caller.user_id)
        self.throttle.check(account=user["id"], address=address)
        if not self.passwords.verify(user.get("passwordHash"), current):
            self.throttle.failed(account=user["id"], address=address)
            raise Unauthorized("Current password is incorrect")
        self.throttle.succeeded(account=user["id"], address=address)
        with unit_of_work(self.client) as s:
            user = self.store.update(user["id"], {"passwordHash": self.passwords.hash(new)}, inc={"pwv": 1},
                                     session=s)
            events.publish(self.outbox, "identity.user.password_changed", {"userId": user["id"]},
                           caller=caller, session=s)
        return {"access_token": self.sessions.issue(user=user)}

    def list_users(self, *, ids: list[str]) -> list[dict]:
        return self.store.list_by_ids(i for i in ids if is_id(i))
