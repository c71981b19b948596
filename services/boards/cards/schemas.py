"""Cards: what a request may send, what an answer holds."""
from __future__ import annotations

from marshmallow import fields, validate

from libs.common.schemas import Enum, IdStr, IsoDateTime, Name, StrictSchema

from ..checklists.schemas import ChecklistItemIn, ChecklistItemOut
from ..domain import checklist_progress
from ..schemas import MAX_CHECKLIST, MAX_PAGE, PRIORITIES, Query
from ..shapes import ComputedDict, ComputedInt, ComputedList, ComputedTime, IsoTime, Out

Str, Int, Bool, List, Nested = fields.String, fields.Integer, fields.Boolean, fields.List, fields.Nested


class CardIn(StrictSchema):
    title = Name(500, required=True)
    description = fields.String(validate=validate.Length(max=5000), allow_none=True, load_default=None)
    priority = Enum(PRIORITIES, load_default="medium")
    startDate = IsoDateTime(allow_none=True, load_default=None)
    dueDate = IsoDateTime(allow_none=True, load_default=None)
    assigneeId = fields.String(allow_none=True, load_default=None)
    checklist = fields.List(fields.Nested(ChecklistItemIn), validate=validate.Length(max=MAX_CHECKLIST),
                            load_default=list)
    labelIds = fields.List(fields.String(), load_default=list)
    order = fields.Integer(validate=validate.Range(min=0), allow_none=True, load_default=None)
    scopeId = IdStr(allow_none=True)   # optional; must be the column's scope (null = the main board)


class CardPatch(StrictSchema):
    title = Name(500)
    description = fields.String(validate=validate.Length(max=5000), allow_none=True)
    priority = Enum(PRIORITIES)
    startDate = IsoDateTime(allow_none=True)
    dueDate = IsoDateTime(allow_none=True)
    assigneeId = fields.String(allow_none=True)
    archived = fields.Boolean()
    columnId = fields.String()
    order = fields.Integer(validate=validate.Range(min=0))
    checklist = fields.List(fields.Nested(ChecklistItemIn), validate=validate.Length(max=MAX_CHECKLIST))
    labelIds = fields.List(fields.String())


class CardsQuery(Query):
    archived = fields.String(validate=validate.OneOf(["true", "false", "all"]), load_default="false")
    scopeId = fields.String(load_default=None)
    columnId = fields.String(load_default=None)
    limit = fields.Integer(validate=validate.Range(min=1, max=MAX_PAGE), load_default=None)
    cursor = fields.String(load_default=None)


def _checklist(card: dict) -> list[dict]:
    return [dict(item, order=item.get("order", n), done=bool(item.get("done")))
            for n, item in enumerate(sorted(card.get("checklist") or [], key=lambda i: i.get("order", 0)))]


class CardOut(Out):
    """A card; `order` is its dense position in its column (derived from its rank when read)."""
    id, projectId, columnId = Str(), Str(), Str()
    scopeId = Str(allow_none=True, dump_default=None)
    title = Str()
    description = Str(allow_none=True, dump_default=None)
    order = Int()
    archived = Bool(dump_default=False)
    priority = Str(metadata={"enum": list(PRIORITIES)}, allow_none=True, dump_default=None)
    startDate, dueDate = IsoTime(allow_none=True, dump_default=None), IsoTime(allow_none=True, dump_default=None)
    assigneeId = Str(allow_none=True, dump_default=None)
    labelIds = ComputedList(Str(), compute=lambda card: list(card.get("labelIds") or []))
    customFields = ComputedDict(compute=lambda card: dict(card.get("customFields") or {}))
    checklist = ComputedList(Nested(ChecklistItemOut), compute=_checklist)
    checklistProgress = ComputedInt(compute=lambda card: checklist_progress(card.get("checklist") or []))
    commentCount, attachmentCount = Int(dump_default=0), Int(dump_default=0)
    createdBy = Str(allow_none=True, dump_default=None)
    createdAt = IsoTime()
    updatedAt = ComputedTime(compute=lambda card: card.get("updatedAt") or card["createdAt"])
