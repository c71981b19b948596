"""The `workspaces` and `ws_members` collections.

    workspaces {_id, orgId, name, slug (unique per org), ownerId, isPersonal, createdAt, updatedAt}
    ws_members {_id, workspaceId, orgId, userId (unique per workspace), role: admin|member,
                pilotageRole: viewer|reviewer|owner, createdAt, updatedAt}
"""
from __future__ import annotations

from pymongo import ASCENDING, ReturnDocument

from libs.common.mongo import count, new_id

from ..storage import insert, out, stamped, update_unique


class WorkspaceStore:
    def __init__(self, db):
        self.workspaces = db["workspaces"]

    def ensure_indexes(self) -> None:
        self.workspaces.create_index([("orgId", ASCENDING), ("slug", ASCENDING)], unique=True)

    def insert(self, doc, session=None) -> dict:
        return insert(self.workspaces, doc, session)

    def get(self, ws_id) -> dict | None:
        return out(self.workspaces.find_one({"_id": ws_id}))

    def get_by_slug(self, org_id, slug) -> dict | None:
        return out(self.workspaces.find_one({"orgId": org_id, "slug": slug}))

    def get_personal(self, user_id) -> dict | None:
        return out(self.workspaces.find_one({"ownerId": user_id, "isPersonal": True}))

    def list_by_ids(self, ids) -> list[dict]:
        return [out(d) for d in self.workspaces.find({"_id": {"$in": list(ids)}}).sort("createdAt", 1)]

    def ids_of_org(self, org_id, session=None) -> list[str]:
        return [w["_id"] for w in self.workspaces.find({"orgId": org_id}, {"_id": 1}, session=session)]

    def update(self, ws_id, changes, session=None) -> dict | None:
        return update_unique(self.workspaces, ws_id, stamped(changes, "updatedAt"), session)

    def delete(self, ws_id, session=None) -> None:
        self.workspaces.delete_one({"_id": ws_id}, session=session)

    def delete_of_org(self, org_id, session=None) -> None:
        self.workspaces.delete_many({"orgId": org_id}, session=session)


class WsMemberStore:
    def __init__(self, db):
        self.members = db["ws_members"]

    def ensure_indexes(self) -> None:
        self.members.create_index([("workspaceId", ASCENDING), ("userId", ASCENDING)], unique=True)
        self.members.create_index([("userId", ASCENDING), ("orgId", ASCENDING)])

    def insert(self, *, ws_id, org_id, user_id, role, pilotage_role, stamp, session=None) -> dict:
        return insert(self.members, {"_id": new_id(), "workspaceId": ws_id, "orgId": org_id, "userId": user_id,
                                     "role": role, "pilotageRole": pilotage_role, "createdAt": stamp}, session)

    def get(self, ws_id, user_id) -> dict | None:
        return out(self.members.find_one({"workspaceId": ws_id, "userId": user_id}))

    def list(self, ws_id) -> list[dict]:
        return [out(d) for d in self.members.find({"workspaceId": ws_id}).sort("createdAt", 1)]

    def list_of_user(self, user_id, org_id, session=None) -> list[dict]:
        """The user's memberships in the workspaces of one organization."""
        return [out(d) for d in self.members.find({"userId": user_id, "orgId": org_id}, session=session)]

    def count_admins(self, ws_id) -> int:
        return count(self.members, {"workspaceId": ws_id, "role": "admin"})

    def update(self, ws_id, user_id, changes, session=None) -> dict | None:
        return out(self.members.find_one_and_update({"workspaceId": ws_id, "userId": user_id},
                                                    stamped(changes, "updatedAt"),
                                                    return_document=ReturnDocument.AFTER, session=session))

    def delete(self, ws_id, user_id, session=None) -> None:
        self.members.delete_one({"workspaceId": ws_id, "userId": user_id}, session=session)

    def delete_of_user(self, org_id, user_id, session=None) -> None:
        self.members.delete_many({"orgId": org_id, "userId": user_id}, session=session)

    def delete_of_workspace(self, ws_id, session=None) -> None:
        self.members.delete_many({"workspaceId": ws_id}, session=session)

    def delete_of_org(self, org_id, session=None) -> None:
        self.members.delete_many({"orgId": org_id}, session=session)
