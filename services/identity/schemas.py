"""What identity's schemas share: the email field, the role vocabularies, `Ok`.

Each domain's `schemas.py` holds its requests (`…In`, `…Patch`, `…Query`) and its responses (`…Out`):
handlers return `schema(XOut).dump(obj)` of the schema their `api.route(response=...)` declares, so the body
and `/openapi.json` come from the same declaration.
"""
from marshmallow import Schema, ValidationError, fields

ORG_ROLES = ("owner", "admin", "member")
ORG_ROLES_ASSIGNABLE = ("admin", "member")
WS_ROLES = ("admin", "member")
PILOTAGE_ROLES = ("viewer", "reviewer", "owner")


class Email(fields.Email):
    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if len(value) > 254:
            raise ValidationError("Email is too long.")
        return value.strip().lower()


def Role(choices, *, description: str | None = None, **kwargs) -> fields.String:
    """A role (or another closed vocabulary) in a response: a string documented with its values."""
    metadata = {"enum": list(choices)} | ({"description": description} if description else {})
    return fields.String(metadata=metadata, **kwargs)


class Ok(Schema):
    ok = fields.Boolean()


OK = {"ok": True}
