"""Project members: who may be one (identity's workspace membership, asked over the bus) and the
member rows of a project (`projects.members`).

`Directory` answers who a user is in the workspace (no project involved); `MembersService` lists, adds
and removes a project's members, and adds an assignee who is not one yet (`ensure`, inside the card
write's own transaction).
"""
from __future__ import annotations

from libs.common.errors import BadRequest, Conflict, NotFound
from libs.common.mongo import is_id, now

from .. import activity as act
from ..activity import Actor
from ..cards.storage import CardStore
from ..transactions import Transactions
from .storage import ProjectStore


class Directory:
    """Workspace members by id or email (`cmd.identity.workspace_member`), as project member rows."""

    def __init__(self, *, bus):
        self.bus = bus

    @staticmethod
    def row(user_id: str, email: str | None, name: str | None) -> dict:
        return {"userId": user_id, "email": email, "name": name, "addedAt": now()}

    def get(self, *, actor: Actor, user_id=None, email=None) -> dict | None:
        payload = {"workspaceId": actor.workspace_id}
        payload.update({"userId": user_id} if user_id else {"email": email})
        try:
            return self.bus.call("identity", "workspace_member", payload)
        except NotFound:
            return None

    def list(self, *, actor: Actor) -> list[dict]:
        return self.bus.call("identity", "workspace_members", {"workspaceId": actor.workspace_id}) or []

    def actor_row(self, *, actor: Actor) -> dict | None:
        if not actor.user_id:
            return None
        if actor.email:
            return self.row(actor.user_id, actor.email, actor.name or None)
        info = self.get(actor=actor, user_id=actor.user_id) if is_id(actor.user_id) else None
        return self.row(actor.user_id, info["email"] if info else None, info.get("name") if info else None)

    def assignee_row(self, *, actor: Actor, user_id) -> dict | None:
        """The project member row of a new assignee; 400 unless they belong to the workspace."""
        if user_id is None:
            return None
        if user_id == actor.user_id and actor.email:   # the caller of a request is a member by the guard
            return self.row(user_id, actor.email, actor.name or None)
        info = self.get(actor=actor, user_id=user_id) if is_id(user_id) else None
        if not info:
            raise BadRequest("assigneeId must be a member of the workspace")
        return self.row(info["userId"], info.get("email"), info.get("name"))


class MembersService:
    def __init__(self, *, store: ProjectStore, cards: CardStore, directory: Directory, projects, tx: Transactions,
                 outbox):
        self.store = store
        self.cards = cards
        self.directory = directory
        self.projects = projects      # ProjectsService
        self.tx = tx
        self.outbox = outbox

    def list_members(self, *, actor: Actor, project_id: str) -> list[dict]:
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        return list(project.get("members") or [])

    def create(self, *, actor: Actor, project_id: str, email: str) -> dict:
        """Add a workspace member by email. Someone who is not a workspace member → 404 (like an unknown
        user: never reveal whether an email has an account); already a project member → 409."""
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        info = self.directory.get(actor=actor, email=email.strip().lower())
        if not info:
            raise NotFound("No member of this workspace has that email")
        if info["userId"] in act.member_ids(project):
            raise Conflict("Already a member of this project")
        row = self.directory.row(info["userId"], info.get("email"), info.get("name"))
        with self.tx.unit() as s:
            if not self.store.add_member(actor.workspace_id, project["id"], row, now(), session=s):
                raise Conflict("Already a member of this project")
            project = dict(project, members=list(project.get("members") or []) + [row])
            self.outbox.add(act.activity("member_added", actor=actor, project=project,
                                         member={"userId": row["userId"], "email": row["email"]}), session=s)
        return row

    def delete(self, *, actor: Actor, project_id: str, user_id: str) -> None:
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        row = next((m for m in project.get("members") or [] if m["userId"] == user_id), None)
        if row is None:
            raise NotFound("Not a member of this project")
        with self.tx.unit() as s:
            if not self.store.remove_member(actor.workspace_id, project["id"], user_id, now(), session=s):
                raise NotFound("Not a member of this project")
            project = dict(project, members=[m for m in project.get("members") or [] if m["userId"] != user_id])
            self.outbox.add(act.activity("member_removed", actor=actor, project=project,
                                         member={"userId": user_id, "email": row.get("email")}), session=s)

    def ensure(self, *, actor: Actor, project: dict, row: dict | None, session, events: list) -> dict:
        """Add an assignee to the project's members if missing (appending `member_added` to `events`);
        returns the project as it now is."""
        if row is None or row["userId"] in act.member_ids(project):
            return project
        if self.store.add_member(project["workspaceId"], project["id"], row, now(), session=session):
            project = dict(project, members=list(project.get("members") or []) + [row])
            events.append(act.activity("member_added", actor=actor, project=project,
                                       member={"userId": row["userId"], "email": row.get("email")}))
        return project

    # ---------------------------------------------------------------- identity's events
    def refresh_user(self, *, user: dict) -> None:
        """A user changed their name or email: project member lists show the new ones."""
        with self.tx.unit() as s:
            self.store.rename_member(user, session=s)

    def forget(self, *, workspace_id: str, user_id: str) -> None:
        """A user left the workspace: unassign them from its cards and drop them from its projects."""
        ts = now()
        with self.tx.unit() as s:
            self.cards.unassign(workspace_id, user_id, ts, session=s)
            self.store.bump_workspace(workspace_id, session=s)
            for project in self.store.with_member(workspace_id, user_id, session=s):
                self.store.remove_member(workspace_id, project["id"], user_id, ts, session=s)
