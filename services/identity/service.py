"""Identity's domain logic: accounts, organizations, workspaces, memberships, invitations, tokens.

Functions take keyword-only arguments and return the API's JSON shapes. Every write that other
services must hear about records its event in the outbox inside the same unit of work.
"""
from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from datetime import timedelta

import jwt

from libs.common.context import ALL_SCOPES, Caller
from libs.common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
)
from libs.common.mongo import aware, is_id, iso, new_id, now, unit_of_work

from . import events
from .storage import Duplicate
from .throttle import Throttle

log = logging.getLogger(__name__)
ORG_ROLE_RANK = {"member": 0, "admin": 1, "owner": 2}
PAT_PREFIX = "synth_"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class IdentityService:
    def __init__(self, *, store, outbox, client, settings, passwords, mailer=None):
        self.store = store
        self.outbox = outbox
        self.client = client
        self.settings = settings
        self.passwords = passwords
        self.mailer = mailer
        self.login_throttle = Throttle(store=store, settings=settings, kind="login")
        self.password_throttle = Throttle(store=store, settings=settings, kind="password")

    # ------------------------------------------------------------------ shapes
    @staticmethod
    def user_out(user: dict, pilotage_role: str | None = None) -> dict:
        out = {"id": user["id"], "email": user["email"], "name": user.get("name")}
        if pilotage_role is not None:
            out["pilotageRole"] = pilotage_role
        return out

    @staticmethod
    def org_out(org: dict, my_role: str | None = None) -> dict:
        out = {"id": org["id"], "name": org["name"], "slug": org["slug"], "ownerId": org["ownerId"],
               "isPersonal": org.get("isPersonal", False), "createdAt": iso(org["createdAt"]),
               "updatedAt": iso(org.get("updatedAt") or org["createdAt"])}
        if my_role is not None:
            out["myRole"] = my_role
        return out

    @staticmethod
    def ws_out(ws: dict, member: dict | None = None) -> dict:
        out = {"id": ws["id"], "name": ws["name"], "slug": ws["slug"], "organizationId": ws["orgId"],
               "ownerId": ws["ownerId"], "isPersonal": ws.get("isPersonal", False)}
        if member is not None:
            out["myRole"] = member["role"]
            out["myPilotageRole"] = member.get("pilotageRole", "viewer")
        out["createdAt"] = iso(ws["createdAt"])
        out["updatedAt"] = iso(ws.get("updatedAt") or ws["createdAt"])
        return out

    @staticmethod
    def token_out(tok: dict) -> dict:
        return {"id": tok["id"], "name": tok["name"], "prefix": tok["prefix"], "scopes": tok["scopes"],
                "expiresAt": iso(tok.get("expiresAt")), "lastUsedAt": iso(tok.get("lastUsedAt")),
                "createdAt": iso(tok["createdAt"])}

    # ------------------------------------------------------------------ auth
    def issue_jwt(self, user: dict) -> str:
        issued = int(time.time())
        claims = {"sub": user["id"], "email": user["email"], "pwv": user.get("pwv", 0), "typ": "access",
                  "iat": issued, "exp": issued + self.settings.jwt_expires_in}
        return jwt.encode(claims, self.settings.jwt_secret, algorithm="HS256")

    def register(self, *, email: str, password: str, name: str | None) -> dict:
        if self.store.get_user_by_email(email):
            raise Conflict("Email already registered")
        stamp = now()
        display = (name or email.split("@")[0]).strip() or "me"
        user = {"_id": new_id(), "email": email, "name": name, "passwordHash": self.passwords.hash(password),
                "pwv": 0, "createdAt": stamp, "updatedAt": stamp}
        org = {"_id": new_id(), "name": f"{display}'s organization"[:100], "slug": self._personal_slug(display),
               "ownerId": user["_id"], "isPersonal": True, "createdAt": stamp, "updatedAt": stamp}
        ws = {"_id": new_id(), "orgId": org["_id"], "name": "Personal", "slug": "personal",
              "ownerId": user["_id"], "isPersonal": True, "createdAt": stamp, "updatedAt": stamp}
        try:
            with unit_of_work(self.client) as s:
                created = self.store.insert_user(user, session=s)
                self.store.insert_org(org, session=s)
                self.store.insert_org_member({"_id": new_id(), "orgId": org["_id"], "userId": user["_id"],
                                              "role": "owner", "createdAt": stamp}, session=s)
                self.store.insert_workspace(ws, session=s)
                self.store.insert_ws_member({"_id": new_id(), "workspaceId": ws["_id"], "orgId": org["_id"],
                                             "userId": user["_id"], "role": "admin", "pilotageRole": "owner",
                                             "createdAt": stamp}, session=s)
                actor = {"userId": user["_id"], "via": "user"}
                events.publish(self.outbox, "identity.user.registered", {"user": self.user_out(created)},
                               actor=actor, session=s)
                events.publish(self.outbox, "identity.org.created", {"org": self._org_event(org | {"id": org["_id"]})},
                               actor=actor, org_id=org["_id"], session=s)
                events.publish(self.outbox, "identity.workspace.created",
                               {"workspace": self._ws_event(ws | {"id": ws["_id"]})}, actor=actor,
                               org_id=org["_id"], workspace_id=ws["_id"], session=s)
        except Duplicate:
            raise Conflict("Email already registered")
        return {"access_token": self.issue_jwt(created), "user": self.user_out(created)}

    def _personal_slug(self, display: str) -> str:
        base = re.sub(r"[^a-z0-9]+", "-", display.lower()).strip("-")[:40] or "user"
        return f"{base}-{secrets.token_hex(3)}"

    def login(self, *, email: str, password: str, address: str = "") -> dict:
        email = email.strip().lower()
        self.login_throttle.check(account=email, address=address)
        user = self.store.get_user_by_email(email)
        if not self.passwords.verify(user["passwordHash"] if user else None, password):
            self.login_throttle.failed(account=email, address=address)
            raise Unauthorized("Invalid email or password")
        self.login_throttle.succeeded(account=email, address=address)
        return {"access_token": self.issue_jwt(user), "user": self.user_out(user, self._pilotage_role(user["id"]))}

    def _pilotage_role(self, user_id: str) -> str:
        ws = self.store.personal_workspace_of(user_id)
        member = self.store.get_ws_member(ws["id"], user_id) if ws else None
        return member.get("pilotageRole", "viewer") if member else "viewer"

    def me(self, *, caller: Caller) -> dict:
        user = self._user_or_401(caller.user_id)
        return {"user": self.user_out(user, self._pilotage_role(user["id"]))}

    def update_me(self, *, caller: Caller, data: dict) -> dict:
        user = self._user_or_401(caller.user_id)
        if data:
            with unit_of_work(self.client) as s:
                user = self.store.update_user(user["id"], data, session=s)
                events.publish(self.outbox, "identity.user.updated", {"user": self.user_out(user)},
                               caller=caller, session=s)
        return {"user": self.user_out(user, self._pilotage_role(user["id"]))}

    def change_password(self, *, caller: Caller, current: str, new: str, address: str = "") -> dict:
        """Throttled like login (a stolen token must not become a password oracle)."""
        user = self._user_or_401(caller.user_id)
        self.password_throttle.check(account=user["id"], address=address)
        full = self.store.users.find_one({"_id": user["id"]})
        if not self.passwords.verify(full.get("passwordHash"), current):
            self.password_throttle.failed(account=user["id"], address=address)
            raise Unauthorized("Current password is incorrect")
        self.password_throttle.succeeded(account=user["id"], address=address)
        with unit_of_work(self.client) as s:
            user = self.store.update_user(user["id"], {"passwordHash": self.passwords.hash(new)}, inc={"pwv": 1},
                                          session=s)
            events.publish(self.outbox, "identity.user.password_changed", {"userId": user["id"]},
                           caller=caller, session=s)
        # Earlier JWTs stop working (the gateway compares `pwv`); hand the caller a fresh one.
        return {"ok": True, "access_token": self.issue_jwt(user)}

    def _user_or_401(self, user_id: str) -> dict:
        user = self.store.get_user(user_id)
        if not user:
            raise Unauthorized("User no longer exists")
        return user

    # ------------------------------------------------------------------ organizations
    @staticmethod
    def _org_event(org):
        return {"id": org["id"], "name": org["name"], "slug": org["slug"], "ownerId": org["ownerId"]}

    @staticmethod
    def _ws_event(ws):
        return {"id": ws["id"], "orgId": ws["orgId"], "name": ws["name"], "slug": ws["slug"]}

    def _org_context(self, caller: Caller, slug: str) -> tuple[dict, dict]:
        """The org named by the path and the caller's membership (the gateway checked it; we re-read)."""
        org = self.store.get_org_by_slug(slug)
        member = self.store.get_org_member(org["id"], caller.user_id) if org else None
        if not org or not member:
            raise NotFound("Organization not found")
        return org, member

    @staticmethod
    def _require_org_admin(member: dict) -> None:
        if ORG_ROLE_RANK[member["role"]] < ORG_ROLE_RANK["admin"]:
            raise Forbidden("Organization admin or owner role required")

    def create_org(self, *, caller: Caller, name: str, slug: str) -> dict:
        stamp = now()
        org = {"_id": new_id(), "name": name, "slug": slug, "ownerId": caller.user_id, "isPersonal": False,
               "createdAt": stamp, "updatedAt": stamp}
        try:
            with unit_of_work(self.client) as s:
                created = self.store.insert_org(org, session=s)
                self.store.insert_org_member({"_id": new_id(), "orgId": org["_id"], "userId": caller.user_id,
                                              "role": "owner", "createdAt": stamp}, session=s)
                events.publish(self.outbox, "identity.org.created", {"org": self._org_event(created)},
                               caller=caller, org_id=created["id"], session=s)
        except Duplicate:
            raise Conflict(f"Organization slug '{slug}' is already taken")
        return self.org_out(created, "owner")

    def list_orgs(self, *, caller: Caller) -> list[dict]:
        memberships = {m["orgId"]: m["role"] for m in self.store.memberships_of(caller.user_id)}
        return [self.org_out(o, memberships[o["id"]]) for o in self.store.orgs_by_ids(memberships)]

    def get_org(self, *, caller: Caller, slug: str) -> dict:
        org, member = self._org_context(caller, slug)
        return self.org_out(org, member["role"])

    def update_org(self, *, caller: Caller, slug: str, data: dict) -> dict:
        org, member = self._org_context(caller, slug)
        self._require_org_admin(member)
        if not data:
            return self.org_out(org, member["role"])
        try:
            with unit_of_work(self.client) as s:
                org = self.store.update_org(org["id"], data, session=s)
                events.publish(self.outbox, "identity.org.updated", {"org": self._org_event(org)},
                               caller=caller, org_id=org["id"], session=s)
        except Duplicate:
            raise Conflict(f"Organization slug '{data.get('slug')}' is already taken")
        return self.org_out(org, member["role"])

    def delete_org(self, *, caller: Caller, slug: str) -> dict:
        org, member = self._org_context(caller, slug)
        if member["role"] != "owner":
            raise Forbidden("Only the organization owner can delete it")
        if org.get("isPersonal"):
            raise Conflict("A personal organization cannot be deleted")
        with unit_of_work(self.client) as s:
            ws_ids = self.store.delete_org_cascade(org["id"], session=s)
            events.publish(self.outbox, "identity.org.deleted",
                           {"orgId": org["id"], "slug": org["slug"], "workspaceIds": ws_ids},
                           caller=caller, org_id=org["id"], session=s)
        return {"ok": True}

    # ------------------------------------------------------------------ org members
    def _member_row(self, member: dict, user: dict | None) -> dict:
        return {"userId": member["userId"], "role": member["role"], "email": user["email"] if user else None,
                "name": user.get("name") if user else None, "joinedAt": iso(member["createdAt"])}

    def list_org_members(self, *, caller: Caller, slug: str) -> list[dict]:
        org, _ = self._org_context(caller, slug)
        members = self.store.list_org_members(org["id"])
        users = {u["id"]: u for u in self.store.users_by_ids(m["userId"] for m in members)}
        members.sort(key=lambda m: (-ORG_ROLE_RANK[m["role"]], m["createdAt"]))
        return [self._member_row(m, users.get(m["userId"])) for m in members]

    def add_org_member(self, *, caller: Caller, slug: str, email: str, role: str) -> dict:
        """The same answer whether an account has this email or not (no account oracle): a
        registered user becomes a member, is notified (a notification; a mail when SMTP is set)
        and may leave; an unknown address gets an organization invitation (mailed when SMTP is
        set; the token is never in the answer). 409 only for someone already listed as a member."""
        org, member = self._org_context(caller, slug)
        self._require_org_admin(member)
        user = self.store.get_user_by_email(email)
        stamp = now()
        if user:
            doc = {"_id": new_id(), "orgId": org["id"], "userId": user["id"], "role": role, "createdAt": stamp}
            try:
                with unit_of_work(self.client) as s:
                    self.store.insert_org_member(doc, session=s)
                    events.publish(self.outbox, "identity.org_member.added",
                                   {"orgId": org["id"], "userId": user["id"], "role": role, "orgSlug": org["slug"],
                                    "orgName": org["name"]},
                                   caller=caller, org_id=org["id"], session=s)
            except Duplicate:
                raise Conflict("User is already a member of this organization")
            if self.mailer is not None:
                self.mailer.send_org_added(email=email, org=org, role=role, inviter=caller)
        else:
            token = secrets.token_urlsafe(32)
            invitation = {"_id": new_id(), "tokenHash": sha256(token), "workspaceId": None, "orgId": org["id"],
                          "email": email, "role": role, "kind": "org", "invitedBy": caller.user_id,
                          "expiresAt": stamp + timedelta(seconds=self.settings.invitation_ttl), "acceptedAt": None,
                          "createdAt": stamp}
            with unit_of_work(self.client) as s:
                previous = self.store.pending_org_invitation(org["id"], email)
                if previous:
                    self.store.delete_invitation(previous["id"], session=s)
                self.store.insert_invitation(invitation, session=s)
            if self.mailer is not None:
                self.mailer.send_org_invitation(email=email, token=token, org=org, inviter=caller)
        return {"ok": True, "email": email, "role": role, "organizationId": org["id"]}

    def _target_org_member(self, org: dict, user_id: str) -> dict:
        target = self.store.get_org_member(org["id"], user_id) if is_id(user_id) else None
        if not target:
            raise NotFound("Member not found")
        return target

    def update_org_member(self, *, caller: Caller, slug: str, user_id: str, role: str) -> dict:
        org, member = self._org_context(caller, slug)
        target = self._target_org_member(org, user_id)
        self._require_org_admin(member)
        if target["role"] == "owner":
            raise Forbidden("The owner's role cannot be changed")
        with unit_of_work(self.client) as s:
            updated = self.store.set_org_member_role(org["id"], user_id, role, session=s)
            events.publish(self.outbox, "identity.org_member.updated",
                           {"orgId": org["id"], "userId": user_id, "role": role},
                           caller=caller, org_id=org["id"], session=s)
        return self._member_row(updated, self.store.get_user(user_id))

    def remove_org_member(self, *, caller: Caller, slug: str, user_id: str) -> dict:
        org, member = self._org_context(caller, slug)
        target = self._target_org_member(org, user_id)
        if user_id != caller.user_id:
            self._require_org_admin(member)
        if target["role"] == "owner":
            raise Forbidden("The owner cannot be removed from the organization")
        for ws_member in self.store.ws_memberships_of(user_id, org["id"]):
            if ws_member["role"] == "admin" and self.store.count_ws_admins(ws_member["workspaceId"]) <= 1:
                ws = self.store.get_workspace(ws_member["workspaceId"])
                raise Conflict(f"This member is the last admin of workspace '{ws['slug'] if ws else '?'}': "
                               "make someone else admin there first")
        with unit_of_work(self.client) as s:
            ws_ids = self.store.delete_org_member(org["id"], user_id, session=s)
            for ws_id in ws_ids:
                events.publish(self.outbox, "identity.member.removed",
                               {"workspaceId": ws_id, "orgId": org["id"], "userId": user_id},
                               caller=caller, org_id=org["id"], workspace_id=ws_id, session=s)
            events.publish(self.outbox, "identity.org_member.removed",
                           {"orgId": org["id"], "userId": user_id, "workspaceIds": ws_ids},
                           caller=caller, org_id=org["id"], session=s)
        return {"ok": True}

    # ------------------------------------------------------------------ workspaces
    def _ws_context(self, caller: Caller, org_slug: str, ws_slug: str) -> tuple[dict, dict, dict]:
        org, org_member = self._org_context(caller, org_slug)
        ws = self.store.get_workspace_by_slug(org["id"], ws_slug)
        member = self.store.get_ws_member(ws["id"], caller.user_id) if ws else None
        if not ws or not member:
            raise NotFound("Workspace not found")
        return org, ws, member

    @staticmethod
    def _require_ws_admin(member: dict) -> None:
        if member["role"] != "admin":
            raise Forbidden("Workspace admin role required")

    def create_workspace(self, *, caller: Caller, org_slug: str, name: str, slug: str) -> dict:
        org, member = self._org_context(caller, org_slug)
        self._require_org_admin(member)
        stamp = now()
        ws = {"_id": new_id(), "orgId": org["id"], "name": name, "slug": slug, "ownerId": caller.user_id,
              "isPersonal": False, "createdAt": stamp, "updatedAt": stamp}
        ws_member = {"_id": new_id(), "workspaceId": ws["_id"], "orgId": org["id"], "userId": caller.user_id,
                     "role": "admin", "pilotageRole": "owner", "createdAt": stamp}
        try:
            with unit_of_work(self.client) as s:
                created = self.store.insert_workspace(ws, session=s)
                self.store.insert_ws_member(ws_member, session=s)
                events.publish(self.outbox, "identity.workspace.created", {"workspace": self._ws_event(created)},
                               caller=caller, org_id=org["id"], workspace_id=created["id"], session=s)
                events.publish(self.outbox, "identity.member.added",
                               {"workspaceId": created["id"], "orgId": org["id"], "userId": caller.user_id,
                                "role": "admin", "pilotageRole": "owner"},
                               caller=caller, org_id=org["id"], workspace_id=created["id"], session=s)
        except Duplicate:
            raise Conflict(f"Workspace slug '{slug}' is already taken in this organization")
        return self.ws_out(created, ws_member)

    def list_workspaces(self, *, caller: Caller, org_slug: str) -> list[dict]:
        org, _ = self._org_context(caller, org_slug)
        memberships = {m["workspaceId"]: m for m in self.store.ws_memberships_of(caller.user_id, org["id"])}
        return [self.ws_out(w, memberships[w["id"]]) for w in self.store.workspaces_by_ids(memberships)]

    def get_workspace(self, *, caller: Caller, org_slug: str, ws_slug: str) -> dict:
        _, ws, member = self._ws_context(caller, org_slug, ws_slug)
        return self.ws_out(ws, member)

    def update_workspace(self, *, caller: Caller, org_slug: str, ws_slug: str, data: dict) -> dict:
        org, ws, member = self._ws_context(caller, org_slug, ws_slug)
        self._require_ws_admin(member)
        if not data:
            return self.ws_out(ws, member)
        try:
            with unit_of_work(self.client) as s:
                ws = self.store.update_workspace(ws["id"], data, session=s)
                events.publish(self.outbox, "identity.workspace.updated", {"workspace": self._ws_event(ws)},
                               caller=caller, org_id=org["id"], workspace_id=ws["id"], session=s)
        except Duplicate:
            raise Conflict(f"Workspace slug '{data.get('slug')}' is already taken in this organization")
        return self.ws_out(ws, member)

    def delete_workspace(self, *, caller: Caller, org_slug: str, ws_slug: str) -> dict:
        org, ws, member = self._ws_context(caller, org_slug, ws_slug)
        self._require_ws_admin(member)
        if ws.get("isPersonal"):
            raise Conflict("A personal workspace cannot be deleted")
        with unit_of_work(self.client) as s:
            self.store.delete_workspace_cascade(ws["id"], session=s)
            events.publish(self.outbox, "identity.workspace.deleted", {"workspaceId": ws["id"], "orgId": org["id"]},
                           caller=caller, org_id=org["id"], workspace_id=ws["id"], session=s)
        return {"ok": True}

    # ------------------------------------------------------------------ workspace members
    def _ws_member_row(self, m: dict, user: dict | None) -> dict:
        return {"userId": m["userId"], "email": user["email"] if user else None,
                "name": user.get("name") if user else None, "role": m["role"],
                "pilotageRole": m.get("pilotageRole", "viewer"), "joinedAt": iso(m["createdAt"])}

    def list_ws_members(self, *, caller: Caller, org_slug: str, ws_slug: str) -> list[dict]:
        _, ws, _ = self._ws_context(caller, org_slug, ws_slug)
        members = self.store.list_ws_members(ws["id"])
        users = {u["id"]: u for u in self.store.users_by_ids(m["userId"] for m in members)}
        return [self._ws_member_row(m, users.get(m["userId"])) for m in members]

    def invite(self, *, caller: Caller, org_slug: str, ws_slug: str, email: str, role: str,
               pilotage_role: str) -> dict:
        org, ws, member = self._ws_context(caller, org_slug, ws_slug)
        self._require_ws_admin(member)
        existing_user = self.store.get_user_by_email(email)
        if existing_user and self.store.get_ws_member(ws["id"], existing_user["id"]):
            raise Conflict("This user is already a member of the workspace")
        token = secrets.token_urlsafe(32)
        stamp = now()
        doc = {"_id": new_id(), "tokenHash": sha256(token), "workspaceId": ws["id"], "orgId": org["id"],
               "email": email, "role": role, "pilotageRole": pilotage_role, "invitedBy": caller.user_id,
               "expiresAt": stamp + timedelta(seconds=self.settings.invitation_ttl), "acceptedAt": None,
               "createdAt": stamp}
        with unit_of_work(self.client) as s:
            previous = self.store.pending_invitation(ws["id"], email)
            if previous:  # one live invitation per address: the new token replaces the old one
                self.store.delete_invitation(previous["id"], session=s)
            inv = self.store.insert_invitation(doc, session=s)
            events.publish(self.outbox, "identity.invitation.created",
                           {"invitationId": inv["id"], "workspaceId": ws["id"], "email": email, "role": role},
                           caller=caller, org_id=org["id"], workspace_id=ws["id"], session=s)
        if self.mailer is not None:
            self.mailer.send_invitation(email=email, token=token, workspace=ws, org=org, inviter=caller)
        return {"id": inv["id"], "email": email, "role": role, "pilotageRole": pilotage_role,
                "workspaceId": ws["id"], "organizationId": org["id"], "status": "pending",
                "expiresAt": iso(inv["expiresAt"]), "token": token, "createdAt": iso(inv["createdAt"])}

    def accept_invitation(self, *, caller: Caller, token: str) -> dict:
        inv = self.store.get_invitation_by_hash(sha256(token))
        if not inv:
            raise NotFound("Invitation not found")
        if inv.get("acceptedAt"):
            raise Conflict("Invitation already accepted")
        if aware(inv["expiresAt"]) <= now():
            raise NotFound("Invitation expired")
        user = self._user_or_401(caller.user_id)
        if user["email"] != inv["email"]:
            raise Forbidden("This invitation was sent to another email address")
        if inv.get("kind") == "org":
            return self._accept_org_invitation(caller, inv, user)
        ws = self.store.get_workspace(inv["workspaceId"])
        org = self.store.get_org(inv["orgId"])
        if not ws or not org:
            raise NotFound("Invitation not found")
        stamp = now()
        with unit_of_work(self.client) as s:
            if not self.store.mark_invitation_accepted(inv["id"], user["id"], session=s):
                raise Conflict("Invitation already accepted")
            if not self.store.get_org_member(org["id"], user["id"]):
                self.store.insert_org_member({"_id": new_id(), "orgId": org["id"], "userId": user["id"],
                                              "role": "member", "createdAt": stamp}, session=s)
                events.publish(self.outbox, "identity.org_member.added",
                               {"orgId": org["id"], "userId": user["id"], "role": "member"},
                               caller=caller, org_id=org["id"], session=s)
            member = self.store.get_ws_member(ws["id"], user["id"])
            if member is None:
                member = self.store.insert_ws_member({"_id": new_id(), "workspaceId": ws["id"], "orgId": org["id"],
                                                      "userId": user["id"], "role": inv["role"],
                                                      "pilotageRole": inv.get("pilotageRole", "viewer"),
                                                      "createdAt": stamp}, session=s)
                events.publish(self.outbox, "identity.member.added",
                               {"workspaceId": ws["id"], "orgId": org["id"], "userId": user["id"],
                                "role": member["role"], "pilotageRole": member["pilotageRole"]},
                               caller=caller, org_id=org["id"], workspace_id=ws["id"], session=s)
        return {"ok": True, "organization": {"id": org["id"], "slug": org["slug"], "name": org["name"]},
                "workspace": self.ws_out(ws, member)}

    def _accept_org_invitation(self, caller: Caller, inv: dict, user: dict) -> dict:
        org = self.store.get_org(inv["orgId"])
        if not org:
            raise NotFound("Invitation not found")
        with unit_of_work(self.client) as s:
            if not self.store.mark_invitation_accepted(inv["id"], user["id"], session=s):
                raise Conflict("Invitation already accepted")
            if not self.store.get_org_member(org["id"], user["id"]):
                self.store.insert_org_member({"_id": new_id(), "orgId": org["id"], "userId": user["id"],
                                              "role": inv["role"], "createdAt": now()}, session=s)
                events.publish(self.outbox, "identity.org_member.added",
                               {"orgId": org["id"], "userId": user["id"], "role": inv["role"], "orgSlug": org["slug"],
                                "orgName": org["name"]},
                               caller=caller, org_id=org["id"], session=s)
        return {"ok": True, "organization": {"id": org["id"], "slug": org["slug"], "name": org["name"]},
                "workspace": None}

    def update_ws_member(self, *, caller: Caller, org_slug: str, ws_slug: str, user_id: str, data: dict) -> dict:
        org, ws, member = self._ws_context(caller, org_slug, ws_slug)
        target = self.store.get_ws_member(ws["id"], user_id) if is_id(user_id) else None
        if not target:
            raise NotFound("Member not found")
        self._require_ws_admin(member)
        if data.get("role") == "member" and target["role"] == "admin" and self.store.count_ws_admins(ws["id"]) <= 1:
            raise Conflict("A workspace needs at least one admin")
        with unit_of_work(self.client) as s:
            updated = self.store.update_ws_member(ws["id"], user_id, data, session=s)
            events.publish(self.outbox, "identity.member.updated",
                           {"workspaceId": ws["id"], "orgId": org["id"], "userId": user_id,
                            "role": updated["role"], "pilotageRole": updated.get("pilotageRole", "viewer")},
                           caller=caller, org_id=org["id"], workspace_id=ws["id"], session=s)
        return self._ws_member_row(updated, self.store.get_user(user_id))

    def remove_ws_member(self, *, caller: Caller, org_slug: str, ws_slug: str, user_id: str) -> dict:
        org, ws, member = self._ws_context(caller, org_slug, ws_slug)
        target = self.store.get_ws_member(ws["id"], user_id) if is_id(user_id) else None
        if not target:
            raise NotFound("Member not found")
        if user_id != caller.user_id:
            self._require_ws_admin(member)
        if target["role"] == "admin" and self.store.count_ws_admins(ws["id"]) <= 1:
            raise Conflict("A workspace needs at least one admin")
        with unit_of_work(self.client) as s:
            self.store.delete_ws_member(ws["id"], user_id, session=s)
            events.publish(self.outbox, "identity.member.removed",
                           {"workspaceId": ws["id"], "orgId": org["id"], "userId": user_id},
                           caller=caller, org_id=org["id"], workspace_id=ws["id"], session=s)
        return {"ok": True}

    # ------------------------------------------------------------------ API tokens
    def create_token(self, *, caller: Caller, name: str, scopes: list | None, expires_at) -> dict:
        if caller.via != "user":
            raise Forbidden("API tokens are managed with a JWT, not with a token")
        if expires_at is not None and expires_at <= now():
            from libs.common.errors import BadRequest
            raise BadRequest("expiresAt must be in the future")
        token = PAT_PREFIX + secrets.token_urlsafe(32)
        scopes = sorted(set(scopes), key=ALL_SCOPES.index) if scopes else list(ALL_SCOPES)
        doc = {"_id": new_id(), "userId": caller.user_id, "name": name, "prefix": token[:10],
               "hash": sha256(token), "scopes": scopes, "expiresAt": expires_at, "lastUsedAt": None,
               "createdAt": now()}
        with unit_of_work(self.client) as s:
            created = self.store.insert_token(doc, session=s)
            events.publish(self.outbox, "identity.token.created", {"tokenId": created["id"], "userId": caller.user_id},
                           caller=caller, session=s)
        out = self.token_out(created)
        out.pop("lastUsedAt")
        return {"id": out["id"], "token": token} | {k: v for k, v in out.items() if k != "id"}

    def list_tokens(self, *, caller: Caller) -> list[dict]:
        if caller.via != "user":
            raise Forbidden("API tokens are managed with a JWT, not with a token")
        return [self.token_out(t) for t in self.store.list_tokens(caller.user_id)]

    def revoke_token(self, *, caller: Caller, token_id: str) -> dict:
        if caller.via != "user":
            raise Forbidden("API tokens are managed with a JWT, not with a token")
        tok = self.store.get_token(token_id, caller.user_id) if is_id(token_id) else None
        if not tok:
            raise NotFound("Token not found")
        with unit_of_work(self.client) as s:
            self.store.delete_token(tok["id"], session=s)
            events.publish(self.outbox, "identity.token.revoked", {"tokenId": tok["id"], "userId": caller.user_id,
                                                                    "hash": tok["hash"]},
                           caller=caller, session=s)
        return {"ok": True}

    # ------------------------------------------------------------------ for the gateway
    def principal(self, *, user_id: str, org_slug: str | None, ws_slug: str | None) -> dict:
        """Who the caller is and what they are in the org/workspace named by the path (404 if nothing)."""
        user = self.store.get_user(user_id) if is_id(user_id) else None
        if not user:
            raise Unauthorized("User no longer exists")
        out = {"user": {"id": user["id"], "email": user["email"], "name": user.get("name"), "pwv": user.get("pwv", 0)}}
        if org_slug is not None:
            org = self.store.get_org_by_slug(org_slug)
            member = self.store.get_org_member(org["id"], user_id) if org else None
            if not member:
                raise NotFound("Organization not found")
            out["org"] = {"id": org["id"], "slug": org["slug"], "role": member["role"]}
            if ws_slug is not None:
                ws = self.store.get_workspace_by_slug(org["id"], ws_slug)
                ws_member = self.store.get_ws_member(ws["id"], user_id) if ws else None
                if not ws_member:
                    raise NotFound("Workspace not found")
                out["ws"] = {"id": ws["id"], "slug": ws["slug"], "role": ws_member["role"],
                             "pilotageRole": ws_member.get("pilotageRole", "viewer")}
        return out

    def resolve_pat(self, *, token_hash: str) -> dict:
        tok = self.store.get_token_by_hash(token_hash)
        if not tok:
            raise Unauthorized("Invalid token")
        if tok.get("expiresAt") and aware(tok["expiresAt"]) <= now():
            raise Unauthorized("Token expired")
        user = self.store.get_user(tok["userId"])
        if not user:
            raise Unauthorized("Invalid token")
        self.store.touch_token(tok["id"])
        return {"tokenId": tok["id"], "userId": tok["userId"], "scopes": tok["scopes"],
                "expiresAt": iso(tok.get("expiresAt"))}

    # ------------------------------------------------------------------ for other services (commands)
    def workspace_member(self, *, workspace_id: str, user_id: str | None = None, email: str | None = None) -> dict:
        user = None
        if user_id:
            user = self.store.get_user(user_id) if is_id(user_id) else None
        elif email:
            user = self.store.get_user_by_email(email.strip().lower())
        member = self.store.get_ws_member(workspace_id, user["id"]) if user else None
        if not member:
            raise NotFound("User is not a member of this workspace")
        return self._ws_member_row(member, user)

    def workspace_members(self, *, workspace_id: str) -> list[dict]:
        members = self.store.list_ws_members(workspace_id)
        users = {u["id"]: u for u in self.store.users_by_ids(m["userId"] for m in members)}
        return [self._ws_member_row(m, users.get(m["userId"])) for m in members]

    def users(self, *, ids: list[str]) -> list[dict]:
        return [self.user_out(u) for u in self.store.users_by_ids(i for i in ids if is_id(i))]
