"""The `cards` collection. A card's place in its column is its `rank` (ranks.py); the dense `order` is
derived when read (`list` for a board, `position` for one card).

    cards {_id, orgId, workspaceId, projectId, columnId, scopeId, title, description, priority, startDate,
           dueDate, assigneeId, archived, rank, labelIds, customFields: {fieldId: value},
           checklist: [{_id, title, done, order}], commentCount, attachmentCount, createdBy, createdAt, updatedAt}
"""
from __future__ import annotations

from pymongo import ASCENDING, ReturnDocument, UpdateOne

from libs.common.mongo import count

from ..ranks import GAP, dense_orders
from ..storage import eq, insert, insert_many, out, update

# what a card in a list is read with: every field of the answer, none of the storage-only ones
LIST_FIELDS = {"orgId": 0, "workspaceId": 0, "order": 0}


def ensure_indexes(db) -> None:
    db["cards"].create_index([("projectId", ASCENDING), ("columnId", ASCENDING), ("rank", ASCENDING)])
    for name, info in db["cards"].index_information().items():   # the dense `order` indexes of before ranks
        if "order" in [k for k, _ in info.get("key", [])]:
            db["cards"].drop_index(name)
    db["cards"].create_index([("workspaceId", ASCENDING), ("assigneeId", ASCENDING)])
    db["cards"].create_index("orgId")


