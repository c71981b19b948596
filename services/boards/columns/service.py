"""Columns: a rank per column, the dense order per board (the main board or one scope) derived when read;
a column holding cards is not deleted."""
from __future__ import annotations

from libs.common.errors import Conflict, NotFound
from libs.common.mongo import is_id, now

from ..activity import Actor
from ..cards.storage import CardStore
from ..domain import new_column
from ..projects.service import ProjectsService
from ..projects.storage import ProjectStore
from ..scopes.service import ScopesService
from ..transactions import Transactions
from .storage import ColumnStore


class ColumnsService:
    def __init__(self, *, store: ColumnStore, projects: ProjectsService, project_store: ProjectStore,
                 scopes: ScopesService, cards: CardStore, tx: Transactions):
        self.store = store
        self.projects = projects
        self.project_store = project_store
        self.scopes = scopes
        self.cards = cards
        self.tx = tx

    def get(self, *, actor: Actor, project: dict, column_id: str, session=None) -> dict | None:
        return (self.store.get(actor.workspace_id, project["id"], column_id, session=session)
                if is_id(column_id) else None)

    def get_or_raise(self, *, actor: Actor, project: dict, column_id: str, session=None) -> dict:
        column = self.get(actor=actor, project=project, column_id=column_id, session=session)
        if not column:
            raise NotFound("Column not found")
        return column

    def by_id_or_name(self, *, actor: Actor, project: dict, scope_id, target: str) -> dict:
        """A column of the card's board named by id, or else by name (case-insensitive)."""
        if is_id(target):
            column = self.store.get(actor.workspace_id, project["id"], target)
            if column:
                return column
        wanted = str(target).strip().lower()
        for column in self.store.list(actor.workspace_id, project["id"], scope=scope_id):
            if column["name"].strip().lower() == wanted:
                return column
        raise NotFound(f"Column '{target}' not found")

    def placed(self, column: dict, session=None) -> dict:
        """The column with its dense `order` (its position in its board)."""
        ids = [d["_id"] for d in self.store.board_columns(column["projectId"], column.get("scopeId"), session)]
        return dict(column, order=ids.index(column["id"]) if column["id"] in ids else 0)

    def scope_filter(self, *, actor: Actor, project: dict, scope_id):
        """`?scopeId=`: absent → every board, `null`/`main` → the main board, an id → that scope (404 if unknown)."""
        if scope_id is None:
            return ...
        if scope_id in ("", "null", "none", "main"):
            return None
        self.scopes.get_or_raise(actor=actor, project=project, scope_id=scope_id)
        return scope_id

    def list_columns(self, *, actor: Actor, project_id: str, scope_id: str | None = None,
                     project: dict | None = None) -> list[dict]:
        project = project or self.projects.get_or_raise(actor=actor, project_id=project_id)
        scope = self.scope_filter(actor=actor, project=project, scope_id=scope_id)
        columns = self.store.list(actor.workspace_id, project["id"], scope=scope)
        if scope is ...:   # main board first, then each scope's columns, each by order
            columns.sort(key=lambda c: (c.get("scopeId") is not None, c.get("scopeId") or "", c["order"]))
        return columns

    def create(self, *, actor: Actor, project_id: str, name: str, scope_id: str | None = None,
               order: int | None = None) -> dict:
        """Appended, or inserted at `order` (the columns from there on shift right)."""
        project = self.projects.ranked(actor=actor, project=self.projects.get_or_raise(actor=actor,
                                                                                     project_id=project_id))
        if scope_id is not None:
            self.scopes.get_or_raise(actor=actor, project=project, scope_id=scope_id)

        def work(s):
            self.project_store.board_write(actor.workspace_id, project["id"], {}, session=s)   # lock, version
            rank = self.store.rank_at(project["id"], scope_id, 10 ** 6 if order is None else order, session=s)
            doc = new_column(project, name, 0, scope_id, now(), rank=rank)
            column = self.store.insert({k: v for k, v in doc.items() if k != "order"}, session=s)
            self.project_store.board_write(actor.workspace_id, project["id"], {}, session=s, set_={
                f"board.{column['id']}": {"n": 0, "s": scope_id, "name": name}})
            return self.placed(column, session=s)

        return self.tx.run(work)

    def update(self, *, actor: Actor, project_id: str, column_id: str, data: dict) -> dict:
        project = self.projects.ranked(actor=actor, project=self.projects.get_or_raise(actor=actor,
                                                                                     project_id=project_id))
        column = self.get_or_raise(actor=actor, project=project, column_id=column_id)
        changes = {"updatedAt": now()}
        if "name" in data:
            changes["name"] = data["name"]

        def work(s):
            fields = dict(changes)
            if "order" in data:   # one column document changes: its rank
                self.project_store.lock_board(project["id"], session=s)
                placed = self.placed(column, session=s)
                if data["order"] != placed["order"]:
                    fields["rank"] = self.store.rank_at(project["id"], column.get("scopeId"), data["order"],
                                                        exclude_id=column["id"], session=s)
            if "name" in fields:   # the board map names columns in move events
                self.project_store.board_write(actor.workspace_id, project["id"], {}, session=s,
                                               set_={f"board.{column['id']}.name": fields["name"]})
            else:
                self.project_store.lock_board(project["id"], session=s)
            updated = self.store.update(actor.workspace_id, column["id"], fields, session=s)
            if updated is None:
                raise NotFound("Column not found")
            return self.placed(updated, session=s)

        return self.tx.run(work)

    def delete(self, *, actor: Actor, project_id: str, column_id: str) -> None:
        project = self.projects.ranked(actor=actor, project=self.projects.get_or_raise(actor=actor,
                                                                                     project_id=project_id))
        column = self.get_or_raise(actor=actor, project=project, column_id=column_id)

        def work(s):
            self.project_store.lock_board(project["id"], session=s)
            fresh = self.store.get(actor.workspace_id, project["id"], column["id"], session=s)
            if fresh is None:
                raise NotFound("Column not found")
            if self.cards.column_size(column["id"], session=s):
                raise Conflict("The column still holds cards: move or delete them first")
            self.store.delete(actor.workspace_id, column["id"], session=s)
            self.project_store.board_write(actor.workspace_id, project["id"], {}, unset=(f"board.{column['id']}",),
                                           session=s)

        self.tx.run(work)
