"""Custom fields: what a request may send, what an answer holds."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from libs.common.schemas import Enum, Name, StrictSchema

from ..schemas import FIELD_TYPES
from ..shapes import ComputedList, IsoTime, Out

Str, Int, Bool, List, Nested = fields.String, fields.Integer, fields.Boolean, fields.List, fields.Nested


class FieldIn(StrictSchema):
    name = Name(100, required=True)
    type = Enum(FIELD_TYPES, required=True)
    options = fields.List(Name(100), validate=validate.Length(max=100), allow_none=True, load_default=None)

    @validates_schema
    def _options(self, data, **kwargs):
        check_options(data.get("type"), data.get("options"), required=True)


class FieldPatch(StrictSchema):
    name = Name(100)
    type = Enum(FIELD_TYPES)
    options = fields.List(Name(100), validate=validate.Length(max=100), allow_none=True)


def check_options(field_type, options, *, required):
    if field_type in ("select", "multi-select"):
        if required and not options:
            raise ValidationError({"options": ["Options are required for select and multi-select fields."]})
        if options and len(set(options)) != len(options):
            raise ValidationError({"options": ["Options must be unique."]})


class FieldValuesIn(Schema):
    """`{"values": {fieldId: value | null}}` — the keys are field ids, so the map is free-form (API.md §1).
    A bare `{fieldId: value}` map is read as the values too."""

    class Meta:
        unknown = EXCLUDE

    values = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True)

    @pre_load
    def _bare_map(self, data, **kwargs):
        if isinstance(data, dict) and "values" not in data:
            return {"values": data}
        return data


class FieldOut(Out):
    id, projectId, name = Str(), Str(), Str()
    type = Str(metadata={"enum": list(FIELD_TYPES)})
    options = ComputedList(Str(), compute=lambda field: list(field.get("options") or []))
    createdAt = IsoTime()
