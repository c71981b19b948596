"""Sessions: what a request may send, what an answer holds."""
from marshmallow import EXCLUDE, Schema, fields, validate

from libs.common.schemas import StrictSchema

from ..accounts.schemas import UserOut
from ..schemas import ORG_ROLES, PILOTAGE_ROLES, WS_ROLES, Role


class LoginIn(StrictSchema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class SessionOut(Schema):
    """The answer of login and registration."""
    access_token = fields.String(metadata={"description": "a JWT (HS256) for `Authorization: Bearer`"})
    user = fields.Nested(UserOut)


class PrincipalQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    userId = fields.String(required=True)
    org = fields.String(load_default=None)
    ws = fields.String(load_default=None)


class PrincipalUserOut(Schema):
    id, email = fields.String(), fields.String()
    name = fields.String(allow_none=True, dump_default=None)
    pwv = fields.Integer(dump_default=0, metadata={"description": "password version: a JWT with another is stale"})


class PrincipalOrgOut(Schema):
    id, slug = fields.String(), fields.String()
    role = Role(ORG_ROLES)


class PrincipalWsOut(Schema):
    id, slug = fields.String(), fields.String()
    role = Role(WS_ROLES)
    pilotageRole = Role(PILOTAGE_ROLES, dump_default="viewer")


class PrincipalOut(Schema):
    user = fields.Nested(PrincipalUserOut)
    org = fields.Nested(PrincipalOrgOut, metadata={"description": "when `org` was asked"})
    ws = fields.Nested(PrincipalWsOut, metadata={"description": "when `ws` was asked"})
