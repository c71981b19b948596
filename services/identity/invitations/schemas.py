"""Invitations: what a request may send, what an answer holds."""
from marshmallow import Schema, fields, pre_dump

from libs.common.schemas import Enum, IsoTime, StrictSchema

from ..schemas import PILOTAGE_ROLES, WS_ROLES, Email, Role
from ..workspaces.schemas import WorkspaceOut


class InviteIn(StrictSchema):
    email = Email(required=True)
    role = Enum(WS_ROLES, load_default="member")
    pilotageRole = Enum(PILOTAGE_ROLES, load_default="viewer")


class InvitationOut(Schema):
    id, email = fields.String(), fields.String()
    role = Role(WS_ROLES)
    pilotageRole = Role(PILOTAGE_ROLES)
    workspaceId = fields.String()
    organizationId = fields.String(attribute="orgId")
    status = Role(("pending", "accepted"))
    expiresAt = IsoTime()
    token = fields.String(metadata={"description": "accept with POST /invitations/{token}/accept (shown once)"})
    createdAt = IsoTime()

    @pre_dump
    def _status(self, inv, **kwargs):
        return inv | {"status": "accepted" if inv.get("acceptedAt") else "pending"}


class OrgRefOut(Schema):
    id, slug, name = fields.String(), fields.String(), fields.String()


class AcceptedOut(Schema):
    ok = fields.Boolean(dump_default=True)
    organization = fields.Nested(OrgRefOut)
    workspace = fields.Nested(WorkspaceOut, allow_none=True,
                              metadata={"description": "null for an invitation to the organization only"})
