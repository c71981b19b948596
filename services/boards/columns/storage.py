"""The `columns` collection. A column's place in its board (the main board or one scope) is its `rank`;
its dense `order` is computed when read.

    columns {_id, orgId, workspaceId, projectId, scopeId, name, rank, createdAt, updatedAt}
"""
from __future__ import annotations

from pymongo import ASCENDING, UpdateOne

from ..ranks import GAP, column_rank, rank_between
from ..storage import eq, insert, insert_many, out, update


def ensure_indexes(db) -> None:
    db["columns"].create_index([("projectId", ASCENDING), ("scopeId", ASCENDING), ("order", ASCENDING)])
    db["columns"].create_index("workspaceId")


class ColumnStore:
    def __init__(self, db):
        self.columns = db["columns"]

    def insert(self, doc, session=None) -> dict:
        return insert(self.columns, doc, session)

    def insert_many(self, docs, session=None) -> list[dict]:
        return insert_many(self.columns, docs, session)

    def get(self, ws_id, project_id, column_id, session=None) -> dict | None:
        return out(self.columns.find_one({"_id": column_id, "projectId": project_id, "workspaceId": ws_id},
                                         session=session))

    def list(self, ws_id, project_id, *, scope=..., session=None) -> list[dict]:
        """`scope`: ... = every column of the project, None = the main board, an id = that scope. Each
        column's dense `order` (its position in its board by rank) is computed here."""
        query = {"projectId": eq(project_id), "workspaceId": eq(ws_id)}
        if scope is not ...:
            query["scopeId"] = scope
        docs = [out(d) for d in self.columns.find(query, {"orgId": 0, "workspaceId": 0}, session=session)]
        by_board: dict = {}
        for doc in sorted(docs, key=lambda c: (column_rank(c), str(c.get("createdAt")), c["id"])):
            doc["order"] = len(by_board.setdefault(doc.get("scopeId"), []))
            by_board[doc["scopeId"]].append(doc)
        docs.sort(key=lambda c: (c["order"], str(c.get("createdAt")), c["id"]))
        return docs

    def of_workspace(self, ws_id, project_ids=None) -> list[dict]:
        query = {"workspaceId": ws_id}
        if project_ids is not None:
            query["projectId"] = {"$in": list(project_ids)}
        return [out(d) for d in self.columns.find(query, {"projectId": 1, "scopeId": 1, "order": 1, "rank": 1,
                                                          "name": 1})]

    def board_columns(self, project_id, scope_id, session=None) -> list[dict]:
        """The columns of one board (`_id`, rank), by position: boards hold tens of columns."""
        docs = list(self.columns.find({"projectId": eq(project_id), "scopeId": scope_id},
                                      {"rank": 1, "order": 1, "createdAt": 1}, session=session))
        docs.sort(key=lambda c: (column_rank(c), str(c.get("createdAt")), c["_id"]))
        return docs

    def rank_at(self, project_id, scope_id, position: int, exclude_id=None, session=None) -> int:
        """A rank for dense `position` in a board's columns (leaving out `exclude_id`, the column being
        moved); renumbers the board's columns (GAP apart) when no integer is left there."""
        for _ in range(2):
            docs = [d for d in self.board_columns(project_id, scope_id, session) if d["_id"] != exclude_id]
            ranks = [column_rank(d) for d in docs]
            position = max(0, min(position, len(ranks)))
            if position == len(ranks):
                return (ranks[-1] if ranks else 0) + GAP
            rank = rank_between(ranks[position - 1] if position else None, ranks[position])
            if rank is not None:
                return rank
            self.columns.bulk_write([UpdateOne({"_id": d["_id"]}, {"$set": {"rank": GAP * (n + 1)}})
                                     for n, d in enumerate(docs)], ordered=False, session=session)
        raise RuntimeError("no column rank left after a renumbering")

    def update(self, ws_id, column_id, changes, session=None) -> dict | None:
        return update(self.columns, {"_id": column_id, "workspaceId": ws_id}, {"$set": changes}, session)

    def delete(self, ws_id, column_id, session=None) -> None:
        self.columns.delete_one({"_id": column_id, "workspaceId": ws_id}, session=session)
