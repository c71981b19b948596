"""Query strings of the notifications endpoints."""
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from .service import DEFAULT_LIMIT, MAX_LIMIT


class Flag(fields.Field):
    """"true"/"1" → True, "false"/"0" → False (the reference's `unreadOnly`)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0", ""):
            return False
        raise ValidationError('Must be "true", "1", "false" or "0".')


class ListQuery(Schema):
    """`limit` 1–200 (default 50; over 200 → 400), `unreadOnly`, `cursor` (from X-Next-Cursor).
    Unknown parameters are ignored (cache busters and the like)."""

    class Meta:
        unknown = EXCLUDE

    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    unreadOnly = Flag(load_default=False)
    cursor = fields.String(load_default=None)


class NotificationOut(Schema):
    id = fields.String()
    userId = fields.String()
    readAt = fields.String(allow_none=True)
    activity = fields.Dict()
    createdAt = fields.String()


class CountOut(Schema):
    count = fields.Integer()


class ReadAllOut(Schema):
    ok = fields.Boolean()
    updated = fields.Integer()