class CardStore:
    def __init__(self, db):
        self.cards = db["cards"]

    def insert(self, doc, session=None) -> dict:
        return insert(self.cards, doc, session)

    def insert_many(self, docs, session=None) -> list[dict]:
        return insert_many(self.cards, docs, session)

    def get(self, ws_id, card_id, project_id=None, session=None) -> dict | None:
        query = {"_id": eq(card_id), "workspaceId": eq(ws_id)}
        if project_id is not None:
            query["projectId"] = eq(project_id)
        return out(self.cards.find_one(query, session=session))

    def by_ids(self, ws_id, card_ids, project_id=None, session=None) -> list[dict]:
        query = {"_id": {"$in": list(card_ids)}, "workspaceId": ws_id}
        if project_id is not None:
            query["projectId"] = project_id
        return [out(d) for d in self.cards.find(query, session=session)]

    def position(self, card: dict, session=None) -> int:
        """The dense `order` of one card: how many cards of its column rank before it."""
        return count(self.cards, {"projectId": eq(card["projectId"]), "columnId": eq(card["columnId"]),
                                  "rank": {"$lt": card.get("rank", 0)}}, session=session)

    def with_position(self, card: dict | None, session=None) -> dict | None:
        if card is not None:
            card["order"] = self.position(card, session)
        return card

    def list(self, ws_id, project_id, *, archived="false", scope=..., column_id=None, skip=0, limit=None,
             session=None) -> list[dict]:
        """One find (the index on projectId), the dense orders computed here. Archived cards keep their
        place, so they are read too and filtered out after the orders are known."""
        query = {"projectId": eq(project_id), "workspaceId": eq(ws_id)}
        if scope is not ...:
            query["scopeId"] = scope
        if column_id is not None:
            query["columnId"] = eq(column_id)
        docs = [out(d) for d in self.cards.find(query, LIST_FIELDS, session=session, batch_size=10_000)]
        dense_orders(docs)
        if archived == "true":
            docs = [d for d in docs if d.get("archived")]
        elif archived == "false":
            docs = [d for d in docs if not d.get("archived")]
        docs.sort(key=lambda d: (d["order"], d["createdAt"], d["id"]))
        if skip or limit:
            docs = docs[skip:(skip + limit) if limit else None]
        return docs

    def ids(self, query, session=None) -> list[str]:
        return [d["_id"] for d in self.cards.find(query, {"_id": 1}, session=session)]

    def for_summary(self, ws_id, project_ids=None) -> list[dict]:
        query = {"workspaceId": eq(ws_id), "archived": False}
        if project_ids is not None:
            query["projectId"] = {"$in": list(project_ids)}
        fields = {"projectId": 1, "columnId": 1, "priority": 1, "dueDate": 1, "updatedAt": 1}
        return [out(d) for d in self.cards.find(query, fields)]

    def column_size(self, column_id, session=None) -> int:
        return len(list(self.cards.find({"columnId": column_id}, {"_id": 1}, session=session).limit(1)))

    def neighbours(self, project_id, column_id, position: int, exclude_id=None, session=None):
        """(rank before, rank after) the dense `position` of a column, leaving out `exclude_id` (the card
        being moved): one indexed find of at most two cards. None = no card on that side."""
        query = {"projectId": eq(project_id), "columnId": eq(column_id)}
        if exclude_id is not None:
            query["_id"] = {"$ne": exclude_id}
        cursor = self.cards.find(query, {"rank": 1}, session=session).sort([("rank", 1), ("_id", 1)])
        if position > 0:
            cursor = cursor.skip(position - 1)
        found = [d.get("rank", 0) for d in cursor.limit(2 if position > 0 else 1)]
        if position == 0:
            return None, (found[0] if found else None)
        return (found[0] if found else None), (found[1] if len(found) > 1 else None)

    def rebalance(self, project_id, column_id, position: int = 0, session=None) -> int | None:
        """Spread the ranks around dense `position` again when two neighbours left no integer between
        them: the 32 cards around it between the ranks that bound them, a window 4 times wider while
        that leaves too little room, the whole column at worst (then GAP apart). Rare, and bounded by the
        window's size, not the column's. Returns the column's new last rank when the window reached its
        end (the project's `rankMax` must cover it), else None."""
        window = 16
        query = {"projectId": eq(project_id), "columnId": eq(column_id)}
        while True:
            start = max(0, position - window)
            docs = list(self.cards.find(query, {"rank": 1}, session=session).sort([("rank", 1), ("_id", 1)])
                        .skip(start).limit(2 * window + 1))
            if not docs:
                return None
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
        return hi if at_end else None

    def move(self, ws_id, project_id, card_id, set_: dict, *, not_in=None, session=None) -> dict | None:
        """One command: the card as it was before `set_` (None: no such card, or already in `not_in`)."""
        query = {"_id": eq(card_id), "workspaceId": eq(ws_id), "projectId": eq(project_id)}
        if not_in is not None:
            query["columnId"] = {"$ne": not_in}
        return out(self.cards.find_one_and_update(query, {"$set": set_}, return_document=ReturnDocument.BEFORE,
                                                  session=session))

    def set_fields(self, card_id, fields: dict, session=None) -> None:
        """A plain `$set` on one card by id (a move's rank or scope fix-up)."""
        self.cards.update_one({"_id": card_id}, {"$set": fields}, session=session)

    def update(self, ws_id, card_id, *, set_=None, unset=None, inc=None, add=None, pull=None,
               session=None) -> dict | None:
        change = {}
        if set_:
            change["$set"] = set_
        if unset:
            change["$unset"] = {k: "" for k in unset}
        if inc:
            change["$inc"] = inc
        if add:
            change["$addToSet"] = add
        if pull:
            change["$pull"] = pull
        return update(self.cards, {"_id": eq(card_id), "workspaceId": eq(ws_id)}, change, session)

    def unassign(self, ws_id, user_id, updated_at, session=None) -> int:
        return self.cards.update_many({"workspaceId": ws_id, "assigneeId": user_id},
                                      {"$set": {"assigneeId": None, "updatedAt": updated_at}},
                                      session=session).modified_count

    def pull_label(self, project_id, label_id, session=None) -> None:
        self.cards.update_many({"projectId": project_id, "labelIds": label_id},
                               {"$pull": {"labelIds": label_id}}, session=session)

    def with_field(self, project_id, field_id) -> list[dict]:
        key = f"customFields.{field_id}"
        return [out(d) for d in self.cards.find({"projectId": project_id, key: {"$exists": True}},
                                                {"_id": 1, "customFields": 1})]

    def unset_field(self, project_id, field_id, card_ids=None, session=None) -> None:
        key = f"customFields.{field_id}"
        query = {"projectId": project_id, key: {"$exists": True}}
        if card_ids is not None:
            query["_id"] = {"$in": list(card_ids)}
        self.cards.update_many(query, {"$unset": {key: ""}}, session=session)
