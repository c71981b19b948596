"""Scopes (work packages with their own columns and cards) and their views.

Mixed into `services.boards.service.BoardsService` (its store, outbox, client, bus and lookups).
"""
from __future__ import annotations

from libs.common.errors import NotFound
from libs.common.mongo import is_id, iso, new_id, now, unit_of_work

from ..activity import Actor
from ..domain import schedule_attachment_deletions
from ..schemas import VIEWS


class ScopesMixin:
    @staticmethod
    def scope_out(scope: dict) -> dict:
        return {"id": scope["id"], "projectId": scope["projectId"], "name": scope["name"],
                "description": scope.get("description"), "order": scope["order"],
                "activeView": scope.get("activeView") or "kanban", "createdAt": iso(scope["createdAt"]),
                "updatedAt": iso(scope.get("updatedAt") or scope["createdAt"])}

    def get_scope_or_404(self, actor: Actor, project: dict, scope_id: str) -> dict:
        scope = self.store.get_scope(actor.workspace_id, project["id"], scope_id) if is_id(scope_id) else None
        if not scope:
            raise NotFound("Scope not found")
        return scope

    def list_scopes(self, *, actor: Actor, project_id: str) -> list[dict]:
        project = self.get_project_or_404(actor, project_id)
        return [self.scope_out(x) for x in self.store.list_scopes(actor.workspace_id, project["id"])]

    def get_scope(self, *, actor: Actor, project_id: str, scope_id: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        return self.scope_out(self.get_scope_or_404(actor, project, scope_id))

    def create_scope(self, *, actor: Actor, project_id: str, name: str, description=None,
                     active_view: str = "kanban") -> dict:
        project = self.get_project_or_404(actor, project_id)
        ts = now()
        with unit_of_work(self.client) as s:
            order = self.store.count_scopes(project["id"], session=s)
            scope = self.store.insert_scope({"id": new_id(), "orgId": project.get("orgId"),
                                             "workspaceId": actor.workspace_id, "projectId": project["id"],
                                             "name": name, "description": description, "order": order,
                                             "activeView": active_view, "createdAt": ts, "updatedAt": ts}, session=s)
        return self.scope_out(scope)

    def update_scope(self, *, actor: Actor, project_id: str, scope_id: str, data: dict) -> dict:
        project = self.get_project_or_404(actor, project_id)
        scope = self.get_scope_or_404(actor, project, scope_id)
        changes = {k: v for k, v in data.items() if k in ("name", "description", "activeView")}
        changes["updatedAt"] = now()
        with unit_of_work(self.client) as s:
            if "order" in data:
                count = self.store.count_scopes(project["id"], session=s)
                old, new = scope["order"], min(data["order"], count - 1)
                if new > old:
                    self.store.shift_scopes(project["id"], start=old + 1, end=new + 1, delta=-1, session=s)
                elif new < old:
                    self.store.shift_scopes(project["id"], start=new, end=old, delta=1, session=s)
                changes["order"] = new
            scope = self.store.update_scope(actor.workspace_id, scope["id"], changes, session=s)
        return self.scope_out(scope)

    def delete_scope(self, *, actor: Actor, project_id: str, scope_id: str) -> dict:
        """Deletes the scope with its columns, cards (comments, relations, attachments)."""
        project = self.get_project_or_404(actor, project_id)
        scope = self.get_scope_or_404(actor, project, scope_id)
        with unit_of_work(self.client) as s:
            card_ids = self.store.card_ids({"projectId": project["id"], "scopeId": scope["id"],
                                            "workspaceId": actor.workspace_id}, session=s)
            self.store.delete_scope_cascade(actor.workspace_id, project["id"], scope["id"], card_ids, session=s)
            self.store.shift_scopes(project["id"], start=scope["order"] + 1, delta=-1, session=s)
            if card_ids:
                schedule_attachment_deletions(self.db, card_ids=card_ids, workspace_id=actor.workspace_id, session=s)
            self.store.rebuild_board(project["id"], session=s)   # the board map without the scope's columns
        return {"ok": True}

    def get_views(self, *, actor: Actor, project_id: str, scope_id: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        scope = self.get_scope_or_404(actor, project, scope_id)
        return {"views": list(VIEWS), "activeView": scope.get("activeView") or "kanban"}

    def set_view(self, *, actor: Actor, project_id: str, scope_id: str, active_view: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        scope = self.get_scope_or_404(actor, project, scope_id)
        self.store.update_scope(actor.workspace_id, scope["id"], {"activeView": active_view, "updatedAt": now()})
        return {"views": list(VIEWS), "activeView": active_view}
