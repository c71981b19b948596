"""Scopes and their views: what a request may send, what an answer holds."""
from __future__ import annotations

from marshmallow import fields, validate

from libs.common.schemas import Enum, Name, StrictSchema

from ..schemas import VIEWS
from ..shapes import ComputedStr, ComputedTime, IsoTime, Out

Str, Int, Bool, List, Nested = fields.String, fields.Integer, fields.Boolean, fields.List, fields.Nested


class ScopeIn(StrictSchema):
    name = Name(200, load_default="New scope")   # the reference creates one with no body at all
    description = fields.String(validate=validate.Length(max=5000), allow_none=True, load_default=None)
    activeView = Enum(VIEWS, load_default="kanban")


class ScopePatch(StrictSchema):
    name = Name(200)
    description = fields.String(validate=validate.Length(max=5000), allow_none=True)
    order = fields.Integer(validate=validate.Range(min=0))
    activeView = Enum(VIEWS)


class ViewPatch(StrictSchema):
    activeView = Enum(VIEWS, required=True)


class ScopeOut(Out):
    id, projectId, name = Str(), Str(), Str()
    description = Str(allow_none=True, dump_default=None)
    order = Int()
    activeView = ComputedStr(compute=lambda scope: scope.get("activeView") or "kanban", metadata={"enum": list(VIEWS)})
    createdAt = IsoTime()
    updatedAt = ComputedTime(compute=lambda scope: scope.get("updatedAt") or scope["createdAt"])


class ViewsOut(Out):
    views = List(Str())
    activeView = Str()
