"""Organizations: the caller's view of one (`myRole`), creation (the creator is its owner), rename,
deletion with everything in it (owner only; a personal organization stays), and joining one (`join`, the
one way a user becomes a member after its creation: added by an admin, or by accepting an invitation)."""
from __future__ import annotations

import re
import secrets

from libs.common.context import Caller
from libs.common.errors import Conflict, Forbidden, NotFound
from libs.common.mongo import new_id, now, unit_of_work

from .. import events
from ..invitations.storage import InvitationStore
from ..storage import Duplicate
from ..workspaces.storage import WorkspaceStore, WsMemberStore
from .storage import OrgMemberStore, OrgStore

ROLE_RANK = {"member": 0, "admin": 1, "owner": 2}


def org_event(org: dict) -> dict:
    return {"id": org["id"], "name": org["name"], "slug": org["slug"], "ownerId": org["ownerId"]}


def personal_slug(display: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", display.lower()).strip("-")[:40] or "user"
    return f"{base}-{secrets.token_hex(3)}"


class OrgsService:
    def __init__(self, *, store: OrgStore, members: OrgMemberStore, workspaces: WorkspaceStore,
                 ws_members: WsMemberStore, invitations: InvitationStore, client, outbox):
        self.store = store
        self.members = members
        self.workspaces = workspaces
        self.ws_members = ws_members
        self.invitations = invitations
        self.client = client
        self.outbox = outbox

    def get_or_raise(self, *, caller: Caller, slug: str) -> dict:
        """The org of the path as the caller sees it (`myRole`); 404 unless they are a member (the gateway
        checked it; we re-read)."""
        org = self.store.get_by_slug(slug)
        member = self.members.get(org["id"], caller.user_id) if org else None
        if not org or not member:
            raise NotFound("Organization not found")
        return org | {"myRole": member["role"]}

    @staticmethod
    def require_admin(org: dict) -> None:
        if ROLE_RANK[org["myRole"]] < ROLE_RANK["admin"]:
            raise Forbidden("Organization admin or owner role required")

    def list_orgs(self, *, caller: Caller) -> list[dict]:
        roles = {m["orgId"]: m["role"] for m in self.members.list_of_user(caller.user_id)}
        return [org | {"myRole": roles[org["id"]]} for org in self.store.list_by_ids(roles)]

    def create(self, *, caller: Caller, name: str, slug: str) -> dict:
        stamp = now()
        doc = {"_id": new_id(), "name": name, "slug": slug, "ownerId": caller.user_id, "isPersonal": False,
               "createdAt": stamp, "updatedAt": stamp}
        try:
            with unit_of_work(self.client) as s:
                org = self.store.insert(doc, session=s)
                self.members.insert(org_id=org["id"], user_id=caller.user_id, role="owner", stamp=stamp, session=s)
                events.publish(self.outbox, "identity.org.created", {"org": org_event(org)},
                               caller=caller, org_id=org["id"], session=s)
        except Duplicate:
            raise Conflict(f"Organization slug '{slug}' is already taken")
        return org | {"myRole": "owner"}

    def create_personal(self, *, owner_id: str, display: str, stamp, actor: dict, session) -> dict:
        """A new account's own organization (inside registration's unit of work)."""
        org = self.store.insert({"_id": new_id(), "name": f"{display}'s organization"[:100],
                                 "slug": personal_slug(display), "ownerId": owner_id, "isPersonal": True,
                                 "createdAt": stamp, "updatedAt": stamp}, session=session)
        self.members.insert(org_id=org["id"], user_id=owner_id, role="owner", stamp=stamp, session=session)
        events.publish(self.outbox, "identity.org.created", {"org": org_event(org)}, actor=actor,
                       org_id=org["id"], session=session)
        return org

    def update(self, *, caller: Caller, slug: str, data: dict) -> dict:
        org = self.get_or_raise(caller=caller, slug=slug)
        self.require_admin(org)
        if not data:
            return org
        try:
            with unit_of_work(self.client) as s:
                updated = self.store.update(org["id"], data, session=s)
                events.publish(self.outbox, "identity.org.updated", {"org": org_event(updated)},
                               caller=caller, org_id=org["id"], session=s)
        except Duplicate:
            raise Conflict(f"Organization slug '{data.get('slug')}' is already taken")
        return updated | {"myRole": org["myRole"]}

    def delete(self, *, caller: Caller, slug: str) -> None:
        """The org, its workspaces, their members and the invitations: other services hear
        `identity.org.deleted` (with the workspace ids) and delete their data."""
        org = self.get_or_raise(caller=caller, slug=slug)
        if org["myRole"] != "owner":
            raise Forbidden("Only the organization owner can delete it")
        if org.get("isPersonal"):
            raise Conflict("A personal organization cannot be deleted")
        with unit_of_work(self.client) as s:
            ws_ids = self.workspaces.ids_of_org(org["id"], session=s)
            self.invitations.delete_of_org(org["id"], session=s)
            self.ws_members.delete_of_org(org["id"], session=s)
            self.workspaces.delete_of_org(org["id"], session=s)
            self.members.delete_of_org(org["id"], session=s)
            self.store.delete(org["id"], session=s)
            events.publish(self.outbox, "identity.org.deleted",
                           {"orgId": org["id"], "slug": org["slug"], "workspaceIds": ws_ids},
                           caller=caller, org_id=org["id"], session=s)

    def join(self, *, caller: Caller, org: dict, user_id: str, role: str, session) -> dict:
        """`user_id` becomes a member (Duplicate if they are one), inside the caller's unit of work;
        notifications tell them when someone else added them (`identity.org_member.added`)."""
        member = self.members.insert(org_id=org["id"], user_id=user_id, role=role, stamp=now(), session=session)
        events.publish(self.outbox, "identity.org_member.added",
                       {"orgId": org["id"], "userId": user_id, "role": role, "orgSlug": org["slug"],
                        "orgName": org["name"]},
                       caller=caller, org_id=org["id"], session=session)
        return member
