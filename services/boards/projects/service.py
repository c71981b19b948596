"""Projects, their members, templates and the portfolio (import / export: transfer.py).

Mixed into `services.boards.service.BoardsService` (its store, outbox, client, bus and lookups).
"""
from __future__ import annotations

from libs.common.errors import BadRequest, Conflict, Forbidden, NotFound
from libs.common.kit import Tenant
from libs.common.mongo import is_id, iso, new_id, now, unit_of_work

from .. import activity as act
from ..activity import Actor
from ..domain import TEMPLATES, schedule_attachment_deletions
from ..storage import board_map, column_rank


class ProjectsMixin:
    def project_out(self, project: dict, columns: list[dict] | None = None) -> dict:
        out = {"id": project["id"], "name": project["name"], "description": project.get("description"),
               "workspaceId": project["workspaceId"], "orgId": project.get("orgId"),
               "templateId": project.get("templateId"), "createdBy": project.get("createdBy"),
               "memberIds": act.member_ids(project), "createdAt": iso(project["createdAt"]),
               "updatedAt": iso(project.get("updatedAt") or project["createdAt"])}
        if columns is not None:
            out["columns"] = [self.column_out(c) for c in columns]
        return out

    @staticmethod
    def member_out(member: dict) -> dict:
        return {"userId": member["userId"], "email": member.get("email"), "name": member.get("name"),
                "addedAt": iso(member.get("addedAt"))}

    def get_project_or_404(self, actor: Actor, project_id: str, session=None) -> dict:
        project = self.store.get_project(actor.workspace_id, project_id, session=session) if is_id(project_id) else None
        if not project:
            raise NotFound("Project not found")
        return project

    @staticmethod
    def _member_row(user_id: str, email: str | None, name: str | None) -> dict:
        return {"userId": user_id, "email": email, "name": name, "addedAt": now()}

    def _workspace_member(self, actor: Actor, *, user_id=None, email=None) -> dict | None:
        payload = {"workspaceId": actor.workspace_id}
        payload.update({"userId": user_id} if user_id else {"email": email})
        try:
            return self.bus.call("identity", "workspace_member", payload)
        except NotFound:
            return None

    def _actor_row(self, actor: Actor) -> dict | None:
        if not actor.user_id:
            return None
        if actor.email:
            return self._member_row(actor.user_id, actor.email, actor.name or None)
        info = self._workspace_member(actor, user_id=actor.user_id) if is_id(actor.user_id) else None
        return self._member_row(actor.user_id, info["email"] if info else None, info.get("name") if info else None)

    def _assignee_row(self, actor: Actor, project: dict, user_id) -> dict | None:
        """The project member row of a new assignee; 400 unless they belong to the workspace."""
        if user_id is None:
            return None
        if user_id == actor.user_id and actor.email:   # the caller of a request is a member by the guard
            return self._member_row(user_id, actor.email, actor.name or None)
        info = self._workspace_member(actor, user_id=user_id) if is_id(user_id) else None
        if not info:
            raise BadRequest("assigneeId must be a member of the workspace")
        return self._member_row(info["userId"], info.get("email"), info.get("name"))

    def _ensure_member(self, actor: Actor, project: dict, row: dict | None, session, events: list) -> dict:
        """Add an assignee to the project's members if missing (appending `member_added` to `events`);
        returns the project as it now is."""
        if row is None or row["userId"] in act.member_ids(project):
            return project
        if self.store.add_project_member(project["workspaceId"], project["id"], row, now(), session=session):
            project = dict(project, members=list(project.get("members") or []) + [row])
            events.append(act.activity("member_added", actor=actor, project=project,
                                       member={"userId": row["userId"], "email": row.get("email")}))
        return project

    def list_projects(self, *, actor: Actor) -> list[dict]:
        return [self.project_out(p) for p in self.store.list_projects(actor.workspace_id)]

    def get_project(self, *, actor: Actor, project_id: str, project: dict | None = None) -> dict:
        project = project or self.get_project_or_404(actor, project_id)
        return self.project_out(project, self.store.list_columns(actor.workspace_id, project["id"], scope=None))

    def create_project(self, *, actor: Actor, name: str, description: str | None = None,
                       template_id: str | None = None, column_names: list[str] | None = None,
                       cards_by_column: list[list[dict]] | None = None) -> dict:
        """Create a project with its template's columns (or `column_names`), the actor as first member;
        `cards_by_column` (from a plan) adds cards `{title, description?}` to the matching column."""
        if template_id is not None:
            template = TEMPLATES.get(template_id)
            if template is None:
                raise BadRequest(f"Unknown templateId '{template_id}'")
            column_names = [c["name"] for c in template["columns"]]
        ts = now()
        creator = self._actor_row(actor)
        project = {"id": new_id(), "orgId": actor.org_id, "workspaceId": actor.workspace_id, "name": name,
                   "description": description, "templateId": template_id, "members": [creator] if creator else [],
                   "createdBy": actor.user_id, "createdAt": ts, "updatedAt": ts}
        columns = [self._column_doc(project, n, i, None, ts) for i, n in enumerate(column_names or [])]
        cards = []
        for column, items in zip(columns, cards_by_column or []):
            for order, item in enumerate(items):
                cards.append(self._card_doc(actor, project, column, order, ts, title=item["title"],
                                            description=item.get("description")))
        project.update(board_map(columns, cards))
        with unit_of_work(self.client) as s:
            self.store.insert_project(project, session=s)
            self.store.insert_columns(columns, session=s)
            self.store.insert_cards(cards, session=s)
            events = [act.project_event("created", actor=actor, project=project)]
            events += [act.activity("card_created", actor=actor, project=project, card=c) for c in cards]
            self.outbox.add_many(events, session=s)
        return self.project_out(project, columns)

    def update_project(self, *, actor: Actor, project_id: str, data: dict) -> dict:
        project = self.get_project_or_404(actor, project_id)
        changes = {k: v for k, v in data.items() if k in ("name", "description")}
        if not changes:
            return self.project_out(project)
        with unit_of_work(self.client) as s:
            project = self.store.update_project(actor.workspace_id, project["id"], changes | {"updatedAt": now()},
                                                session=s)
            self.outbox.add(act.project_event("updated", actor=actor, project=project), session=s)
        return self.project_out(project)

    def delete_project(self, *, actor: Actor, project_id: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        if actor.ws_role != "admin":
            raise Forbidden("Workspace admin role required to delete a project")
        with unit_of_work(self.client) as s:
            self.store.delete_project_cascade(actor.workspace_id, project["id"], session=s)
            schedule_attachment_deletions(self.db, project_id=project["id"], workspace_id=actor.workspace_id, session=s)
            self.outbox.add(act.project_event("deleted", actor=actor, project=project), session=s)
        return {"ok": True}

    def list_members(self, *, actor: Actor, project_id: str) -> list[dict]:
        project = self.get_project_or_404(actor, project_id)
        return [self.member_out(m) for m in project.get("members") or []]

    def add_member(self, *, actor: Actor, project_id: str, email: str) -> dict:
        """Add a workspace member by email. Someone who is not a workspace member → 404 (like an unknown
        user: never reveal whether an email has an account); already a project member → 409."""
        project = self.get_project_or_404(actor, project_id)
        info = self._workspace_member(actor, email=email.strip().lower())
        if not info:
            raise NotFound("No member of this workspace has that email")
        if info["userId"] in act.member_ids(project):
            raise Conflict("Already a member of this project")
        row = self._member_row(info["userId"], info.get("email"), info.get("name"))
        with unit_of_work(self.client) as s:
            if not self.store.add_project_member(actor.workspace_id, project["id"], row, now(), session=s):
                raise Conflict("Already a member of this project")
            project = dict(project, members=list(project.get("members") or []) + [row])
            self.outbox.add(act.activity("member_added", actor=actor, project=project,
                                         member={"userId": row["userId"], "email": row["email"]}), session=s)
        return self.member_out(row)

    def remove_member(self, *, actor: Actor, project_id: str, user_id: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        row = next((m for m in project.get("members") or [] if m["userId"] == user_id), None)
        if row is None:
            raise NotFound("Not a member of this project")
        with unit_of_work(self.client) as s:
            if not self.store.remove_project_member(actor.workspace_id, project["id"], user_id, now(), session=s):
                raise NotFound("Not a member of this project")
            project = dict(project, members=[m for m in project.get("members") or [] if m["userId"] != user_id])
            self.outbox.add(act.activity("member_removed", actor=actor, project=project,
                                         member={"userId": user_id, "email": row.get("email")}), session=s)
        return {"ok": True}

    @staticmethod
    def list_templates() -> list[dict]:
        return [{"id": t["id"], "name": t["name"], "description": t["description"],
                 "columns": [dict(c) for c in t["columns"]]} for t in TEMPLATES.values()]

    def portfolio(self, *, actor: Actor) -> list[dict]:
        """One row per project (3 queries for the whole workspace). A card is done in its board's last column."""
        projects = self.store.list_projects(actor.workspace_id)
        last: dict = {}
        for column in self.store.columns_of_workspace(actor.workspace_id):
            key = (column["projectId"], column.get("scopeId"))
            if key not in last or column_rank(column) > column_rank(last[key]):
                last[key] = column
        done_columns = {c["id"] for c in last.values()}
        rows = {p["id"]: {"projectId": p["id"], "name": p["name"], "totalCards": 0, "openCards": 0, "doneCards": 0,
                          "overdueCards": 0, "progress": 0, "byPriority": {"low": 0, "medium": 0, "high": 0},
                          "_updated": p.get("updatedAt") or p["createdAt"]} for p in projects}
        current = now()
        for card in self.store.cards_for_summary(actor.workspace_id):
            row = rows.get(card["projectId"])
            if row is None:
                continue
            row["totalCards"] += 1
            done = card["columnId"] in done_columns
            row["doneCards" if done else "openCards"] += 1
            if not done and card.get("dueDate") and card["dueDate"] < current:
                row["overdueCards"] += 1
            if card.get("priority") in row["byPriority"]:
                row["byPriority"][card["priority"]] += 1
            if card.get("updatedAt") and card["updatedAt"] > row["_updated"]:
                row["_updated"] = card["updatedAt"]
        out = []
        for row in rows.values():
            row["progress"] = round(100 * row["doneCards"] / row["totalCards"]) if row["totalCards"] else 0
            row["updatedAt"] = iso(row.pop("_updated"))
            out.append(row)
        return out

    def purge_tenant(self, tenant: Tenant) -> dict:
        """Delete every boards record of the deleted workspaces (and of the org when it went whole),
        and queue their attachments' objects. Idempotent: a second run finds nothing left."""
        scopes = [{"workspace_id": ws_id} for ws_id in tenant.workspace_ids]
        if tenant.whole_org and tenant.org_id:
            scopes.append({"org_id": tenant.org_id})
        for scope in scopes:
            with unit_of_work(self.client) as s:
                schedule_attachment_deletions(self.db, session=s, **scope)
                self.store.delete_tenant(session=s, **scope)
        return {"scopes": len(scopes)}

    def refresh_user(self, *, user: dict) -> None:
        """A user changed their name or email: project member lists show the new ones."""
        with unit_of_work(self.client) as s:
            self.store.rename_member(user, session=s)

    def forget_member(self, *, workspace_id: str, user_id: str) -> None:
        """A user left the workspace: unassign them from its cards and drop them from its projects."""
        ts = now()
        with unit_of_work(self.client) as s:
            self.store.update_cards({"workspaceId": workspace_id, "assigneeId": user_id},
                                    {"$set": {"assigneeId": None, "updatedAt": ts}}, session=s)
            self.store.bump_workspace(workspace_id, session=s)
            for project in self.store.projects_with_member(workspace_id, user_id, session=s):
                self.store.remove_project_member(workspace_id, project["id"], user_id, ts, session=s)
