"""Projects: create (from a template, a list of column names or a plan), read, update, delete; templates,
the portfolio, the board map's migration (`ranked`) and the purge of a deleted tenant.

Services here take keyword-only arguments and an `Actor` (the request's caller or a command's actor,
always bound to one workspace); they return stored dicts, which the handlers dump through the response
schemas (schemas.py). Every query is scoped by the actor's workspace id, so an id from another workspace
is a 404. Every change other services must hear about records its event in the outbox inside the
same unit of work.
"""
from __future__ import annotations

from libs.common.errors import BadRequest, Forbidden, NotFound
from libs.common.kit import Tenant
from libs.common.mongo import is_id, new_id, now

from .. import activity as act
from ..activity import Actor
from ..cards.storage import CardStore
from ..columns.storage import ColumnStore
from ..domain import TEMPLATES, new_card, new_column, schedule_attachment_deletions
from ..ranks import board_map, column_rank
from ..storage import BoardsStore
from ..transactions import Transactions
from .members import Directory
from .storage import ProjectStore


class ProjectsService:
    def __init__(self, *, store: ProjectStore, columns: ColumnStore, cards: CardStore, cascades: BoardsStore,
                 directory: Directory, tx: Transactions, outbox, db):
        self.store = store
        self.columns = columns
        self.cards = cards
        self.cascades = cascades
        self.directory = directory
        self.tx = tx
        self.outbox = outbox
        self.db = db            # the attachments module's seam (schedule_attachment_deletions)

    def get(self, *, actor: Actor, project_id: str, session=None) -> dict | None:
        return self.store.get(actor.workspace_id, project_id, session=session) if is_id(project_id) else None

    def get_or_raise(self, *, actor: Actor, project_id: str, session=None) -> dict:
        project = self.get(actor=actor, project_id=project_id, session=session)
        if not project:
            raise NotFound("Project not found")
        return project

    def ranked(self, *, actor: Actor, project: dict) -> dict:
        """The project with its board map (`board`, see ProjectStore.rebuild_board): built once for a
        project from before ranks."""
        if "board" in project:
            return project
        self.tx.run(lambda s: self.store.rebuild_board(project["id"], session=s))
        return self.get_or_raise(actor=actor, project_id=project["id"])

    def list_projects(self, *, actor: Actor) -> list[dict]:
        return self.store.list(actor.workspace_id)

    def with_columns(self, *, actor: Actor, project: dict) -> dict:
        """The project and its main board's columns (`columns`)."""
        return dict(project, columns=self.columns.list(actor.workspace_id, project["id"], scope=None))

    def create(self, *, actor: Actor, name: str, description: str | None = None, template_id: str | None = None,
               column_names: list[str] | None = None, cards_by_column: list[list[dict]] | None = None) -> dict:
        """Create a project with its template's columns (or `column_names`), the actor as first member;
        `cards_by_column` (from a plan) adds cards `{title, description?}` to the matching column.
        Returns the project with its `columns`."""
        if template_id is not None:
            template = TEMPLATES.get(template_id)
            if template is None:
                raise BadRequest(f"Unknown templateId '{template_id}'")
            column_names = [c["name"] for c in template["columns"]]
        ts = now()
        creator = self.directory.actor_row(actor=actor)
        project = {"id": new_id(), "orgId": actor.org_id, "workspaceId": actor.workspace_id, "name": name,
                   "description": description, "templateId": template_id, "members": [creator] if creator else [],
                   "createdBy": actor.user_id, "createdAt": ts, "updatedAt": ts}
        columns = [new_column(project, n, i, None, ts) for i, n in enumerate(column_names or [])]
        cards = []
        for column, items in zip(columns, cards_by_column or []):
            for order, item in enumerate(items):
                cards.append(new_card(created_by=actor.user_id, project=project, column=column, order=order, ts=ts,
                                      title=item["title"], description=item.get("description")))
        project.update(board_map(columns, cards))
        with self.tx.unit() as s:
            self.store.insert(project, session=s)
            self.columns.insert_many(columns, session=s)
            self.cards.insert_many(cards, session=s)
            events = [act.project_event("created", actor=actor, project=project)]
            events += [act.activity("card_created", actor=actor, project=project, card=c) for c in cards]
            self.outbox.add_many(events, session=s)
        return dict(project, columns=columns)

    def update(self, *, actor: Actor, project_id: str, data: dict) -> dict:
        project = self.get_or_raise(actor=actor, project_id=project_id)
        changes = {k: v for k, v in data.items() if k in ("name", "description")}
        if not changes:
            return project
        with self.tx.unit() as s:
            project = self.store.update(actor.workspace_id, project["id"], changes | {"updatedAt": now()}, session=s)
            self.outbox.add(act.project_event("updated", actor=actor, project=project), session=s)
        return project

    def delete(self, *, actor: Actor, project_id: str) -> None:
        project = self.get_or_raise(actor=actor, project_id=project_id)
        if actor.ws_role != "admin":
            raise Forbidden("Workspace admin role required to delete a project")
        with self.tx.unit() as s:
            self.cascades.delete_project(actor.workspace_id, project["id"], session=s)
            schedule_attachment_deletions(self.db, project_id=project["id"], workspace_id=actor.workspace_id, session=s)
            self.outbox.add(act.project_event("deleted", actor=actor, project=project), session=s)

    @staticmethod
    def list_templates() -> list[dict]:
        return [{"id": t["id"], "name": t["name"], "description": t["description"],
                 "columns": [dict(c) for c in t["columns"]]} for t in TEMPLATES.values()]

    def portfolio(self, *, actor: Actor) -> list[dict]:
        """One row per project (3 queries for the whole workspace). A card is done in its board's last column."""
        projects = self.store.list(actor.workspace_id)
        last: dict = {}
        for column in self.columns.of_workspace(actor.workspace_id):
            key = (column["projectId"], column.get("scopeId"))
            if key not in last or column_rank(column) > column_rank(last[key]):
                last[key] = column
        done_columns = {c["id"] for c in last.values()}
        rows = {p["id"]: {"projectId": p["id"], "name": p["name"], "totalCards": 0, "openCards": 0, "doneCards": 0,
                          "overdueCards": 0, "progress": 0, "byPriority": {"low": 0, "medium": 0, "high": 0},
                          "updatedAt": p.get("updatedAt") or p["createdAt"]} for p in projects}
        current = now()
        for card in self.cards.for_summary(actor.workspace_id):
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
            if card.get("updatedAt") and card["updatedAt"] > row["updatedAt"]:
                row["updatedAt"] = card["updatedAt"]
        for row in rows.values():
            row["progress"] = round(100 * row["doneCards"] / row["totalCards"]) if row["totalCards"] else 0
        return list(rows.values())

    def purge_tenant(self, tenant: Tenant) -> dict:
        """Delete every boards record of the deleted workspaces (and of the org when it went whole),
        and queue their attachments' objects. Idempotent: a second run finds nothing left."""
        scopes = [{"workspace_id": ws_id} for ws_id in tenant.workspace_ids]
        if tenant.whole_org and tenant.org_id:
            scopes.append({"org_id": tenant.org_id})
        for scope in scopes:
            with self.tx.unit() as s:
                schedule_attachment_deletions(self.db, session=s, **scope)
                self.cascades.delete_tenant(session=s, **scope)
        return {"scopes": len(scopes)}
