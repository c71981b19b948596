"""Personal access tokens: what a request may send, what an answer holds."""
from marshmallow import Schema, fields, validate

from libs.common.context import ALL_SCOPES
from libs.common.schemas import Enum, IsoDateTime, IsoTime, Name, StrictSchema


class TokenIn(StrictSchema):
    name = Name(100, required=True)
    scopes = fields.List(Enum(ALL_SCOPES), validate=validate.Length(min=1), load_default=None)
    expiresAt = IsoDateTime(allow_none=True, load_default=None)


class PatResolveIn(StrictSchema):
    hash = fields.String(required=True, validate=validate.Length(equal=64))


class _Token(Schema):
    id, name = fields.String(), fields.String()
    prefix = fields.String(metadata={"description": "the token's first 10 characters"})
    scopes = fields.List(fields.String(metadata={"enum": list(ALL_SCOPES)}))
    expiresAt = IsoTime(allow_none=True)
    createdAt = IsoTime()


class TokenOut(_Token):
    lastUsedAt = IsoTime(allow_none=True)


class TokenCreatedOut(_Token):
    token = fields.String(metadata={"description": "the token itself, shown this once"})


class PatOut(Schema):
    tokenId = fields.String(attribute="id")
    userId = fields.String()
    scopes = fields.List(fields.String(metadata={"enum": list(ALL_SCOPES)}))
    expiresAt = IsoTime(allow_none=True)
