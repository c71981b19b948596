"""What identity's storage modules share: the dialect helpers and `Duplicate`.

Each domain's `storage.py` is the only pymongo code for its collections — accounts: `users`; sessions:
`login_failures`; orgs: `orgs`, `org_members`; workspaces: `workspaces`, `ws_members`; invitations:
`invitations`; tokens: `api_tokens` — documents in, plain dicts (with `id`) out. Ids are 24-hex
strings, `_id` included. Each store creates its indexes (`ensure_indexes`); the collections are
created first, together (service.py `IdentityServices.ensure_indexes`).
"""
from __future__ import annotations

from pymongo.errors import DuplicateKeyError

from libs.common.mongo import from_doc, set_update

COLLECTIONS = ["users", "orgs", "org_members", "workspaces", "ws_members", "invitations", "api_tokens",
               "login_failures", "outbox", "processed_events", "dead_letters"]

out = from_doc


class Duplicate(Exception):
    """A unique index refused the write."""


def stamped(changes: dict, *stamp_fields: str) -> dict:
    """`$set` the changes, stamping `stamp_fields` with the server's date (the dialect: mongo.set_update)."""
    return set_update(changes, stamp=stamp_fields)


def insert(col, doc: dict, session=None) -> dict:
    try:
        col.insert_one(doc, session=session)
    except DuplicateKeyError as exc:
        raise Duplicate(str(exc)) from exc
    return out(doc)


def update_unique(col, doc_id: str, update: dict, session=None) -> dict | None:
    """Update a document that has unique fields (slugs) -> the new document, or Duplicate.

    `update_one` then `find_one` rather than `find_one_and_update`: on the embedded stand-in
    a `find_one_and_update` that breaks a unique index returns None instead of raising.
    """
    try:
        col.update_one({"_id": doc_id}, update, session=session)
    except DuplicateKeyError as exc:
        raise Duplicate(str(exc)) from exc
    return out(col.find_one({"_id": doc_id}, session=session))
