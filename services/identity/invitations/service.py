"""Invitations: a workspace admin invites an address to the workspace (the token is in the answer, and
mailed when SMTP is set); adding an unknown address to an organization invites it there (orgs/members.py;
the token is only mailed). One live invitation per address and place: a new one replaces it. Accepting
(with an account of that address) joins the organization, and the workspace for a workspace's."""
from __future__ import annotations

import secrets
from datetime import timedelta

from libs.common.context import Caller
from libs.common.errors import Conflict, Forbidden, NotFound
from libs.common.mongo import aware, new_id, now, unit_of_work

from .. import events
from ..accounts.service import AccountsService
from ..orgs.service import OrgsService
from ..orgs.storage import OrgMemberStore, OrgStore
from ..passwords import sha256
from ..workspaces.service import WorkspacesService, as_member
from ..workspaces.storage import WorkspaceStore, WsMemberStore
from .storage import InvitationStore


class InvitationsService:
    def __init__(self, *, store: InvitationStore, accounts: AccountsService, orgs: OrgsService, org_store: OrgStore,
                 org_members: OrgMemberStore, workspaces: WorkspacesService, ws_store: WorkspaceStore,
                 ws_members: WsMemberStore, settings, client, outbox, mailer=None):
        self.store = store
        self.accounts = accounts
        self.orgs = orgs
        self.org_store = org_store
        self.org_members = org_members
        self.workspaces = workspaces
        self.ws_store = ws_store
        self.ws_members = ws_members
        self.settings = settings
        self.client = client
        self.outbox = outbox
        self.mailer = mailer

    def _new(self, *, caller: Caller, org: dict, email: str, role: str, **place) -> tuple[str, dict]:
        """A token and the invitation document that stores its digest (`place`: the workspace's fields,
        or kind "org")."""
        token = secrets.token_urlsafe(32)
        stamp = now()
        return token, {"_id": new_id(), "tokenHash": sha256(token), "orgId": org["id"], "email": email,
                       "role": role, **place, "invitedBy": caller.user_id,
                       "expiresAt": stamp + timedelta(seconds=self.settings.invitation_ttl), "acceptedAt": None,
                       "createdAt": stamp}

    def create(self, *, caller: Caller, org_slug: str, ws_slug: str, email: str, role: str,
               pilotage_role: str) -> dict:
        """An invitation to the workspace (admins), with its token."""
        org, ws = self.workspaces.context(caller=caller, org_slug=org_slug, ws_slug=ws_slug)
        self.workspaces.require_admin(ws)
        existing = self.accounts.get_by_email(email=email)
        if existing and self.ws_members.get(ws["id"], existing["id"]):
            raise Conflict("This user is already a member of the workspace")
        token, doc = self._new(caller=caller, org=org, email=email, role=role, workspaceId=ws["id"],
                               pilotageRole=pilotage_role)
        with unit_of_work(self.client) as s:
            previous = self.store.get_pending(email=email, ws_id=ws["id"])
            if previous:
                self.store.delete(previous["id"], session=s)
            inv = self.store.insert(doc, session=s)
            events.publish(self.outbox, "identity.invitation.created",
                           {"invitationId": inv["id"], "workspaceId": ws["id"], "email": email, "role": role},
                           caller=caller, org_id=org["id"], workspace_id=ws["id"], session=s)
        if self.mailer is not None:
            self.mailer.send_invitation(email=email, token=token, workspace=ws, org=org, inviter=caller)
        return inv | {"token": token}

    def create_for_org(self, *, caller: Caller, org: dict, email: str, role: str) -> None:
        """An invitation to the organization for an address without an account; its token is only mailed."""
        token, doc = self._new(caller=caller, org=org, email=email, role=role, workspaceId=None, kind="org")
        with unit_of_work(self.client) as s:
            previous = self.store.get_pending(email=email, org_id=org["id"])
            if previous:
                self.store.delete(previous["id"], session=s)
            self.store.insert(doc, session=s)
        if self.mailer is not None:
            self.mailer.send_org_invitation(email=email, token=token, org=org, inviter=caller)

    def accept(self, *, caller: Caller, token: str) -> dict:
        """-> {organization, workspace (None for an organization's invitation)}."""
        inv = self.store.get_by_hash(sha256(token))
        if not inv:
            raise NotFound("Invitation not found")
        if inv.get("acceptedAt"):
            raise Conflict("Invitation already accepted")
        if aware(inv["expiresAt"]) <= now():
            raise NotFound("Invitation expired")
        user = self.accounts.get_or_raise(user_id=caller.user_id)
        if user["email"] != inv["email"]:
            raise Forbidden("This invitation was sent to another email address")
        org = self.org_store.get(inv["orgId"])
        ws = self.ws_store.get(inv["workspaceId"]) if inv.get("kind") != "org" else None
        if not org or (inv.get("kind") != "org" and not ws):
            raise NotFound("Invitation not found")
        member = None
        with unit_of_work(self.client) as s:
            if not self.store.accept(inv["id"], user["id"], session=s):
                raise Conflict("Invitation already accepted")
            if not self.org_members.get(org["id"], user["id"]):
                self.orgs.join(caller=caller, org=org, user_id=user["id"],
                               role=inv["role"] if ws is None else "member", session=s)
            if ws is not None:
                member = self.ws_members.get(ws["id"], user["id"])
                if member is None:
                    member = self.ws_members.insert(ws_id=ws["id"], org_id=org["id"], user_id=user["id"],
                                                    role=inv["role"], pilotage_role=inv.get("pilotageRole", "viewer"),
                                                    stamp=now(), session=s)
                    events.publish(self.outbox, "identity.member.added",
                                   {"workspaceId": ws["id"], "orgId": org["id"], "userId": user["id"],
                                    "role": member["role"], "pilotageRole": member["pilotageRole"]},
                                   caller=caller, org_id=org["id"], workspace_id=ws["id"], session=s)
        return {"organization": org, "workspace": as_member(ws, member) if ws is not None else None}
