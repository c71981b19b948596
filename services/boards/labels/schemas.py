"""Labels: what a request may send, what an answer holds."""
from __future__ import annotations

from marshmallow import fields

from libs.common.schemas import Name, StrictSchema

from ..schemas import COLOR
from ..shapes import IsoTime, Out

Str, Int, Bool, List, Nested = fields.String, fields.Integer, fields.Boolean, fields.List, fields.Nested


class LabelIn(StrictSchema):
    name = Name(50, required=True)
    color = fields.String(required=True, validate=COLOR)


class LabelPatch(StrictSchema):
    name = Name(50)
    color = fields.String(validate=COLOR)


class LabelOut(Out):
    id, projectId, name, color = Str(), Str(), Str(), Str()
    createdAt = IsoTime()
