"""The only module of the boards core that speaks pymongo. Documents in, plain dicts (with `id`) out.

Every read is scoped by `workspaceId` (tenant isolation): an id from another workspace finds nothing.
Ids are 24-hex strings, `_id` included (see DESIGN.md on the embedded MongoDB stand-in).
"""
from __future__ import annotations

import threading
import time

from pymongo import ASCENDING, ReturnDocument, UpdateOne
from pymongo.errors import DuplicateKeyError

from libs.common.mongo import ensure_collections, reader

COLLECTIONS = ["projects", "columns", "cards", "comments", "labels", "custom_fields", "relations", "scopes",
               "outbox", "processed_events", "dead_letters"]
# every collection holding one workspace's data: what an org / workspace / project deletion clears
TENANT_COLLECTIONS = ["projects", "columns", "cards", "comments", "labels", "custom_fields", "relations", "scopes"]
PROJECT_CHILDREN = ["columns", "cards", "comments", "labels", "custom_fields", "relations", "scopes"]


DATE_KEYS = ("createdAt", "updatedAt", "startDate", "dueDate")


# Dates and booleans read back through the dialect (mongo.reader): the stand-in returns a date given
# to a top-level `$set` as text and a boolean as 0 / 1.
_out = reader(dates=DATE_KEYS, bools=("archived",))


def _in(doc: dict) -> dict:
    doc = dict(doc)
    if "id" in doc:
        doc["_id"] = doc.pop("id")
    return doc


def _next_order(col, query, session=None) -> int:
    """max(order) + 1 = the size of a dense sequence. (`count_documents` is an aggregate, which the
    embedded stand-in cannot run inside a transaction.)"""
    last = list(col.find(query, {"order": 1}, session=session).sort("order", -1).limit(1))
    return last[0]["order"] + 1 if last else 0


def _eq(value):
    """An equality the embedded stand-in serves from an index: it turns a bare `{field: value}` into an
    array-aware scan (json_each) but `{field: {"$eq": value}}` into an index search (explain shows
    "USING INDEX"). MongoDB answers both alike."""
    return {"$eq": value}


# ----------------------------------------------------------------------------- card ranks
# A card's place in its column is its `rank` (a 64-bit integer); the API's dense `order` is its position
# in its column sorted by (rank, _id), computed at read time. A move writes the moved card only.
# New ranks: the end of a column = a clock reading in ns (after every rank the project has handed
# out: `rankMax`, fixed up in the rare case of a clock behind it); between two cards = the midpoint;
# the top = the first rank - GAP. When two neighbours leave no integer between them the column is
# renumbered once (`rebalance`). Integers, not floats: the stand-in keeps 15 significant digits of a
# double (a clock-sized float loses its fraction), an int64 exactly.
GAP = 1 << 20
_CLOCK = threading.Lock()
_LAST_RANK = [0]


def clock_rank(floor: int = 0) -> int:
    """A rank after every rank this process handed out and after `floor`."""
    with _CLOCK:
        rank = max(time.time_ns(), _LAST_RANK[0] + 1, int(floor) + 1)
        _LAST_RANK[0] = rank
        return rank


def rank_between(before: int | None, after: int | None) -> int | None:
    """A rank strictly between two neighbours (None: no neighbour on that side); None when the integers
    between them ran out (the caller rebalances the column) or at the end (the caller takes a clock rank)."""
    if after is None:
        return None
    if before is None:
        return int(after) - GAP
    mid = (int(before) + int(after)) // 2
    return mid if before < mid < after else None


def dense_orders(cards: list[dict]) -> None:
    """Set each card's `order`: its position in its column by (rank, id)."""
    by_column: dict[str, list[dict]] = {}
    for card in cards:
        by_column.setdefault(card["columnId"], []).append(card)
    for column_cards in by_column.values():
        column_cards.sort(key=lambda c: (c.get("rank", 0), c["id"]))
        for position, card in enumerate(column_cards):
            card["order"] = position


def column_rank(column: dict) -> int:
    """A column's place in its board: its `rank`; a column from before ranks has its dense `order`."""
    rank = column.get("rank")
    return int(column.get("order") or 0) if rank is None else int(rank)


