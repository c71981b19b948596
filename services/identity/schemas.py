"""Request schemas of the identity endpoints (responses are plain dicts built in service.py)."""
from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from libs.common.context import ALL_SCOPES
from libs.common.schemas import Enum, IsoDateTime, Name, Slug, StrictSchema

ORG_ROLES_ASSIGNABLE = ("admin", "member")
WS_ROLES = ("admin", "member")
PILOTAGE_ROLES = ("viewer", "reviewer", "owner")


class Email(fields.Email):
    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if len(value) > 254:
            raise ValidationError("Email is too long.")
        return value.strip().lower()


class RegisterIn(StrictSchema):
    email = Email(required=True)
    password = fields.String(required=True, validate=validate.Length(min=8, max=128))
    name = fields.String(validate=validate.Length(max=100), load_default=None)


class LoginIn(StrictSchema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class ProfileIn(StrictSchema):
    name = fields.String(validate=validate.Length(max=100), allow_none=True)


class ChangePasswordIn(StrictSchema):
    currentPassword = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    newPassword = fields.String(required=True, validate=validate.Length(min=8, max=128))


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


class WorkspaceIn(StrictSchema):
    name = Name(100, required=True)
    slug = Slug(required=True)


class WorkspacePatch(StrictSchema):
    name = Name(100)
    slug = Slug()


class InviteIn(StrictSchema):
    email = Email(required=True)
    role = Enum(WS_ROLES, load_default="member")
    pilotageRole = Enum(PILOTAGE_ROLES, load_default="viewer")


class WsMemberPatch(StrictSchema):
    role = Enum(WS_ROLES)
    pilotageRole = Enum(PILOTAGE_ROLES)

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Give role and/or pilotageRole.")


class TokenIn(StrictSchema):
    name = Name(100, required=True)
    scopes = fields.List(Enum(ALL_SCOPES), validate=validate.Length(min=1), load_default=None)
    expiresAt = IsoDateTime(allow_none=True, load_default=None)


class PrincipalQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    userId = fields.String(required=True)
    org = fields.String(load_default=None)
    ws = fields.String(load_default=None)


class PatResolveIn(StrictSchema):
    hash = fields.String(required=True, validate=validate.Length(equal=64))
