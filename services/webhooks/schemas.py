"""Request and response schemas of the webhooks endpoints (API.md §6 "Webhooks").

    POST W/webhooks
    {"url": "https://hooks.example.com/stellary", "events": ["card_moved", "card_created"],
     "description": "CI bridge", "enabled": true}
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

from libs.common.schemas import Enum, StrictSchema

from .catalog import EVENT_TYPES
from .targets import MAX_URL

STATUSES = ("pending", "retrying", "succeeded", "failed")


class _Fields(StrictSchema):
    url = fields.String(validate=validate.Length(min=1, max=MAX_URL),
                        metadata={"description": "http(s); must resolve to a public address unless "
                                                 "WEBHOOKS_ALLOW_PRIVATE_TARGETS=true"})
    events = fields.List(Enum(EVENT_TYPES), validate=validate.Length(min=1, max=len(EVENT_TYPES)),
                         metadata={"description": "default: every type"})
    description = fields.String(validate=validate.Length(max=500), allow_none=True)
    enabled = fields.Boolean()

    @validates("events")
    def _no_twice(self, value, **kwargs):
        if len(set(value)) != len(value):
            raise ValidationError("List each event type once.")


class EndpointIn(_Fields):
    url = fields.String(required=True, validate=validate.Length(min=1, max=MAX_URL))
    events = fields.List(Enum(EVENT_TYPES), validate=validate.Length(min=1, max=len(EVENT_TYPES)),
                         load_default=lambda: list(EVENT_TYPES))
    description = fields.String(validate=validate.Length(max=500), allow_none=True, load_default=None)
    enabled = fields.Boolean(load_default=True)


class EndpointPatch(_Fields):
    pass


class DeliveryQuery(Schema):
    class Meta:
        unknown = "exclude"

    limit = fields.Integer(validate=validate.Range(min=1, max=200), load_default=50)
    cursor = fields.String(load_default=None)


# ---------------------------------------------------------------- responses (OpenAPI)
class EndpointOut(Schema):
    id, url = fields.String(), fields.String()
    events = fields.List(fields.String())
    description = fields.String(allow_none=True)
    enabled = fields.Boolean()
    disabledReason = fields.String(allow_none=True)
    secretRotatedAt = fields.String(allow_none=True)
    createdBy, createdAt, updatedAt = fields.String(), fields.String(), fields.String()


class EndpointCreated(EndpointOut):
    secret = fields.String(metadata={"description": "whsec_ + base64 of 32 random bytes; shown only here"})


class SecretOut(Schema):
    secret = fields.String(metadata={"description": "the new secret; the previous one also signs for 24 h"})


class AttemptOut(Schema):
    at = fields.String()
    statusCode = fields.Integer(allow_none=True)
    durationMs = fields.Integer()
    error = fields.String(allow_none=True)


class DeliveryOut(Schema):
    id, webhookId, eventId, eventType = fields.String(), fields.String(), fields.String(), fields.String()
    status = Enum(STATUSES)
    attempts = fields.List(fields.Nested(AttemptOut))
    nextAttemptAt = fields.String(allow_none=True)
    createdAt = fields.String()


class Ok(Schema):
    ok = fields.Boolean()