def board_map(columns: list[dict], cards: list[dict]) -> dict:
    """The project fields of a new board: `board` ({columnId: {n: cards, s: scopeId, name}}) and
    `rankMax`; cards without a `rank` take their dense `order`."""
    board = {c["id"]: {"n": 0, "s": c.get("scopeId"), "name": c["name"]} for c in columns}
    top = 0
    for card in cards:
        card.setdefault("rank", int(card.get("order") or 0))
        top = max(top, card["rank"])
        if card["columnId"] in board:
            board[card["columnId"]]["n"] += 1
    return {"board": board, "rankMax": top, "boardRev": 0}


# what a card in a list is read with: every field of the answer, none of the storage-only ones
LIST_FIELDS = {"orgId": 0, "workspaceId": 0, "order": 0}


class Duplicate(Exception):
    """A unique index refused the write."""


def ensure_indexes(db) -> None:
    """Create collections and indexes at start-up (a transaction cannot create a collection)."""
    ensure_collections(db, COLLECTIONS)
    db["projects"].create_index([("workspaceId", ASCENDING), ("createdAt", ASCENDING)])
    db["projects"].create_index("orgId")
    # no index on "members.userId": the embedded stand-in's find() then misses matches on that array path
    db["columns"].create_index([("projectId", ASCENDING), ("scopeId", ASCENDING), ("order", ASCENDING)])
    db["columns"].create_index("workspaceId")
    db["cards"].create_index([("projectId", ASCENDING), ("columnId", ASCENDING), ("rank", ASCENDING)])
    for name, info in db["cards"].index_information().items():   # the dense `order` indexes of before ranks
        if "order" in [k for k, _ in info.get("key", [])]:
            db["cards"].drop_index(name)
    db["cards"].create_index([("workspaceId", ASCENDING), ("assigneeId", ASCENDING)])
    db["cards"].create_index("orgId")
    db["comments"].create_index([("cardId", ASCENDING), ("createdAt", ASCENDING)])
    db["comments"].create_index("projectId")
    db["comments"].create_index("workspaceId")
    db["labels"].create_index([("projectId", ASCENDING), ("name", ASCENDING)], unique=True)
    db["labels"].create_index("workspaceId")
    db["custom_fields"].create_index("projectId")
    db["custom_fields"].create_index("workspaceId")
    db["relations"].create_index([("projectId", ASCENDING), ("sourceCardId", ASCENDING),
                                  ("targetCardId", ASCENDING), ("type", ASCENDING)], unique=True)
    db["relations"].create_index("targetCardId")
    db["relations"].create_index("workspaceId")
    db["scopes"].create_index([("projectId", ASCENDING), ("order", ASCENDING)])
    db["scopes"].create_index("workspaceId")


