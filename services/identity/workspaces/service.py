"""Workspaces: the caller's view of one (`myRole`, `myPilotageRole`), creation (org admins; the creator
is its admin and pilotage owner), rename, deletion (workspace admins; a personal workspace stays), and
the pilotage role a user holds in their personal workspace (the one `/auth/me` shows)."""
from __future__ import annotations

from libs.common.context import Caller
from libs.common.errors import Conflict, Forbidden, NotFound
from libs.common.mongo import new_id, now, unit_of_work

from .. import events
from ..invitations.storage import InvitationStore
from ..orgs.service import OrgsService
from ..storage import Duplicate
from .storage import WorkspaceStore, WsMemberStore


def ws_event(ws: dict) -> dict:
    return {"id": ws["id"], "orgId": ws["orgId"], "name": ws["name"], "slug": ws["slug"]}


def as_member(ws: dict, member: dict) -> dict:
    """The workspace as one of its members sees it (`WorkspaceOut`)."""
    return ws | {"myRole": member["role"], "myPilotageRole": member.get("pilotageRole", "viewer")}


class WorkspacesService:
    def __init__(self, *, store: WorkspaceStore, members: WsMemberStore, orgs: OrgsService,
                 invitations: InvitationStore, client, outbox):
        self.store = store
        self.members = members
        self.orgs = orgs
        self.invitations = invitations
        self.client = client
        self.outbox = outbox

    def context(self, *, caller: Caller, org_slug: str, ws_slug: str) -> tuple[dict, dict]:
        """(the org, the workspace as the caller sees it) of the path; 404 unless they are a member of both."""
        org = self.orgs.get_or_raise(caller=caller, slug=org_slug)
        ws = self.store.get_by_slug(org["id"], ws_slug)
        member = self.members.get(ws["id"], caller.user_id) if ws else None
        if not ws or not member:
            raise NotFound("Workspace not found")
        return org, as_member(ws, member)

    def get_or_raise(self, *, caller: Caller, org_slug: str, ws_slug: str) -> dict:
        return self.context(caller=caller, org_slug=org_slug, ws_slug=ws_slug)[1]

    @staticmethod
    def require_admin(ws: dict) -> None:
        if ws["myRole"] != "admin":
            raise Forbidden("Workspace admin role required")

    def list_workspaces(self, *, caller: Caller, org_slug: str) -> list[dict]:
        org = self.orgs.get_or_raise(caller=caller, slug=org_slug)
        memberships = {m["workspaceId"]: m for m in self.members.list_of_user(caller.user_id, org["id"])}
        return [as_member(ws, memberships[ws["id"]]) for ws in self.store.list_by_ids(memberships)]

    def create(self, *, caller: Caller, org_slug: str, name: str, slug: str) -> dict:
        org = self.orgs.get_or_raise(caller=caller, slug=org_slug)
        self.orgs.require_admin(org)
        stamp = now()
        doc = {"_id": new_id(), "orgId": org["id"], "name": name, "slug": slug, "ownerId": caller.user_id,
               "isPersonal": False, "createdAt": stamp, "updatedAt": stamp}
        try:
            with unit_of_work(self.client) as s:
                ws = self.store.insert(doc, session=s)
                member = self.members.insert(ws_id=ws["id"], org_id=org["id"], user_id=caller.user_id, role="admin",
                                             pilotage_role="owner", stamp=stamp, session=s)
                events.publish(self.outbox, "identity.workspace.created", {"workspace": ws_event(ws)},
                               caller=caller, org_id=org["id"], workspace_id=ws["id"], session=s)
                events.publish(self.outbox, "identity.member.added",
                               {"workspaceId": ws["id"], "orgId": org["id"], "userId": caller.user_id,
                                "role": "admin", "pilotageRole": "owner"},
                               caller=caller, org_id=org["id"], workspace_id=ws["id"], session=s)
        except Duplicate:
            raise Conflict(f"Workspace slug '{slug}' is already taken in this organization")
        return as_member(ws, member)

    def create_personal(self, *, org: dict, owner_id: str, stamp, actor: dict, session) -> dict:
        """A new account's own workspace, in its own organization (inside registration's unit of work)."""
        ws = self.store.insert({"_id": new_id(), "orgId": org["id"], "name": "Personal", "slug": "personal",
                                "ownerId": owner_id, "isPersonal": True, "createdAt": stamp, "updatedAt": stamp},
                               session=session)
        self.members.insert(ws_id=ws["id"], org_id=org["id"], user_id=owner_id, role="admin", pilotage_role="owner",
                            stamp=stamp, session=session)
        events.publish(self.outbox, "identity.workspace.created", {"workspace": ws_event(ws)}, actor=actor,
                       org_id=org["id"], workspace_id=ws["id"], session=session)
        return ws

    def update(self, *, caller: Caller, org_slug: str, ws_slug: str, data: dict) -> dict:
        org, ws = self.context(caller=caller, org_slug=org_slug, ws_slug=ws_slug)
        self.require_admin(ws)
        if not data:
            return ws
        try:
            with unit_of_work(self.client) as s:
                updated = self.store.update(ws["id"], data, session=s)
                events.publish(self.outbox, "identity.workspace.updated", {"workspace": ws_event(updated)},
                               caller=caller, org_id=org["id"], workspace_id=ws["id"], session=s)
        except Duplicate:
            raise Conflict(f"Workspace slug '{data.get('slug')}' is already taken in this organization")
        return updated | {"myRole": ws["myRole"], "myPilotageRole": ws["myPilotageRole"]}

    def delete(self, *, caller: Caller, org_slug: str, ws_slug: str) -> None:
        """The workspace, its members and invitations: other services hear `identity.workspace.deleted`."""
        org, ws = self.context(caller=caller, org_slug=org_slug, ws_slug=ws_slug)
        self.require_admin(ws)
        if ws.get("isPersonal"):
            raise Conflict("A personal workspace cannot be deleted")
        with unit_of_work(self.client) as s:
            self.invitations.delete_of_workspace(ws["id"], session=s)
            self.members.delete_of_workspace(ws["id"], session=s)
            self.store.delete(ws["id"], session=s)
            events.publish(self.outbox, "identity.workspace.deleted", {"workspaceId": ws["id"], "orgId": org["id"]},
                           caller=caller, org_id=org["id"], workspace_id=ws["id"], session=s)

    def pilotage_role(self, *, user_id: str) -> str:
        """The user's pilotage role in their personal workspace ("viewer" without one)."""
        ws = self.store.get_personal(user_id)
        member = self.members.get(ws["id"], user_id) if ws else None
        return member.get("pilotageRole", "viewer") if member else "viewer"
