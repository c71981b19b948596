"""The `orgs` and `org_members` collections.

    orgs        {_id, name, slug (unique), ownerId, isPersonal, createdAt, updatedAt}
    org_members {_id, orgId, userId (unique per org), role: owner|admin|member, createdAt, updatedAt}
"""
from __future__ import annotations

from pymongo import ASCENDING, ReturnDocument

from libs.common.mongo import new_id

from ..storage import insert, out, stamped, update_unique


class OrgStore:
    def __init__(self, db):
        self.orgs = db["orgs"]

    def ensure_indexes(self) -> None:
        self.orgs.create_index("slug", unique=True)

    def insert(self, doc, session=None) -> dict:
        return insert(self.orgs, doc, session)

    def get(self, org_id) -> dict | None:
        return out(self.orgs.find_one({"_id": org_id}))

    def get_by_slug(self, slug) -> dict | None:
        return out(self.orgs.find_one({"slug": slug}))

    def list_by_ids(self, ids) -> list[dict]:
        return [out(d) for d in self.orgs.find({"_id": {"$in": list(ids)}}).sort("createdAt", 1)]

    def update(self, org_id, changes, session=None) -> dict | None:
        return update_unique(self.orgs, org_id, stamped(changes, "updatedAt"), session)

    def delete(self, org_id, session=None) -> None:
        self.orgs.delete_one({"_id": org_id}, session=session)


class OrgMemberStore:
    def __init__(self, db):
        self.members = db["org_members"]

    def ensure_indexes(self) -> None:
        self.members.create_index([("orgId", ASCENDING), ("userId", ASCENDING)], unique=True)
        self.members.create_index("userId")

    def insert(self, *, org_id, user_id, role, stamp, session=None) -> dict:
        return insert(self.members, {"_id": new_id(), "orgId": org_id, "userId": user_id, "role": role,
                                     "createdAt": stamp}, session)

    def get(self, org_id, user_id) -> dict | None:
        return out(self.members.find_one({"orgId": org_id, "userId": user_id}))

    def list(self, org_id) -> list[dict]:
        return [out(d) for d in self.members.find({"orgId": org_id}).sort("createdAt", 1)]

    def list_of_user(self, user_id) -> list[dict]:
        return [out(d) for d in self.members.find({"userId": user_id})]

    def set_role(self, org_id, user_id, role, session=None) -> dict | None:
        return out(self.members.find_one_and_update({"orgId": org_id, "userId": user_id},
                                                    stamped({"role": role}, "updatedAt"),
                                                    return_document=ReturnDocument.AFTER, session=session))

    def delete(self, org_id, user_id, session=None) -> None:
        self.members.delete_one({"orgId": org_id, "userId": user_id}, session=session)

    def delete_of_org(self, org_id, session=None) -> None:
        self.members.delete_many({"orgId": org_id}, session=session)
