"""Workspaces and their members: what a request may send, what an answer holds."""
from marshmallow import Schema, ValidationError, fields, pre_dump, validates_schema

from libs.common.schemas import Enum, IsoTime, Name, Slug, StrictSchema

from ..schemas import PILOTAGE_ROLES, WS_ROLES, Role


class WorkspaceIn(StrictSchema):
    name = Name(100, required=True)
    slug = Slug(required=True)


class WorkspacePatch(StrictSchema):
    name = Name(100)
    slug = Slug()


class WsMemberPatch(StrictSchema):
    role = Enum(WS_ROLES)
    pilotageRole = Enum(PILOTAGE_ROLES)

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Give role and/or pilotageRole.")


class WorkspaceOut(Schema):
    id, name, slug = fields.String(), fields.String(), fields.String()
    organizationId = fields.String(attribute="orgId")
    ownerId = fields.String()
    isPersonal = fields.Boolean(dump_default=False)
    myRole = Role(WS_ROLES, description="the caller's role")
    myPilotageRole = Role(PILOTAGE_ROLES, description="the caller's pilotage role")
    createdAt, updatedAt = IsoTime(), IsoTime()

    @pre_dump
    def _updated(self, ws, **kwargs):
        return ws | {"updatedAt": ws.get("updatedAt") or ws["createdAt"]}


class WsMemberOut(Schema):
    userId = fields.String()
    email = fields.String(allow_none=True, metadata={"description": "null once the account is gone"})
    name = fields.String(allow_none=True)
    role = Role(WS_ROLES)
    pilotageRole = Role(PILOTAGE_ROLES, dump_default="viewer")
    joinedAt = IsoTime(attribute="createdAt")