class BoardsStore:
    def __init__(self, db):
        self.db = db
        self.projects = db["projects"]
        self.columns = db["columns"]
        self.cards = db["cards"]
        self.comments = db["comments"]
        self.labels = db["labels"]
        self.fields = db["custom_fields"]
        self.relations = db["relations"]
        self.scopes = db["scopes"]

    @staticmethod
    def _insert(col, doc, session=None):
        doc = _in(doc)
        try:
            col.insert_one(doc, session=session)
        except DuplicateKeyError as exc:
            raise Duplicate(str(exc)) from exc
        return _out(doc)

    @staticmethod
    def _insert_many(col, docs, session=None):
        docs = [_in(d) for d in docs]
        if docs:
            col.insert_many(docs, session=session)
        return [_out(d) for d in docs]

    @staticmethod
    def _update(col, query, update, session=None):
        try:
            return _out(col.find_one_and_update(query, update, return_document=ReturnDocument.AFTER,
                                                session=session))
        except DuplicateKeyError as exc:
            raise Duplicate(str(exc)) from exc

    # ------------------------------------------------------------------ projects
    def insert_project(self, doc, session=None):
        return self._insert(self.projects, doc, session)

    def get_project(self, ws_id, project_id, session=None):
        return _out(self.projects.find_one({"_id": _eq(project_id), "workspaceId": _eq(ws_id)}, session=session))

    def list_projects(self, ws_id):
        return [_out(d) for d in self.projects.find({"workspaceId": ws_id}).sort([("createdAt", 1), ("_id", 1)])]

    def update_project(self, ws_id, project_id, changes, session=None):
        return self._update(self.projects, {"_id": project_id, "workspaceId": ws_id},
                            {"$set": changes, "$inc": {"boardRev": 1}}, session)

    def add_project_member(self, ws_id, project_id, member, updated_at, session=None) -> bool:
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

    def remove_project_member(self, ws_id, project_id, user_id, updated_at, session=None) -> bool:
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

    def projects_with_member(self, ws_id, user_id, session=None):
        return [_out(d) for d in self.projects.find({"workspaceId": ws_id, "members.userId": user_id},
                                                   session=session)]

    def lock_board(self, project_id, session=None) -> None:
        """Write the project's document first thing in a transaction: two transactions changing the same
        board's orders then conflict (one is retried) instead of both reading the same orders. `boardRev`
        is also the board's version (the ETag of its lists): every write to its columns or cards bumps it."""
        self.projects.update_one({"_id": _eq(project_id)}, {"$inc": {"boardRev": 1}}, session=session)

    bump = lock_board

    def bump_workspace(self, ws_id, session=None) -> None:
        self.projects.update_many({"workspaceId": _eq(ws_id)}, {"$inc": {"boardRev": 1}}, session=session)

    def board_write(self, ws_id, project_id, counts: dict, *, rank=None, set_=None, unset=(), session=None):
        """One command for the project side of a card write: bump the version, $inc the card counts of the
        board map (`board.<columnId>.n`, each column required to exist), record a handed-out end `rank`
        in `rankMax`. Returns the project after it, or None (no such project, or a column not in it)."""
        query = {"_id": _eq(project_id), "workspaceId": _eq(ws_id)}
        query.update({f"board.{c}": {"$exists": True} for c in counts})
        update: dict = {"$inc": {"boardRev": 1, **{f"board.{c}.n": d for c, d in counts.items() if d}}}
        if rank is not None:
            update["$max"] = {"rankMax": rank}
        if set_:
            update["$set"] = set_
        if unset:
            update["$unset"] = {k: "" for k in unset}
        return _out(self.projects.find_one_and_update(query, update, return_document=ReturnDocument.AFTER,
                                                      session=session))

    def rebuild_board(self, project_id, session=None) -> dict:
        """The board map of a project (`board: {columnId: {n, s, name}}`, `rankMax`) from its columns and
        cards, and a `rank` for every card without one (its old dense `order`): the one-time migration of
        projects from before ranks, and the repair after a scope deletion. Bounded by one board's size."""
        columns = list(self.columns.find({"projectId": _eq(project_id)}, {"scopeId": 1, "name": 1}, session=session))
        cards = list(self.cards.find({"projectId": _eq(project_id)}, {"columnId": 1, "order": 1, "rank": 1,
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
            self.cards.bulk_write(writes, ordered=False, session=session)
        return _out(self.projects.find_one_and_update(
            {"_id": _eq(project_id)}, {"$set": {"board": board}, "$max": {"rankMax": top}, "$inc": {"boardRev": 1}},
            return_document=ReturnDocument.AFTER, session=session))

    def delete_project_cascade(self, ws_id, project_id, session=None) -> None:
        for name in PROJECT_CHILDREN:
            self.db[name].delete_many({"projectId": project_id, "workspaceId": ws_id}, session=session)
        self.projects.delete_one({"_id": project_id, "workspaceId": ws_id}, session=session)

    def delete_tenant(self, *, workspace_id=None, org_id=None, session=None) -> None:
        query = {"workspaceId": workspace_id} if workspace_id else {"orgId": org_id}
        for name in TENANT_COLLECTIONS:
            self.db[name].delete_many(query, session=session)

    # ------------------------------------------------------------------ columns
    def insert_column(self, doc, session=None):
        return self._insert(self.columns, doc, session)

    def insert_columns(self, docs, session=None):
        return self._insert_many(self.columns, docs, session)

    def get_column(self, ws_id, project_id, column_id, session=None):
        return _out(self.columns.find_one({"_id": column_id, "projectId": project_id, "workspaceId": ws_id},
                                          session=session))

    def list_columns(self, ws_id, project_id, *, scope=..., session=None):
        """`scope`: ... = every column of the project, None = the main board, an id = that scope. Each
        column's dense `order` (its position in its board by rank) is computed here."""
        query = {"projectId": _eq(project_id), "workspaceId": _eq(ws_id)}
        if scope is not ...:
            query["scopeId"] = scope
        docs = [_out(d) for d in self.columns.find(query, {"orgId": 0, "workspaceId": 0}, session=session)]
        by_board: dict = {}
        for doc in sorted(docs, key=lambda c: (column_rank(c), str(c.get("createdAt")), c["id"])):
            doc["order"] = len(by_board.setdefault(doc.get("scopeId"), []))
            by_board[doc["scopeId"]].append(doc)
        docs.sort(key=lambda c: (c["order"], str(c.get("createdAt")), c["id"]))
        return docs

    def columns_of_workspace(self, ws_id, project_ids=None):
        query = {"workspaceId": ws_id}
        if project_ids is not None:
            query["projectId"] = {"$in": list(project_ids)}
        return [_out(d) for d in self.columns.find(query, {"projectId": 1, "scopeId": 1, "order": 1, "rank": 1,
                                                           "name": 1})]

    def board_columns(self, project_id, scope_id, session=None) -> list[dict]:
        """The columns of one board (`_id`, rank), by position: boards hold tens of columns."""
        docs = list(self.columns.find({"projectId": _eq(project_id), "scopeId": scope_id},
                                      {"rank": 1, "order": 1, "createdAt": 1}, session=session))
        docs.sort(key=lambda c: (column_rank(c), str(c.get("createdAt")), c["_id"]))
        return docs

    def column_rank_at(self, project_id, scope_id, position: int, exclude_id=None, session=None) -> int:
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

    def update_column(self, ws_id, column_id, changes, session=None):
        return self._update(self.columns, {"_id": column_id, "workspaceId": ws_id}, {"$set": changes}, session)

    def delete_column(self, ws_id, column_id, session=None) -> None:
        self.columns.delete_one({"_id": column_id, "workspaceId": ws_id}, session=session)

    # ------------------------------------------------------------------ cards
    def insert_card(self, doc, session=None):
        return self._insert(self.cards, doc, session)

    def insert_cards(self, docs, session=None):
        return self._insert_many(self.cards, docs, session)

    def get_card(self, ws_id, card_id, project_id=None, session=None):
        query = {"_id": _eq(card_id), "workspaceId": _eq(ws_id)}
        if project_id is not None:
            query["projectId"] = _eq(project_id)
        return _out(self.cards.find_one(query, session=session))

    def cards_by_ids(self, ws_id, card_ids, project_id=None, session=None):
        query = {"_id": {"$in": list(card_ids)}, "workspaceId": ws_id}
        if project_id is not None:
            query["projectId"] = project_id
        return [_out(d) for d in self.cards.find(query, session=session)]

    def position(self, card: dict, session=None) -> int:
        """The dense `order` of one card: how many cards of its column rank before it."""
        return self.cards.count_documents({"projectId": _eq(card["projectId"]), "columnId": _eq(card["columnId"]),
                                           "rank": {"$lt": card.get("rank", 0)}}, session=session)

    def with_position(self, card: dict | None, session=None) -> dict | None:
        if card is not None:
            card["order"] = self.position(card, session)
        return card

    def list_cards(self, ws_id, project_id, *, archived="false", scope=..., column_id=None, skip=0, limit=None,
                   session=None):
        """One find (the index on projectId), the dense orders computed here. Archived cards keep their
        place, so they are read too and filtered out after the orders are known."""
        query = {"projectId": _eq(project_id), "workspaceId": _eq(ws_id)}
        if scope is not ...:
            query["scopeId"] = scope
        if column_id is not None:
            query["columnId"] = _eq(column_id)
        docs = [_out(d) for d in self.cards.find(query, LIST_FIELDS, session=session, batch_size=10_000)]
        dense_orders(docs)
        if archived == "true":
            docs = [d for d in docs if d.get("archived")]
        elif archived == "false":
            docs = [d for d in docs if not d.get("archived")]
        docs.sort(key=lambda d: (d["order"], d["createdAt"], d["id"]))
        if skip or limit:
            docs = docs[skip:(skip + limit) if limit else None]
        return docs

    def card_ids(self, query, session=None) -> list[str]:
        return [d["_id"] for d in self.cards.find(query, {"_id": 1}, session=session)]

    def cards_for_summary(self, ws_id, project_ids=None):
        query = {"workspaceId": _eq(ws_id), "archived": False}
        if project_ids is not None:
            query["projectId"] = {"$in": list(project_ids)}
        fields = {"projectId": 1, "columnId": 1, "priority": 1, "dueDate": 1, "updatedAt": 1}
        return [_out(d) for d in self.cards.find(query, fields)]

    def column_size(self, column_id, session=None) -> int:
        return len(list(self.cards.find({"columnId": column_id}, {"_id": 1}, session=session).limit(1)))

    def neighbours(self, project_id, column_id, position: int, exclude_id=None, session=None):
        """(rank before, rank after) the dense `position` of a column, leaving out `exclude_id` (the card
        being moved): one indexed find of at most two cards. None = no card on that side."""
        query = {"projectId": _eq(project_id), "columnId": _eq(column_id)}
        if exclude_id is not None:
            query["_id"] = {"$ne": exclude_id}
        cursor = self.cards.find(query, {"rank": 1}, session=session).sort([("rank", 1), ("_id", 1)])
        if position > 0:
            cursor = cursor.skip(position - 1)
        found = [d.get("rank", 0) for d in cursor.limit(2 if position > 0 else 1)]
        if position == 0:
            return None, (found[0] if found else None)
        return (found[0] if found else None), (found[1] if len(found) > 1 else None)

    def rebalance(self, project_id, column_id, position: int = 0, session=None) -> None:
        """Spread the ranks around dense `position` again when two neighbours left no integer between
        them: the 32 cards around it between the ranks that bound them, a window 4 times wider while
        that leaves too little room, the whole column at worst (then GAP apart). Rare, and bounded by the
        window's size, not the column's."""
        window = 16
        query = {"projectId": _eq(project_id), "columnId": _eq(column_id)}
        while True:
            start = max(0, position - window)
            docs = list(self.cards.find(query, {"rank": 1}, session=session).sort([("rank", 1), ("_id", 1)])
                        .skip(start).limit(2 * window + 1))
            if not docs:
                return
            at_start, at_end = start == 0, len(docs) < 2 * window + 1
            ranks = [int(d.get("rank", 0)) for d in docs]
            lo = ranks[0] - GAP * len(docs) if at_start else ranks[0]
            hi = ranks[-1] + GAP * len(docs) if at_end else ranks[-1]
            movable = docs[(0 if at_start else 1):(len(docs) if at_end else len(docs) - 1)]
            step = (hi - lo) // (len(movable) + 1)
            if step >= 64 or (at_start and at_end):
                break
            window *= 4
        self.cards.bulk_write([UpdateOne({"_id": d["_id"]}, {"$set": {"rank": lo + step * (k + 1)}})
                               for k, d in enumerate(movable)], ordered=False, session=session)
        if at_end:
            self.projects.update_one({"_id": _eq(project_id)}, {"$max": {"rankMax": hi}}, session=session)

    def move_card(self, ws_id, project_id, card_id, set_: dict, *, not_in=None, session=None):
        """One command: the card as it was before `set_` (None: no such card, or already in `not_in`)."""
        query = {"_id": _eq(card_id), "workspaceId": _eq(ws_id), "projectId": _eq(project_id)}
        if not_in is not None:
            query["columnId"] = {"$ne": not_in}
        return _out(self.cards.find_one_and_update(query, {"$set": set_}, return_document=ReturnDocument.BEFORE,
                                                   session=session))

    def update_card(self, ws_id, card_id, *, set_=None, unset=None, inc=None, add=None, pull=None, session=None):
        update = {}
        if set_:
            update["$set"] = set_
        if unset:
            update["$unset"] = {k: "" for k in unset}
        if inc:
            update["$inc"] = inc
        if add:
            update["$addToSet"] = add
        if pull:
            update["$pull"] = pull
        card = self._update(self.cards, {"_id": _eq(card_id), "workspaceId": _eq(ws_id)}, update, session)
        if card is not None:
            self.bump(card["projectId"], session=session)
        return card

    def update_cards(self, query, update, session=None) -> int:
        return self.cards.update_many(query, update, session=session).modified_count

    def delete_cards(self, ws_id, card_ids, session=None) -> None:
        ids = list(card_ids)
        if not ids:
            return
        self.cards.delete_many({"_id": {"$in": ids}, "workspaceId": ws_id}, session=session)
        self.comments.delete_many({"cardId": {"$in": ids}, "workspaceId": ws_id}, session=session)
        self.relations.delete_many({"workspaceId": ws_id, "$or": [{"sourceCardId": {"$in": ids}},
                                                                  {"targetCardId": {"$in": ids}}]},
                                   session=session)

    def cards_with_field(self, project_id, field_id):
        key = f"customFields.{field_id}"
        return [_out(d) for d in self.cards.find({"projectId": project_id, key: {"$exists": True}},
                                                 {"_id": 1, "customFields": 1})]

    # ------------------------------------------------------------------ comments
    def insert_comment(self, doc, session=None):
        return self._insert(self.comments, doc, session)

    def get_comment(self, ws_id, card_id, comment_id, session=None):
        return _out(self.comments.find_one({"_id": comment_id, "cardId": card_id, "workspaceId": ws_id},
                                           session=session))

    def list_comments(self, ws_id, card_id, *, skip=0, limit=None):
        cursor = self.comments.find({"cardId": card_id, "workspaceId": ws_id}).sort([("createdAt", 1), ("_id", 1)])
        if skip:
            cursor = cursor.skip(skip)
        if limit:
            cursor = cursor.limit(limit)
        return [_out(d) for d in cursor]

    def delete_comment(self, ws_id, comment_id, session=None) -> int:
        return self.comments.delete_one({"_id": comment_id, "workspaceId": ws_id}, session=session).deleted_count

    # ------------------------------------------------------------------ labels
    def insert_label(self, doc, session=None):
        return self._insert(self.labels, doc, session)

    def insert_labels(self, docs, session=None):
        return self._insert_many(self.labels, docs, session)

    def get_label(self, ws_id, project_id, label_id):
        return _out(self.labels.find_one({"_id": label_id, "projectId": project_id, "workspaceId": ws_id}))

    def label_by_name(self, project_id, name):
        return _out(self.labels.find_one({"projectId": project_id, "name": name}))

    def list_labels(self, ws_id, project_id, session=None):
        return [_out(d) for d in self.labels.find({"projectId": project_id, "workspaceId": ws_id},
                                                  session=session).sort([("createdAt", 1), ("_id", 1)])]

    def update_label(self, ws_id, label_id, changes, session=None):
        return self._update(self.labels, {"_id": label_id, "workspaceId": ws_id}, {"$set": changes}, session)

    def delete_label(self, ws_id, project_id, label_id, session=None) -> None:
        self.labels.delete_one({"_id": label_id, "workspaceId": ws_id}, session=session)
        self.cards.update_many({"projectId": project_id, "labelIds": label_id},
                               {"$pull": {"labelIds": label_id}}, session=session)
        self.bump(project_id, session=session)

    # ------------------------------------------------------------------ custom fields
    def insert_field(self, doc, session=None):
        return self._insert(self.fields, doc, session)

    def insert_fields(self, docs, session=None):
        return self._insert_many(self.fields, docs, session)

    def get_field(self, ws_id, project_id, field_id):
        return _out(self.fields.find_one({"_id": field_id, "projectId": project_id, "workspaceId": ws_id}))

    def list_fields(self, ws_id, project_id, session=None):
        return [_out(d) for d in self.fields.find({"projectId": project_id, "workspaceId": ws_id},
                                                  session=session).sort([("createdAt", 1), ("_id", 1)])]

    def update_field(self, ws_id, field_id, changes, session=None):
        return self._update(self.fields, {"_id": field_id, "workspaceId": ws_id}, {"$set": changes}, session)

    def unset_field_values(self, project_id, field_id, card_ids=None, session=None) -> None:
        key = f"customFields.{field_id}"
        query = {"projectId": project_id, key: {"$exists": True}}
        if card_ids is not None:
            query["_id"] = {"$in": list(card_ids)}
        self.cards.update_many(query, {"$unset": {key: ""}}, session=session)
        self.bump(project_id, session=session)

    def delete_field(self, ws_id, project_id, field_id, session=None) -> None:
        self.fields.delete_one({"_id": field_id, "workspaceId": ws_id}, session=session)
        self.unset_field_values(project_id, field_id, session=session)

    # ------------------------------------------------------------------ relations
    def insert_relation(self, doc, session=None):
        return self._insert(self.relations, doc, session)

    def insert_relations(self, docs, session=None):
        return self._insert_many(self.relations, docs, session)

    def find_relation(self, project_id, source_id, target_id, rel_type):
        return _out(self.relations.find_one({"projectId": project_id, "sourceCardId": source_id,
                                             "targetCardId": target_id, "type": rel_type}))

    def get_relation(self, ws_id, project_id, relation_id):
        return _out(self.relations.find_one({"_id": relation_id, "projectId": project_id, "workspaceId": ws_id}))

    def relations_of_card(self, ws_id, card_id):
        docs = self.relations.find({"workspaceId": ws_id, "$or": [{"sourceCardId": card_id},
                                                                  {"targetCardId": card_id}]})
        return [_out(d) for d in docs.sort([("createdAt", 1), ("_id", 1)])]

    def relations_of_project(self, ws_id, project_id, rel_type=None, session=None):
        query = {"projectId": project_id, "workspaceId": ws_id}
        if rel_type:
            query["type"] = rel_type
        return [_out(d) for d in self.relations.find(query, session=session).sort([("createdAt", 1), ("_id", 1)])]

    def delete_relation(self, ws_id, relation_id, session=None) -> None:
        self.relations.delete_one({"_id": relation_id, "workspaceId": ws_id}, session=session)

    # ------------------------------------------------------------------ scopes
    def insert_scope(self, doc, session=None):
        return self._insert(self.scopes, doc, session)

    def insert_scopes(self, docs, session=None):
        return self._insert_many(self.scopes, docs, session)

    def get_scope(self, ws_id, project_id, scope_id, session=None):
        return _out(self.scopes.find_one({"_id": scope_id, "projectId": project_id, "workspaceId": ws_id},
                                         session=session))

    def list_scopes(self, ws_id, project_id, session=None):
        return [_out(d) for d in self.scopes.find({"projectId": project_id, "workspaceId": ws_id},
                                                  session=session).sort([("order", 1), ("createdAt", 1)])]

    def count_scopes(self, project_id, session=None) -> int:
        return _next_order(self.scopes, {"projectId": project_id}, session)

    def shift_scopes(self, project_id, *, start, end=None, delta, session=None) -> None:
        order = {"$gte": start}
        if end is not None:
            order["$lt"] = end
        self.scopes.update_many({"projectId": project_id, "order": order}, {"$inc": {"order": delta}},
                                session=session)

    def update_scope(self, ws_id, scope_id, changes, session=None):
        return self._update(self.scopes, {"_id": scope_id, "workspaceId": ws_id}, {"$set": changes}, session)

    def delete_scope_cascade(self, ws_id, project_id, scope_id, card_ids, session=None) -> None:
        self.delete_cards(ws_id, card_ids, session=session)
        self.columns.delete_many({"projectId": project_id, "scopeId": scope_id, "workspaceId": ws_id},
                                 session=session)
        self.scopes.delete_one({"_id": scope_id, "workspaceId": ws_id}, session=session)
