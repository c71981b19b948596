"""Accounts: what a request may send, what an answer holds."""
from marshmallow import Schema, fields, validate

from libs.common.schemas import StrictSchema

from ..schemas import PILOTAGE_ROLES, Email, Role


class RegisterIn(StrictSchema):
    email = Email(required=True)
    password = fields.String(required=True, validate=validate.Length(min=8, max=128))
    name = fields.String(validate=validate.Length(max=100), load_default=None)


class ProfileIn(StrictSchema):
    name = fields.String(validate=validate.Length(max=100), allow_none=True)


class ChangePasswordIn(StrictSchema):
    currentPassword = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    newPassword = fields.String(required=True, validate=validate.Length(min=8, max=128))


class UserOut(Schema):
    id, email = fields.String(), fields.String()
    name = fields.String(allow_none=True, dump_default=None)
    pilotageRole = Role(PILOTAGE_ROLES, description="the pilotage role in the personal workspace "
                                                                 "(login and /auth/me; absent at registration)")


class MeOut(Schema):
    user = fields.Nested(UserOut)


class PasswordChangedOut(Schema):
    ok = fields.Boolean(dump_default=True)
    access_token = fields.String(metadata={"description": "a fresh JWT: the earlier ones stop working"})
