"""Scopes (work packages with their own columns and cards, dense `order` per project) and their views."""
from __future__ import annotations

from libs.common.errors import NotFound
from libs.common.mongo import is_id, new_id, now

from ..activity import Actor
from ..cards.storage import CardStore
from ..domain import schedule_attachment_deletions
from ..projects.service import ProjectsService
from ..projects.storage import ProjectStore
from ..schemas import VIEWS
from ..storage import BoardsStore
from ..transactions import Transactions
from .storage import ScopeStore


class ScopesService:
    def __init__(self, *, store: ScopeStore, projects: ProjectsService, project_store: ProjectStore,
                 cards: CardStore, cascades: BoardsStore, tx: Transactions, db):
        self.store = store
        self.projects = projects
        self.project_store = project_store
        self.cards = cards
        self.cascades = cascades
        self.tx = tx
        self.db = db

    def get(self, *, actor: Actor, project: dict, scope_id: str) -> dict | None:
        return self.store.get(actor.workspace_id, project["id"], scope_id) if is_id(scope_id) else None

    def get_or_raise(self, *, actor: Actor, project: dict, scope_id: str) -> dict:
        scope = self.get(actor=actor, project=project, scope_id=scope_id)
        if not scope:
            raise NotFound("Scope not found")
        return scope

    def list_scopes(self, *, actor: Actor, project_id: str) -> list[dict]:
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        return self.store.list(actor.workspace_id, project["id"])

    def read(self, *, actor: Actor, project_id: str, scope_id: str) -> dict:
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        return self.get_or_raise(actor=actor, project=project, scope_id=scope_id)

    def create(self, *, actor: Actor, project_id: str, name: str, description=None, active_view: str = "kanban"):
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        ts = now()
        with self.tx.unit() as s:
            order = self.store.count(project["id"], session=s)
            return self.store.insert({"id": new_id(), "orgId": project.get("orgId"), "workspaceId": actor.workspace_id,
                                      "projectId": project["id"], "name": name, "description": description,
                                      "order": order, "activeView": active_view, "createdAt": ts, "updatedAt": ts},
                                     session=s)

    def update(self, *, actor: Actor, project_id: str, scope_id: str, data: dict) -> dict:
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        scope = self.get_or_raise(actor=actor, project=project, scope_id=scope_id)
        changes = {k: v for k, v in data.items() if k in ("name", "description", "activeView")}
        changes["updatedAt"] = now()
        with self.tx.unit() as s:
            if "order" in data:
                count = self.store.count(project["id"], session=s)
                old, new = scope["order"], min(data["order"], count - 1)
                if new > old:
                    self.store.shift(project["id"], start=old + 1, end=new + 1, delta=-1, session=s)
                elif new < old:
                    self.store.shift(project["id"], start=new, end=old, delta=1, session=s)
                changes["order"] = new
            return self.store.update(actor.workspace_id, scope["id"], changes, session=s)

    def delete(self, *, actor: Actor, project_id: str, scope_id: str) -> None:
        """Deletes the scope with its columns, cards (comments, relations, attachments)."""
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        scope = self.get_or_raise(actor=actor, project=project, scope_id=scope_id)
        with self.tx.unit() as s:
            card_ids = self.cards.ids({"projectId": project["id"], "scopeId": scope["id"],
                                       "workspaceId": actor.workspace_id}, session=s)
            self.cascades.delete_scope(actor.workspace_id, project["id"], scope["id"], card_ids, session=s)
            self.store.shift(project["id"], start=scope["order"] + 1, delta=-1, session=s)
            if card_ids:
                schedule_attachment_deletions(self.db, card_ids=card_ids, workspace_id=actor.workspace_id, session=s)
            self.project_store.rebuild_board(project["id"], session=s)   # the board map without the scope's columns

    def views(self, *, actor: Actor, project_id: str, scope_id: str) -> dict:
        scope = self.read(actor=actor, project_id=project_id, scope_id=scope_id)
        return {"views": list(VIEWS), "activeView": scope.get("activeView") or "kanban"}

    def set_view(self, *, actor: Actor, project_id: str, scope_id: str, active_view: str) -> dict:
        scope = self.read(actor=actor, project_id=project_id, scope_id=scope_id)
        self.store.update(actor.workspace_id, scope["id"], {"activeView": active_view, "updatedAt": now()})
        return {"views": list(VIEWS), "activeView": active_view}
