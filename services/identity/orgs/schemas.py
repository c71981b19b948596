"""Organizations and their members: what a request may send, what an answer holds."""
from marshmallow import Schema, fields, pre_dump

from libs.common.schemas import Enum, IsoTime, Name, Slug, StrictSchema

from ..schemas import ORG_ROLES, ORG_ROLES_ASSIGNABLE, Email, Role


class OrgIn(StrictSchema):
    name = Name(100, required=True)
    slug = Slug(required=True)


class OrgPatch(StrictSchema):
    name = Name(100)
    slug = Slug()


class OrgMemberIn(StrictSchema):
    email = Email(required=True)
    role = Enum(ORG_ROLES_ASSIGNABLE, required=True)


class OrgMemberPatch(StrictSchema):
    role = Enum(ORG_ROLES_ASSIGNABLE, required=True)


class OrgOut(Schema):
    id, name, slug, ownerId = fields.String(), fields.String(), fields.String(), fields.String()
    isPersonal = fields.Boolean(dump_default=False)
    createdAt, updatedAt = IsoTime(), IsoTime()
    myRole = Role(ORG_ROLES, description="the caller's role")

    @pre_dump
    def _updated(self, org, **kwargs):
        return org | {"updatedAt": org.get("updatedAt") or org["createdAt"]}


class OrgMemberOut(Schema):
    userId = fields.String()
    role = Role(ORG_ROLES)
    email = fields.String(allow_none=True, metadata={"description": "null once the account is gone"})
    name = fields.String(allow_none=True)
    joinedAt = IsoTime(attribute="createdAt")


class OrgMemberAddedOut(Schema):
    """The same whether the address had an account (now a member) or not (invited)."""
    ok = fields.Boolean(dump_default=True)
    email = fields.String()
    role = Role(ORG_ROLES_ASSIGNABLE)
    organizationId = fields.String(attribute="orgId")
