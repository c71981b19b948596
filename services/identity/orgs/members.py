"""Organization members: listed (owner, admins, members, then by arrival), added by email (admins),
their role changed (admins; the owner's stays), removed (admins, or oneself; never the owner, nor the
last admin of one of its workspaces) — removal takes their workspace memberships along."""
from __future__ import annotations

from libs.common.context import Caller
from libs.common.errors import Conflict, Forbidden, NotFound
from libs.common.mongo import is_id, unit_of_work

from .. import events
from ..accounts.storage import UserStore
from ..invitations.service import InvitationsService
from ..storage import Duplicate
from ..workspaces.storage import WorkspaceStore, WsMemberStore
from .service import ROLE_RANK, OrgsService
from .storage import OrgMemberStore


class OrgMembersService:
    def __init__(self, *, store: OrgMemberStore, orgs: OrgsService, users: UserStore, workspaces: WorkspaceStore,
                 ws_members: WsMemberStore, invitations: InvitationsService, client, outbox, mailer=None):
        self.store = store
        self.orgs = orgs
        self.users = users
        self.workspaces = workspaces
        self.ws_members = ws_members
        self.invitations = invitations
        self.client = client
        self.outbox = outbox
        self.mailer = mailer

    def _target(self, org: dict, user_id: str) -> dict:
        target = self.store.get(org["id"], user_id) if is_id(user_id) else None
        if not target:
            raise NotFound("Member not found")
        return target

    def list_members(self, *, caller: Caller, slug: str) -> list[dict]:
        org = self.orgs.get_or_raise(caller=caller, slug=slug)
        members = sorted(self.store.list(org["id"]), key=lambda m: (-ROLE_RANK[m["role"]], m["createdAt"]))
        return self.users.with_names(members)

    def create(self, *, caller: Caller, slug: str, email: str, role: str) -> dict:
        """The same answer whether an account has this email or not (no account oracle): a
        registered user becomes a member, is notified (a notification; a mail when SMTP is set)
        and may leave; an unknown address gets an organization invitation (mailed when SMTP is
        set; the token is never in the answer). 409 only for someone already listed as a member."""
        org = self.orgs.get_or_raise(caller=caller, slug=slug)
        self.orgs.require_admin(org)
        user = self.users.get_by_email(email)
        if user:
            try:
                with unit_of_work(self.client) as s:
                    self.orgs.join(caller=caller, org=org, user_id=user["id"], role=role, session=s)
            except Duplicate:
                raise Conflict("User is already a member of this organization")
            if self.mailer is not None:
                self.mailer.send_org_added(email=email, org=org, role=role, inviter=caller)
        else:
            self.invitations.create_for_org(caller=caller, org=org, email=email, role=role)
        return {"email": email, "role": role, "orgId": org["id"]}

    def update(self, *, caller: Caller, slug: str, user_id: str, role: str) -> dict:
        org = self.orgs.get_or_raise(caller=caller, slug=slug)
        target = self._target(org, user_id)
        self.orgs.require_admin(org)
        if target["role"] == "owner":
            raise Forbidden("The owner's role cannot be changed")
        with unit_of_work(self.client) as s:
            updated = self.store.set_role(org["id"], user_id, role, session=s)
            events.publish(self.outbox, "identity.org_member.updated",
                           {"orgId": org["id"], "userId": user_id, "role": role},
                           caller=caller, org_id=org["id"], session=s)
        return self.users.with_names([updated])[0]

    def delete(self, *, caller: Caller, slug: str, user_id: str) -> None:
        org = self.orgs.get_or_raise(caller=caller, slug=slug)
        target = self._target(org, user_id)
        if user_id != caller.user_id:
            self.orgs.require_admin(org)
        if target["role"] == "owner":
            raise Forbidden("The owner cannot be removed from the organization")
        for ws_member in self.ws_members.list_of_user(user_id, org["id"]):
            if ws_member["role"] == "admin" and self.ws_members.count_admins(ws_member["workspaceId"]) <= 1:
                ws = self.workspaces.get(ws_member["workspaceId"])
                raise Conflict(f"This member is the last admin of workspace '{ws['slug'] if ws else '?'}': "
                               "make someone else admin there first")
        with unit_of_work(self.client) as s:
            ws_ids = [m["workspaceId"] for m in self.ws_members.list_of_user(user_id, org["id"], session=s)]
            self.ws_members.delete_of_user(org["id"], user_id, session=s)
            self.store.delete(org["id"], user_id, session=s)
            for ws_id in ws_ids:
                events.publish(self.outbox, "identity.member.removed",
                               {"workspaceId": ws_id, "orgId": org["id"], "userId": user_id},
                               caller=caller, org_id=org["id"], workspace_id=ws_id, session=s)
            events.publish(self.outbox, "identity.org_member.removed",
                           {"orgId": org["id"], "userId": user_id, "workspaceIds": ws_ids},
                           caller=caller, org_id=org["id"], session=s)
