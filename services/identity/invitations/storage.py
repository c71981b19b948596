"""The `invitations` collection. Only the token's SHA-256 is stored.

    invitations {_id, tokenHash (unique), kind: "org" | absent (a workspace's), orgId, workspaceId (null for
                 kind "org"), email, role, pilotageRole, invitedBy, expiresAt, acceptedAt, acceptedBy, createdAt}
"""
from __future__ import annotations

from ..storage import insert, out, stamped


class InvitationStore:
    def __init__(self, db):
        self.invitations = db["invitations"]

    def ensure_indexes(self) -> None:
        self.invitations.create_index("tokenHash", unique=True)
        self.invitations.create_index("workspaceId")

    def insert(self, doc, session=None) -> dict:
        return insert(self.invitations, doc, session)

    def get_by_hash(self, token_hash) -> dict | None:
        return out(self.invitations.find_one({"tokenHash": token_hash}))

    def get_pending(self, *, email, ws_id=None, org_id=None) -> dict | None:
        """The live invitation of `email` to a workspace (`ws_id`) or to an organization (`org_id`)."""
        query = {"workspaceId": ws_id} if ws_id is not None else {"orgId": org_id, "kind": "org"}
        return out(self.invitations.find_one(query | {"email": email, "acceptedAt": None}))

    def accept(self, inv_id, user_id, session=None) -> bool:
        """False when it was accepted already."""
        res = self.invitations.update_one({"_id": inv_id, "acceptedAt": None},
                                          stamped({"acceptedBy": user_id}, "acceptedAt"), session=session)
        return res.modified_count == 1

    def delete(self, inv_id, session=None) -> None:
        self.invitations.delete_one({"_id": inv_id}, session=session)

    def delete_of_workspace(self, ws_id, session=None) -> None:
        self.invitations.delete_many({"workspaceId": ws_id}, session=session)

    def delete_of_org(self, org_id, session=None) -> None:
        self.invitations.delete_many({"orgId": org_id}, session=session)
