"""The only module of identity that speaks pymongo. Documents in, plain dicts out."""
from __future__ import annotations

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from libs.common.mongo import ensure_collections, from_doc, set_update

COLLECTIONS = ["users", "orgs", "org_members", "workspaces", "ws_members", "invitations", "api_tokens",
               "login_failures", "outbox", "processed_events", "dead_letters"]


def _stamped(changes: dict, *stamp_fields: str) -> dict:
    """`$set` the changes, stamping `stamp_fields` with the server's date (the dialect: mongo.set_update)."""
    return set_update(changes, stamp=stamp_fields)


_out = from_doc
FAILURES_KEEP_S = 2 * 86400         # a failure counter outlives the longest lock by far
KNOWN_ADDRESS_KEEP_S = 30 * 86400   # an address an account logged in from stays known for a month


class Duplicate(Exception):
    """A unique index refused the write."""


class IdentityStore:
    def __init__(self, db):
        self.db = db
        self.users = db["users"]
        self.orgs = db["orgs"]
        self.org_members = db["org_members"]
        self.workspaces = db["workspaces"]
        self.ws_members = db["ws_members"]
        self.invitations = db["invitations"]
        self.tokens = db["api_tokens"]
        self.login_failures = db["login_failures"]

    def ensure_indexes(self) -> None:
        ensure_collections(self.db, COLLECTIONS)
        self.users.create_index("email", unique=True)
        self.orgs.create_index("slug", unique=True)
        self.org_members.create_index([("orgId", ASCENDING), ("userId", ASCENDING)], unique=True)
        self.org_members.create_index("userId")
        self.workspaces.create_index([("orgId", ASCENDING), ("slug", ASCENDING)], unique=True)
        self.ws_members.create_index([("workspaceId", ASCENDING), ("userId", ASCENDING)], unique=True)
        self.ws_members.create_index([("userId", ASCENDING), ("orgId", ASCENDING)])
        self.invitations.create_index("tokenHash", unique=True)
        self.invitations.create_index("workspaceId")
        self.tokens.create_index("hash", unique=True)
        self.tokens.create_index("userId")
        self.login_failures.create_index("lastAt", expireAfterSeconds=FAILURES_KEEP_S)
        self.login_failures.create_index("seenAt", expireAfterSeconds=KNOWN_ADDRESS_KEEP_S)

    def _insert(self, col, doc, session=None):
        try:
            col.insert_one(doc, session=session)
        except DuplicateKeyError as exc:
            raise Duplicate(str(exc)) from exc
        return _out(doc)

    def _update_unique(self, col, doc_id, update, session=None):
        """Update a document that has unique fields (slugs) -> the new document, or Duplicate.

        `update_one` then `find_one` rather than `find_one_and_update`: on the embedded stand-in
        a `find_one_and_update` that breaks a unique index returns None instead of raising.
        """
        try:
            col.update_one({"_id": doc_id}, update, session=session)
        except DuplicateKeyError as exc:
            raise Duplicate(str(exc)) from exc
        return _out(col.find_one({"_id": doc_id}, session=session))

    # ---- users
    def insert_user(self, doc, session=None):
        return self._insert(self.users, doc, session)

    def get_user(self, user_id):
        return _out(self.users.find_one({"_id": user_id}))

    def get_user_by_email(self, email):
        return _out(self.users.find_one({"email": email}))

    def users_by_ids(self, ids):
        return [_out(d) for d in self.users.find({"_id": {"$in": list(ids)}})]

    def update_user(self, user_id, changes, session=None, inc=None):
        update = _stamped(changes, "updatedAt")
        if inc:
            update["$inc"] = inc
        return _out(self.users.find_one_and_update({"_id": user_id}, update, return_document=ReturnDocument.AFTER,
                                                   session=session))

    # ---- failed-password throttling (throttle.py): counters per key, expired by TTL indexes
    def get_login_failures(self, keys):
        return list(self.login_failures.find({"_id": {"$in": list(keys)}}))

    def count_login_failure(self, key) -> int:
        doc = self.login_failures.find_one_and_update(
            {"_id": key}, {"$inc": {"count": 1}, "$currentDate": {"lastAt": True}}, upsert=True,
            return_document=ReturnDocument.AFTER)
        return int(doc["count"])

    def lock_login(self, key, until_ms: int) -> None:
        self.login_failures.update_one({"_id": key}, {"$set": {"lockedUntilMs": until_ms}})

    def clear_login_failures(self, key):
        self.login_failures.delete_one({"_id": key})

    def remember_address(self, key) -> None:
        self.login_failures.update_one({"_id": key}, {"$currentDate": {"seenAt": True}}, upsert=True)

    # ---- organizations
    def insert_org(self, doc, session=None):
        return self._insert(self.orgs, doc, session)

    def get_org(self, org_id):
        return _out(self.orgs.find_one({"_id": org_id}))

    def get_org_by_slug(self, slug):
        return _out(self.orgs.find_one({"slug": slug}))

    def orgs_by_ids(self, ids):
        return [_out(d) for d in self.orgs.find({"_id": {"$in": list(ids)}}).sort("createdAt", 1)]

    def update_org(self, org_id, changes, session=None):
        return self._update_unique(self.orgs, org_id, _stamped(changes, "updatedAt"), session)

    def delete_org_cascade(self, org_id, session=None):
        ws_ids = [w["_id"] for w in self.workspaces.find({"orgId": org_id}, {"_id": 1}, session=session)]
        self.invitations.delete_many({"orgId": org_id}, session=session)
        self.ws_members.delete_many({"orgId": org_id}, session=session)
        self.workspaces.delete_many({"orgId": org_id}, session=session)
        self.org_members.delete_many({"orgId": org_id}, session=session)
        self.orgs.delete_one({"_id": org_id}, session=session)
        return ws_ids

    # ---- org members
    def insert_org_member(self, doc, session=None):
        return self._insert(self.org_members, doc, session)

    def get_org_member(self, org_id, user_id):
        return _out(self.org_members.find_one({"orgId": org_id, "userId": user_id}))

    def list_org_members(self, org_id):
        return [_out(d) for d in self.org_members.find({"orgId": org_id}).sort("createdAt", 1)]

    def memberships_of(self, user_id):
        return [_out(d) for d in self.org_members.find({"userId": user_id})]

    def set_org_member_role(self, org_id, user_id, role, session=None):
        return _out(self.org_members.find_one_and_update({"orgId": org_id, "userId": user_id},
                                                         _stamped({"role": role}, "updatedAt"),
                                                         return_document=ReturnDocument.AFTER, session=session))

    def delete_org_member(self, org_id, user_id, session=None):
        ws = [d["workspaceId"] for d in self.ws_members.find({"orgId": org_id, "userId": user_id}, session=session)]
        self.ws_members.delete_many({"orgId": org_id, "userId": user_id}, session=session)
        self.org_members.delete_one({"orgId": org_id, "userId": user_id}, session=session)
        return ws

    # ---- workspaces
    def insert_workspace(self, doc, session=None):
        return self._insert(self.workspaces, doc, session)

    def get_workspace(self, ws_id):
        return _out(self.workspaces.find_one({"_id": ws_id}))

    def get_workspace_by_slug(self, org_id, slug):
        return _out(self.workspaces.find_one({"orgId": org_id, "slug": slug}))

    def workspaces_by_ids(self, ids):
        return [_out(d) for d in self.workspaces.find({"_id": {"$in": list(ids)}}).sort("createdAt", 1)]

    def personal_workspace_of(self, user_id):
        return _out(self.workspaces.find_one({"ownerId": user_id, "isPersonal": True}))

    def update_workspace(self, ws_id, changes, session=None):
        return self._update_unique(self.workspaces, ws_id, _stamped(changes, "updatedAt"), session)

    def delete_workspace_cascade(self, ws_id, session=None):
        self.invitations.delete_many({"workspaceId": ws_id}, session=session)
        self.ws_members.delete_many({"workspaceId": ws_id}, session=session)
        self.workspaces.delete_one({"_id": ws_id}, session=session)

    # ---- workspace members
    def insert_ws_member(self, doc, session=None):
        return self._insert(self.ws_members, doc, session)

    def get_ws_member(self, ws_id, user_id):
        return _out(self.ws_members.find_one({"workspaceId": ws_id, "userId": user_id}))

    def list_ws_members(self, ws_id):
        return [_out(d) for d in self.ws_members.find({"workspaceId": ws_id}).sort("createdAt", 1)]

    def ws_memberships_of(self, user_id, org_id):
        return [_out(d) for d in self.ws_members.find({"userId": user_id, "orgId": org_id})]

    def count_ws_admins(self, ws_id):
        return self.ws_members.count_documents({"workspaceId": ws_id, "role": "admin"})

    def update_ws_member(self, ws_id, user_id, changes, session=None):
        return _out(self.ws_members.find_one_and_update({"workspaceId": ws_id, "userId": user_id},
                                                        _stamped(changes, "updatedAt"),
                                                        return_document=ReturnDocument.AFTER, session=session))

    def delete_ws_member(self, ws_id, user_id, session=None):
        return self.ws_members.delete_one({"workspaceId": ws_id, "userId": user_id}, session=session).deleted_count

    # ---- invitations
    def insert_invitation(self, doc, session=None):
        return self._insert(self.invitations, doc, session)

    def pending_invitation(self, ws_id, email):
        return _out(self.invitations.find_one({"workspaceId": ws_id, "email": email, "acceptedAt": None}))

    def pending_org_invitation(self, org_id, email):
        return _out(self.invitations.find_one({"orgId": org_id, "kind": "org", "email": email, "acceptedAt": None}))

    def delete_invitation(self, inv_id, session=None):
        self.invitations.delete_one({"_id": inv_id}, session=session)

    def get_invitation_by_hash(self, token_hash):
        return _out(self.invitations.find_one({"tokenHash": token_hash}))

    def mark_invitation_accepted(self, inv_id, user_id, session=None):
        res = self.invitations.update_one({"_id": inv_id, "acceptedAt": None},
                                          _stamped({"acceptedBy": user_id}, "acceptedAt"), session=session)
        return res.modified_count == 1

    # ---- API tokens
    def insert_token(self, doc, session=None):
        return self._insert(self.tokens, doc, session)

    def list_tokens(self, user_id):
        return [_out(d) for d in self.tokens.find({"userId": user_id}).sort("createdAt", -1)]

    def get_token(self, token_id, user_id):
        return _out(self.tokens.find_one({"_id": token_id, "userId": user_id}))

    def get_token_by_hash(self, token_hash):
        return _out(self.tokens.find_one({"hash": token_hash}))

    def touch_token(self, token_id):
        self.tokens.update_one({"_id": token_id}, _stamped({}, "lastUsedAt"))

    def delete_token(self, token_id, session=None):
        return self.tokens.delete_one({"_id": token_id}, session=session).deleted_count
