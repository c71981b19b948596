"""The `projects` collection: projects, their members, and the board map each project carries.

    projects {_id, orgId, workspaceId, name, description, templateId, members: [{userId, email, name,
              addedAt}], createdBy, createdAt, updatedAt, boardRev, board: {columnId: {n, s, name}}, rankMax}

`boardRev` is the board's version (the ETag of its lists): every write to its columns or cards bumps it,
in the write's own transaction. The board map (see ranks.py) is rebuilt from the columns and cards
by `rebuild_board` — the one-time migration of projects from before ranks, and the repair after a
scope deletion.
"""
from __future__ import annotations

from pymongo import ASCENDING, ReturnDocument, UpdateOne

from ..storage import eq, insert, out, update


def ensure_indexes(db) -> None:
    db["projects"].create_index([("workspaceId", ASCENDING), ("createdAt", ASCENDING)])
    db["projects"].create_index("orgId")
    # no index on "members.userId": the embedded stand-in's find() then misses matches on that array path


class ProjectStore:
    def __init__(self, db):
        self.db = db
        self.projects = db["projects"]

    def insert(self, doc, session=None) -> dict:
        return insert(self.projects, doc, session)

    def get(self, ws_id, project_id, session=None) -> dict | None:
        return out(self.projects.find_one({"_id": eq(project_id), "workspaceId": eq(ws_id)}, session=session))

    def list(self, ws_id) -> list[dict]:
        return [out(d) for d in self.projects.find({"workspaceId": ws_id}).sort([("createdAt", 1), ("_id", 1)])]

    def update(self, ws_id, project_id, changes, session=None) -> dict | None:
        return update(self.projects, {"_id": project_id, "workspaceId": ws_id},
                      {"$set": changes, "$inc": {"boardRev": 1}}, session)

    # ------------------------------------------------------------------ members
    def add_member(self, ws_id, project_id, member, updated_at, session=None) -> bool:
        # read-then-$set: the embedded stand-in mangles `$push` of a sub-document (it stores the array's
        # elements as JSON text) and `$ne` on an array path; both are fine on MongoDB, this is too
        doc = self.projects.find_one({"_id": project_id, "workspaceId": ws_id}, {"members": 1}, session=session)
        members = list((doc or {}).get("members") or [])
        if doc is None or any(m["userId"] == member["userId"] for m in members):
            return False
        self.projects.update_one({"_id": project_id, "workspaceId": ws_id},
                                 {"$set": {"members": members + [member], "updatedAt": updated_at},
                                  "$inc": {"boardRev": 1}}, session=session)
        return True

    def remove_member(self, ws_id, project_id, user_id, updated_at, session=None) -> bool:
        res = self.projects.update_one({"_id": project_id, "workspaceId": ws_id, "members.userId": user_id},
                                       {"$pull": {"members": {"userId": user_id}}, "$set": {"updatedAt": updated_at},
                                        "$inc": {"boardRev": 1}},
                                       session=session)
        return res.modified_count == 1

    def rename_member(self, user, session=None) -> None:
        """Refresh a user's email and name in every project membership (read, then `$set` each array)."""
        for doc in self.projects.find({"members.userId": user["id"]}, {"members": 1}, session=session):
            members = [dict(m, email=user.get("email", m.get("email")), name=user.get("name"))
                       if m["userId"] == user["id"] else m for m in doc.get("members") or []]
            self.projects.update_one({"_id": doc["_id"]}, {"$set": {"members": members}, "$inc": {"boardRev": 1}},
                                     session=session)

    def with_member(self, ws_id, user_id, session=None) -> list[dict]:
        return [out(d) for d in self.projects.find({"workspaceId": ws_id, "members.userId": user_id},
                                                  session=session)]

    # ------------------------------------------------------------------ the board: version, map, ranks
    def lock_board(self, project_id, session=None) -> None:
        """Write the project's document first thing in a transaction: two transactions changing the same
        board's orders then conflict (one is retried) instead of both reading the same orders. `boardRev`
        is also the board's version (the ETag of its lists): every write to its columns or cards bumps it."""
        self.projects.update_one({"_id": eq(project_id)}, {"$inc": {"boardRev": 1}}, session=session)

    bump = lock_board

    def bump_workspace(self, ws_id, session=None) -> None:
        self.projects.update_many({"workspaceId": eq(ws_id)}, {"$inc": {"boardRev": 1}}, session=session)

    def raise_rank_max(self, project_id, rank: int, session=None) -> None:
        self.projects.update_one({"_id": eq(project_id)}, {"$max": {"rankMax": rank}}, session=session)

    def board_write(self, ws_id, project_id, counts: dict, *, rank=None, set_=None, unset=(), session=None):
        """One command for the project side of a card write: bump the version, $inc the card counts of the
        board map (`board.<columnId>.n`, each column required to exist), record a handed-out end `rank`
        in `rankMax`. Returns the project after it, or None (no such project, or a column not in it)."""
        query = {"_id": eq(project_id), "workspaceId": eq(ws_id)}
        query.update({f"board.{c}": {"$exists": True} for c in counts})
        change: dict = {"$inc": {"boardRev": 1, **{f"board.{c}.n": d for c, d in counts.items() if d}}}
        if rank is not None:
            change["$max"] = {"rankMax": rank}
        if set_:
            change["$set"] = set_
        if unset:
            change["$unset"] = {k: "" for k in unset}
        return out(self.projects.find_one_and_update(query, change, return_document=ReturnDocument.AFTER,
                                                     session=session))

    def rebuild_board(self, project_id, session=None) -> dict:
        """The board map of a project (`board: {columnId: {n, s, name}}`, `rankMax`) from its columns and
        cards, and a `rank` for every card without one (its old dense `order`). Reads the project's
        columns and cards (the map is their summary); bounded by one board's size."""
        columns = list(self.db["columns"].find({"projectId": eq(project_id)}, {"scopeId": 1, "name": 1},
                                               session=session))
        cards = list(self.db["cards"].find({"projectId": eq(project_id)}, {"columnId": 1, "order": 1, "rank": 1,
                                                                            "createdAt": 1}, session=session))
        board = {c["_id"]: {"n": 0, "s": c.get("scopeId"), "name": c["name"]} for c in columns}
        by_column: dict = {}
        for card in cards:
            by_column.setdefault(card["columnId"], []).append(card)
        writes, top = [], 0
        for column_id, items in by_column.items():
            if column_id in board:
                board[column_id]["n"] = len(items)
            if any("rank" not in c for c in items):
                items.sort(key=lambda c: (c.get("rank", c.get("order", 0)), str(c.get("createdAt")), c["_id"]))
                for position, card in enumerate(items):
                    card["rank"] = position
                    writes.append(UpdateOne({"_id": card["_id"]}, {"$set": {"rank": position}}))
            top = max([top] + [c["rank"] for c in items])
        if writes:
            self.db["cards"].bulk_write(writes, ordered=False, session=session)
        return out(self.projects.find_one_and_update(
            {"_id": eq(project_id)}, {"$set": {"board": board}, "$max": {"rankMax": top}, "$inc": {"boardRev": 1}},
            return_document=ReturnDocument.AFTER, session=session))
