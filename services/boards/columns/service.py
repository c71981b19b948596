"""Columns: a rank per column, the dense order per board (the main board or one scope) derived when read; a
column holding cards is not deleted.

Mixed into `services.boards.service.BoardsService` (its store, outbox, client, bus and lookups).
"""
from __future__ import annotations

from libs.common.errors import Conflict, NotFound
from libs.common.mongo import is_id, iso, new_id, now

from ..activity import Actor


class ColumnsMixin:
    @staticmethod
    def column_out(column: dict) -> dict:
        return {"id": column["id"], "name": column["name"], "projectId": column["projectId"],
                "scopeId": column.get("scopeId"), "order": column["order"], "createdAt": iso(column["createdAt"]),
                "updatedAt": iso(column.get("updatedAt") or column["createdAt"])}

    def get_column_or_404(self, actor: Actor, project: dict, column_id: str, session=None) -> dict:
        column = (self.store.get_column(actor.workspace_id, project["id"], column_id, session=session)
                  if is_id(column_id) else None)
        if not column:
            raise NotFound("Column not found")
        return column

    def _column_by_id_or_name(self, actor: Actor, project: dict, scope_id, target: str) -> dict:
        """A column of the card's board named by id, or else by name (case-insensitive)."""
        if is_id(target):
            column = self.store.get_column(actor.workspace_id, project["id"], target)
            if column:
                return column
        wanted = str(target).strip().lower()
        columns = self.store.list_columns(actor.workspace_id, project["id"], scope=scope_id)
        for column in columns:
            if column["name"].strip().lower() == wanted:
                return column
        raise NotFound(f"Column '{target}' not found")

    @staticmethod
    def _column_doc(project: dict, name: str, order: int, scope_id, ts, rank: int | None = None) -> dict:
        """A column document; `order` is its place in the answer, `rank` the stored one (ranks of a new
        board: 0, 1, 2… like the orders of before ranks)."""
        return {"id": new_id(), "orgId": project.get("orgId"), "workspaceId": project["workspaceId"],
                "projectId": project["id"], "scopeId": scope_id, "name": name, "order": order,
                "rank": order if rank is None else rank, "createdAt": ts, "updatedAt": ts}

    def _column_placed(self, column: dict, session=None) -> dict:
        """The column with its dense `order` (its position in its board)."""
        ids = [d["_id"] for d in self.store.board_columns(column["projectId"], column.get("scopeId"), session)]
        return dict(column, order=ids.index(column["id"]) if column["id"] in ids else 0)

    def _scope_filter(self, actor: Actor, project: dict, scope_id):
        """`?scopeId=`: absent → every board, `null`/`main` → the main board, an id → that scope (404 if unknown)."""
        if scope_id is None:
            return ...
        if scope_id in ("", "null", "none", "main"):
            return None
        self.get_scope_or_404(actor, project, scope_id)
        return scope_id

    def list_columns(self, *, actor: Actor, project_id: str, scope_id: str | None = None,
                     project: dict | None = None) -> list[dict]:
        project = project or self.get_project_or_404(actor, project_id)
        scope = self._scope_filter(actor, project, scope_id)
        columns = self.store.list_columns(actor.workspace_id, project["id"], scope=scope)
        if scope is ...:   # main board first, then each scope's columns, each by order
            columns.sort(key=lambda c: (c.get("scopeId") is not None, c.get("scopeId") or "", c["order"]))
        return [self.column_out(c) for c in columns]

    def create_column(self, *, actor: Actor, project_id: str, name: str, scope_id: str | None = None,
                      order: int | None = None) -> dict:
        """Appended, or inserted at `order` (the columns from there on shift right)."""
        project = self._ranked_project(actor, self.get_project_or_404(actor, project_id))
        if scope_id is not None:
            self.get_scope_or_404(actor, project, scope_id)

        def work(s):
            self.store.board_write(actor.workspace_id, project["id"], {}, session=s)   # lock, version
            rank = self.store.column_rank_at(project["id"], scope_id, 10 ** 6 if order is None else order, session=s)
            doc = self._column_doc(project, name, 0, scope_id, now(), rank=rank)
            column = self.store.insert_column({k: v for k, v in doc.items() if k != "order"}, session=s)
            self.store.board_write(actor.workspace_id, project["id"], {}, session=s, set_={
                f"board.{column['id']}": {"n": 0, "s": scope_id, "name": name}})
            return self._column_placed(column, session=s)

        return self.column_out(self.transaction(work))

    def update_column(self, *, actor: Actor, project_id: str, column_id: str, data: dict) -> dict:
        project = self._ranked_project(actor, self.get_project_or_404(actor, project_id))
        column = self.get_column_or_404(actor, project, column_id)
        changes = {"updatedAt": now()}
        if "name" in data:
            changes["name"] = data["name"]
        def work(s):
            fields = dict(changes)
            if "order" in data:   # one column document changes: its rank
                self.store.lock_board(project["id"], session=s)
                placed = self._column_placed(column, session=s)
                if data["order"] != placed["order"]:
                    fields["rank"] = self.store.column_rank_at(project["id"], column.get("scopeId"), data["order"],
                                                               exclude_id=column["id"], session=s)
            if "name" in fields:   # the board map names columns in move events
                self.store.board_write(actor.workspace_id, project["id"], {}, session=s,
                                       set_={f"board.{column['id']}.name": fields["name"]})
            else:
                self.store.lock_board(project["id"], session=s)
            updated = self.store.update_column(actor.workspace_id, column["id"], fields, session=s)
            if updated is None:
                raise NotFound("Column not found")
            return self._column_placed(updated, session=s)

        return self.column_out(self.transaction(work))

    def delete_column(self, *, actor: Actor, project_id: str, column_id: str) -> dict:
        project = self._ranked_project(actor, self.get_project_or_404(actor, project_id))
        column = self.get_column_or_404(actor, project, column_id)
        def work(s):
            self.store.lock_board(project["id"], session=s)
            fresh = self.store.get_column(actor.workspace_id, project["id"], column["id"], session=s)
            if fresh is None:
                raise NotFound("Column not found")
            if self.store.column_size(column["id"], session=s):
                raise Conflict("The column still holds cards: move or delete them first")
            self.store.delete_column(actor.workspace_id, column["id"], session=s)
            self.store.board_write(actor.workspace_id, project["id"], {}, unset=(f"board.{column['id']}",), session=s)

        self.transaction(work)
        return {"ok": True}
