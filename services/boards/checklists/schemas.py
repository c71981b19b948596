"""Checklist items of a card: what a request may send, what an answer holds."""
from __future__ import annotations

from marshmallow import fields, validate

from libs.common.schemas import Name, StrictSchema

from ..shapes import Out

Str, Int, Bool, List, Nested = fields.String, fields.Integer, fields.Boolean, fields.List, fields.Nested


class ChecklistItemIn(StrictSchema):
    item_id = fields.String(data_key="_id", allow_none=True, load_default=None)  # kept by import, else new
    title = Name(500, required=True)
    done = fields.Boolean(load_default=False)
    order = fields.Integer(validate=validate.Range(min=0), load_default=None)


class ChecklistAdd(StrictSchema):
    title = Name(500, required=True)
    done = fields.Boolean(load_default=False)


class ChecklistPatch(StrictSchema):
    title = Name(500)
    done = fields.Boolean()
    order = fields.Integer(validate=validate.Range(min=0))


class ChecklistItemOut(Out):
    item_id = Str(attribute="_id", data_key="_id")
    title = Str()
    done = Bool()
    order = Int()
