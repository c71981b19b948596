"""What boards' storage modules share, and the deletions that span collections.

Each domain's `storage.py` (projects/, columns/, cards/, comments/, labels/, fields/, relations/, scopes/,
attachments/) is the only pymongo code for its collection; documents in, plain dicts (with `id`) out.
Every read is scoped by `workspaceId` (tenant isolation): an id from another workspace finds nothing.
Ids are 24-hex strings, `_id` included (see docs/CONTRACTS.md on the embedded MongoDB stand-in).
Here: the dialect helpers (`out`, `eq`), `Duplicate`, the collections and their indexes, and
`BoardsStore` — what deleting cards, a scope, a project, a workspace or an org removes.
"""
from __future__ import annotations

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from libs.common.mongo import ensure_collections, reader

from .ranks import GAP, board_map, clock_rank, column_rank, dense_orders, rank_between  # noqa: F401 - shared names

COLLECTIONS = ["projects", "columns", "cards", "comments", "labels", "custom_fields", "relations", "scopes",
               "outbox", "processed_events", "dead_letters"]
# every collection holding one workspace's data: what an org / workspace / project deletion clears
TENANT_COLLECTIONS = ["projects", "columns", "cards", "comments", "labels", "custom_fields", "relations", "scopes"]
PROJECT_CHILDREN = ["columns", "cards", "comments", "labels", "custom_fields", "relations", "scopes"]

DATE_KEYS = ("createdAt", "updatedAt", "startDate", "dueDate")

# Dates and booleans read back through the dialect (mongo.reader): the stand-in returns a date given
# to a top-level `$set` as text and a boolean as 0 / 1.
out = reader(dates=DATE_KEYS, bools=("archived",))


class Duplicate(Exception):
    """A unique index refused the write."""


def to_doc(doc: dict) -> dict:
    doc = dict(doc)
    if "id" in doc:
        doc["_id"] = doc.pop("id")
    return doc


def eq(value):
    """An equality the embedded stand-in serves from an index: it turns a bare `{field: value}` into an
    array-aware scan (json_each) but `{field: {"$eq": value}}` into an index search (explain shows
    "USING INDEX"). MongoDB answers both alike."""
    return {"$eq": value}


def insert(col, doc, session=None) -> dict:
    doc = to_doc(doc)
    try:
        col.insert_one(doc, session=session)
    except DuplicateKeyError as exc:
        raise Duplicate(str(exc)) from exc
    return out(doc)


def insert_many(col, docs, session=None) -> list[dict]:
    docs = [to_doc(d) for d in docs]
    if docs:
        col.insert_many(docs, session=session)
    return [out(d) for d in docs]


def update(col, query, change, session=None) -> dict | None:
    try:
        return out(col.find_one_and_update(query, change, return_document=ReturnDocument.AFTER, session=session))
    except DuplicateKeyError as exc:
        raise Duplicate(str(exc)) from exc


def next_order(col, query, session=None) -> int:
    """max(order) + 1 = the size of a dense sequence. (`count_documents` is an aggregate, which the
    embedded stand-in cannot run inside a transaction.)"""
    last = list(col.find(query, {"order": 1}, session=session).sort("order", -1).limit(1))
    return last[0]["order"] + 1 if last else 0


def ensure_indexes(db) -> None:
    """Create collections and indexes at start-up (a transaction cannot create a collection)."""
    from .cards.storage import ensure_indexes as cards
    from .columns.storage import ensure_indexes as columns
    from .comments.storage import ensure_indexes as comments
    from .fields.storage import ensure_indexes as fields
    from .labels.storage import ensure_indexes as labels
    from .projects.storage import ensure_indexes as projects
    from .relations.storage import ensure_indexes as relations
    from .scopes.storage import ensure_indexes as scopes

    ensure_collections(db, COLLECTIONS)
    for domain in (projects, columns, cards, comments, labels, fields, relations, scopes):
        domain(db)


class BoardsStore:
    """The deletions that span boards' collections (a card takes its comments and relations along, a
    scope its columns and cards, a project or a tenant everything). Attachments are the attachments
    module's (`attachments.service.schedule_deletions`, called by the services in the same transaction)."""

    def __init__(self, db):
        self.db = db

    def delete_cards(self, ws_id, card_ids, session=None) -> None:
        ids = list(card_ids)
        if not ids:
            return
        self.db["cards"].delete_many({"_id": {"$in": ids}, "workspaceId": ws_id}, session=session)
        self.db["comments"].delete_many({"cardId": {"$in": ids}, "workspaceId": ws_id}, session=session)
        self.db["relations"].delete_many({"workspaceId": ws_id, "$or": [{"sourceCardId": {"$in": ids}},
                                                                        {"targetCardId": {"$in": ids}}]},
                                         session=session)

    def delete_scope(self, ws_id, project_id, scope_id, card_ids, session=None) -> None:
        self.delete_cards(ws_id, card_ids, session=session)
        self.db["columns"].delete_many({"projectId": project_id, "scopeId": scope_id, "workspaceId": ws_id},
                                       session=session)
        self.db["scopes"].delete_one({"_id": scope_id, "workspaceId": ws_id}, session=session)

    def delete_project(self, ws_id, project_id, session=None) -> None:
        for name in PROJECT_CHILDREN:
            self.db[name].delete_many({"projectId": project_id, "workspaceId": ws_id}, session=session)
        self.db["projects"].delete_one({"_id": project_id, "workspaceId": ws_id}, session=session)

    def delete_tenant(self, *, workspace_id=None, org_id=None, session=None) -> None:
        query = {"workspaceId": workspace_id} if workspace_id else {"orgId": org_id}
        for name in TENANT_COLLECTIONS:
            self.db[name].delete_many(query, session=session)
