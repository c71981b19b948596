"""Workspace members: listed with their email and name, their roles changed (admins), removed (admins, or
oneself); a workspace keeps at least one admin. Other services ask who a member is over the bus
(`cmd.identity.workspace_member(s)`, worker.py): `get_or_raise`, `list_of_workspace`."""
from __future__ import annotations

from libs.common.context import Caller
from libs.common.errors import Conflict, NotFound
from libs.common.mongo import is_id, unit_of_work

from .. import events
from ..accounts.storage import UserStore
from .service import WorkspacesService
from .storage import WsMemberStore


class WsMembersService:
    def __init__(self, *, store: WsMemberStore, workspaces: WorkspacesService, users: UserStore, client, outbox):
        self.store = store
        self.workspaces = workspaces
        self.users = users
        self.client = client
        self.outbox = outbox

    def _target(self, ws: dict, user_id: str) -> dict:
        target = self.store.get(ws["id"], user_id) if is_id(user_id) else None
        if not target:
            raise NotFound("Member not found")
        return target

    def list_members(self, *, caller: Caller, org_slug: str, ws_slug: str) -> list[dict]:
        ws = self.workspaces.get_or_raise(caller=caller, org_slug=org_slug, ws_slug=ws_slug)
        return self.list_of_workspace(workspace_id=ws["id"])

    def update(self, *, caller: Caller, org_slug: str, ws_slug: str, user_id: str, data: dict) -> dict:
        org, ws = self.workspaces.context(caller=caller, org_slug=org_slug, ws_slug=ws_slug)
        target = self._target(ws, user_id)
        self.workspaces.require_admin(ws)
        if data.get("role") == "member" and target["role"] == "admin" and self.store.count_admins(ws["id"]) <= 1:
            raise Conflict("A workspace needs at least one admin")
        with unit_of_work(self.client) as s:
            updated = self.store.update(ws["id"], user_id, data, session=s)
            events.publish(self.outbox, "identity.member.updated",
                           {"workspaceId": ws["id"], "orgId": org["id"], "userId": user_id,
                            "role": updated["role"], "pilotageRole": updated.get("pilotageRole", "viewer")},
                           caller=caller, org_id=org["id"], workspace_id=ws["id"], session=s)
        return self.users.with_names([updated])[0]

    def delete(self, *, caller: Caller, org_slug: str, ws_slug: str, user_id: str) -> None:
        org, ws = self.workspaces.context(caller=caller, org_slug=org_slug, ws_slug=ws_slug)
        target = self._target(ws, user_id)
        if user_id != caller.user_id:
            self.workspaces.require_admin(ws)
        if target["role"] == "admin" and self.store.count_admins(ws["id"]) <= 1:
            raise Conflict("A workspace needs at least one admin")
        with unit_of_work(self.client) as s:
            self.store.delete(ws["id"], user_id, session=s)
            events.publish(self.outbox, "identity.member.removed",
                           {"workspaceId": ws["id"], "orgId": org["id"], "userId": user_id},
                           caller=caller, org_id=org["id"], workspace_id=ws["id"], session=s)

    # ---- for other services (cmd.identity.workspace_member, cmd.identity.workspace_members)
    def get_or_raise(self, *, workspace_id: str, user_id: str | None = None, email: str | None = None) -> dict:
        """The member row of a user (by id, or else by email) of a workspace; 404 if they are not one."""
        user = None
        if user_id:
            user = self.users.get(user_id) if is_id(user_id) else None
        elif email:
            user = self.users.get_by_email(email.strip().lower())
        member = self.store.get(workspace_id, user["id"]) if user else None
        if not member:
            raise NotFound("User is not a member of this workspace")
        return member | {"email": user["email"], "name": user.get("name")}

    def list_of_workspace(self, *, workspace_id: str) -> list[dict]:
        return self.users.with_names(self.store.list(workspace_id))
