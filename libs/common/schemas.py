"""marshmallow building blocks: strict base schema, id strings, ISO datetimes (date-only accepted), and for
response schemas `IsoTime` (a stored datetime shown as the API's `...Z` text)."""
from __future__ import annotations

import functools
import re
from datetime import date, datetime, time, timezone

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from .mongo import is_id, iso, read_date

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@functools.cache
def schema(cls: type[Schema], *, many: bool = False, exclude: tuple[str, ...] = ()) -> Schema:
    """The one shared instance of a schema class: `schema(CardOut).dump(card)`. Building a schema
    deep-copies its declared fields (~9 % of a boards process's time per request when each handler
    built its own); marshmallow 4 keeps no per-call state on an instance (no `context`), so every
    thread may use the same one."""
    return cls(many=many, exclude=exclude)


class StrictSchema(Schema):
    """Unknown fields are rejected with 400 (API.md §1)."""

    class Meta:
        unknown = RAISE


class IdStr(fields.String):
    """A 24-hex id string."""

    default_error_messages = {"invalid_id": "Not a valid id."}

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not is_id(value):
            raise self.make_error("invalid_id")
        return value


class IsoDateTime(fields.Field):
    """ISO 8601 in, aware UTC datetime out; `2026-04-01` means midnight UTC. Dumps as `...Z`."""

    default_error_messages = {"invalid": "Not a valid ISO 8601 date or datetime."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not value.strip():
            raise self.make_error("invalid")
        text = value.strip()
        try:
            if len(text) == 10:
                parsed = datetime.combine(date.fromisoformat(text), time(), tzinfo=timezone.utc)
            else:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
                if parsed.tzinfo is None:
                    parsed = parsed.replace(tzinfo=timezone.utc)
                parsed = parsed.astimezone(timezone.utc)
        except ValueError as exc:
            raise self.make_error("invalid") from exc
        if not 1900 <= parsed.year <= 9999:
            raise self.make_error("invalid")
        return parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)

    def _serialize(self, value, attr, obj, **kwargs):
        return iso(value) if isinstance(value, datetime) else value


class IsoTime(fields.String):
    """For responses: a stored datetime (or the stand-in's text of one) as the API's `...Z` text, None as
    null; documented as a string."""

    def _serialize(self, value, attr, obj, **kwargs):
        value = read_date(value)
        return iso(value) if isinstance(value, datetime) else value


def Slug(**kwargs) -> fields.String:
    return fields.String(validate=[validate.Length(min=2, max=60),
                                   validate.Regexp(SLUG_RE, error="Must be lowercase letters, digits and single hyphens.")],
                         **kwargs)


def Name(max_len: int, min_len: int = 1, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(min=min_len, max=max_len), **kwargs)


def Enum(choices, **kwargs) -> fields.String:
    return fields.String(validate=validate.OneOf(list(choices)), **kwargs)


def load(schema: Schema, data, *, partial=False):
    """Load or raise marshmallow's ValidationError (turned into a 400 by the error handlers)."""
    if not isinstance(data, dict):
        raise ValidationError({"_schema": ["Request body must be a JSON object."]})
    return schema.load(data, partial=partial)


__all__ = ["StrictSchema", "IdStr", "IsoDateTime", "IsoTime", "Slug", "Name", "Enum", "load", "schema", "fields", "validate",
           "ValidationError", "SLUG_RE"]
