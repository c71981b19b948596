"""Columns: what a request may send, what an answer holds."""
from __future__ import annotations

from marshmallow import fields, validate

from libs.common.schemas import IdStr, Name, StrictSchema

from ..schemas import Query
from ..shapes import ComputedTime, IsoTime, Out

Str, Int, Bool, List, Nested = fields.String, fields.Integer, fields.Boolean, fields.List, fields.Nested


class ColumnIn(StrictSchema):
    name = Name(100, required=True)
    scopeId = IdStr(allow_none=True, load_default=None)
    order = fields.Integer(validate=validate.Range(min=0), allow_none=True, load_default=None)


class ColumnPatch(StrictSchema):
    name = Name(100)
    order = fields.Integer(validate=validate.Range(min=0))


class ColumnsQuery(Query):
    scopeId = fields.String(load_default=None)


class ColumnOut(Out):
    id, name, projectId = Str(), Str(), Str()
    scopeId = Str(allow_none=True, dump_default=None)
    order = Int()
    createdAt = IsoTime()
    updatedAt = ComputedTime(compute=lambda column: column.get("updatedAt") or column["createdAt"])
