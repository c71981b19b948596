"""The identity services, built once per process with their collaborators: the composition root.

Every domain is a package with the same files — `routes.py` (thin handlers: load, call, dump),
`service.py` (a small class; its collaborators are passed in here, by name), `storage.py` (the only
pymongo code, one store per collection), `schemas.py` (requests and responses) — see README.md.
Routes reach a domain's service as `services().<domain>` (api.py); the worker's command handlers get
this object too (worker.py).
"""
from __future__ import annotations

from libs.common.mongo import ensure_collections

from .accounts.service import AccountsService
from .accounts.storage import UserStore
from .invitations.service import InvitationsService
from .invitations.storage import InvitationStore
from .orgs.members import OrgMembersService
from .orgs.service import OrgsService
from .orgs.storage import OrgMemberStore, OrgStore
from .passwords import Passwords
from .sessions.service import SessionsService
from .sessions.storage import FailureStore
from .sessions.throttle import Throttle
from .storage import COLLECTIONS
from .tokens.service import TokensService
from .tokens.storage import TokenStore
from .workspaces.members import WsMembersService
from .workspaces.service import WorkspacesService
from .workspaces.storage import WorkspaceStore, WsMemberStore


class IdentityServices:
    """`IdentityServices(db=..., client=..., outbox=..., settings=..., passwords=...)`: each domain's service
    as an attribute (`.accounts`, `.sessions`, `.orgs`, `.org_members`, `.workspaces`, `.ws_members`,
    `.invitations`, `.tokens`)."""

    def __init__(self, *, db, client, outbox, settings, passwords: Passwords, mailer=None):
        self.db, self.outbox = db, outbox
        users, orgs, org_members = UserStore(db), OrgStore(db), OrgMemberStore(db)
        workspaces, ws_members = WorkspaceStore(db), WsMemberStore(db)
        invitations, tokens, failures = InvitationStore(db), TokenStore(db), FailureStore(db)
        self.stores = (users, orgs, org_members, workspaces, ws_members, invitations, tokens, failures)
        unit = {"client": client, "outbox": outbox}

        self.orgs = OrgsService(store=orgs, members=org_members, workspaces=workspaces, ws_members=ws_members,
                                invitations=invitations, **unit)
        self.workspaces = WorkspacesService(store=workspaces, members=ws_members, orgs=self.orgs,
                                            invitations=invitations, **unit)
        self.ws_members = WsMembersService(store=ws_members, workspaces=self.workspaces, users=users, **unit)
        self.sessions = SessionsService(users=users, throttle=Throttle(store=failures, settings=settings, kind="login"),
                                        passwords=passwords, settings=settings, workspaces=self.workspaces,
                                        org_store=orgs, org_members=org_members, ws_store=workspaces,
                                        ws_members=ws_members)
        self.accounts = AccountsService(store=users, orgs=self.orgs, workspaces=self.workspaces,
                                        sessions=self.sessions,
                                        throttle=Throttle(store=failures, settings=settings, kind="password"),
                                        passwords=passwords, **unit)
        self.invitations = InvitationsService(store=invitations, accounts=self.accounts, orgs=self.orgs,
                                              org_store=orgs, org_members=org_members, workspaces=self.workspaces,
                                              ws_store=workspaces, ws_members=ws_members, settings=settings,
                                              mailer=mailer, **unit)
        self.org_members = OrgMembersService(store=org_members, orgs=self.orgs, users=users, workspaces=workspaces,
                                             ws_members=ws_members, invitations=self.invitations, mailer=mailer,
                                             **unit)
        self.tokens = TokensService(store=tokens, users=users, **unit)

    def ensure_indexes(self) -> None:
        """Create the collections (a transaction cannot create one) and every store's indexes, at start-up."""
        ensure_collections(self.db, COLLECTIONS)
        for store in self.stores:
            store.ensure_indexes()
        self.outbox.ensure_indexes()
