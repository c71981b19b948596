"""Projects, their members, templates, the portfolio, import and export: what a request may send,
what an answer holds."""
from __future__ import annotations

from marshmallow import fields, validate, validates_schema

from libs.common.schemas import Enum, IsoDateTime, Name, StrictSchema

from ..activity import member_ids
from ..checklists.schemas import ChecklistItemIn
from ..columns.schemas import ColumnOut
from ..fields.schemas import check_options
from ..schemas import (
    COLOR,
    FIELD_TYPES,
    MAX_CHECKLIST,
    MAX_IMPORT_CARDS,
    MAX_IMPORT_COLUMNS,
    PRIORITIES,
    RELATION_TYPES,
    VIEWS,
)
from ..shapes import ComputedList, ComputedTime, IsoTime, Out

Str, Int, Bool, List, Nested = fields.String, fields.Integer, fields.Boolean, fields.List, fields.Nested


class ProjectIn(StrictSchema):
    name = Name(200, required=True)
    description = fields.String(validate=validate.Length(max=5000), allow_none=True, load_default=None)
    templateId = fields.String(allow_none=True, load_default=None)


class ProjectPatch(StrictSchema):
    name = Name(200)
    description = fields.String(validate=validate.Length(max=5000), allow_none=True)


class MemberIn(StrictSchema):
    email = fields.Email(required=True)


class ImportProject(StrictSchema):
    id = fields.String(load_default=None)
    name = Name(200, required=True)
    description = fields.String(validate=validate.Length(max=5000), allow_none=True, load_default=None)
    templateId = fields.String(allow_none=True, load_default=None)


class ImportScope(StrictSchema):
    id = fields.String(load_default=None)
    name = Name(200, required=True)
    description = fields.String(validate=validate.Length(max=5000), allow_none=True, load_default=None)
    order = fields.Integer(load_default=None)
    activeView = Enum(VIEWS, load_default="kanban")


class ImportColumn(StrictSchema):
    id = fields.String(load_default=None)
    name = Name(100, required=True)
    order = fields.Integer(load_default=None)
    scopeId = fields.String(allow_none=True, load_default=None)


class ImportLabel(StrictSchema):
    id = fields.String(load_default=None)
    name = Name(50, required=True)
    color = fields.String(required=True, validate=COLOR)


class ImportField(StrictSchema):
    id = fields.String(load_default=None)
    name = Name(100, required=True)
    type = Enum(FIELD_TYPES, required=True)
    options = fields.List(Name(100), allow_none=True, load_default=None)

    @validates_schema
    def _options(self, data, **kwargs):
        check_options(data.get("type"), data.get("options"), required=True)


class ImportCard(StrictSchema):
    id = fields.String(load_default=None)
    title = Name(500, required=True)
    description = fields.String(validate=validate.Length(max=5000), allow_none=True, load_default=None)
    columnIndex = fields.Integer(validate=validate.Range(min=0), load_default=None)
    columnId = fields.String(allow_none=True, load_default=None)
    scopeId = fields.String(allow_none=True, load_default=None)
    order = fields.Integer(load_default=None)
    priority = Enum(PRIORITIES, load_default="medium", allow_none=True)
    startDate = IsoDateTime(allow_none=True, load_default=None)
    dueDate = IsoDateTime(allow_none=True, load_default=None)
    assigneeId = fields.String(allow_none=True, load_default=None)
    archived = fields.Boolean(load_default=False)
    labelIds = fields.List(fields.String(), load_default=list)
    customFields = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), load_default=dict)
    checklist = fields.List(fields.Nested(ChecklistItemIn), validate=validate.Length(max=MAX_CHECKLIST),
                            load_default=list)
    # carried by the export, recomputed on import
    checklistProgress = fields.Raw(load_default=None)
    commentCount = fields.Raw(load_default=None)
    attachmentCount = fields.Raw(load_default=None)
    createdAt = fields.Raw(load_default=None)
    updatedAt = fields.Raw(load_default=None)


class ImportRelation(StrictSchema):
    id = fields.String(load_default=None)
    sourceCardId = fields.String(required=True)
    targetCardId = fields.String(required=True)
    type = Enum(RELATION_TYPES, required=True)


class ImportMember(StrictSchema):
    userId = fields.String(required=True)
    email = fields.String(allow_none=True, load_default=None)
    name = fields.String(allow_none=True, load_default=None)
    addedAt = fields.Raw(load_default=None)


class ImportIn(StrictSchema):
    version = fields.Integer(validate=validate.Equal(1), load_default=1)
    exportedAt = fields.Raw(load_default=None)
    project = fields.Nested(ImportProject, required=True)
    scopes = fields.List(fields.Nested(ImportScope), validate=validate.Length(max=100), load_default=list)
    columns = fields.List(fields.Nested(ImportColumn), load_default=list,
                          validate=validate.Length(max=MAX_IMPORT_COLUMNS,
                                                   error=f"At most {MAX_IMPORT_COLUMNS} columns can be imported."))
    labels = fields.List(fields.Nested(ImportLabel), validate=validate.Length(max=200), load_default=list)
    customFields = fields.List(fields.Nested(ImportField), validate=validate.Length(max=200), load_default=list)
    cards = fields.List(fields.Nested(ImportCard), load_default=list,
                        validate=validate.Length(max=MAX_IMPORT_CARDS,
                                                 error=f"At most {MAX_IMPORT_CARDS} cards can be imported."))
    relations = fields.List(fields.Nested(ImportRelation), validate=validate.Length(max=5000), load_default=list)
    members = fields.List(fields.Nested(ImportMember), validate=validate.Length(max=1000), load_default=list)


# ---------------------------------------------------------------- answers
class ProjectOut(Out):
    """A project; `columns` (its main board's, by position) where the answer carries them."""
    id, name = Str(), Str()
    description = Str(allow_none=True, dump_default=None)
    workspaceId = Str()
    orgId, templateId, createdBy = (Str(allow_none=True, dump_default=None), Str(allow_none=True, dump_default=None),
                                    Str(allow_none=True, dump_default=None))
    memberIds = ComputedList(Str(), compute=member_ids)
    columns = List(Nested(ColumnOut))
    createdAt = IsoTime()
    updatedAt = ComputedTime(compute=lambda project: project.get("updatedAt") or project["createdAt"])


class ImportCounts(Out):
    scopes, columns, cards, labels, customFields, relations = Int(), Int(), Int(), Int(), Int(), Int()


class ImportOut(ProjectOut):
    """The imported project, with how many of each part were created."""
    counts = Nested(ImportCounts)


class MemberOut(Out):
    userId = Str()
    email, name = Str(allow_none=True, dump_default=None), Str(allow_none=True, dump_default=None)
    addedAt = IsoTime(allow_none=True, dump_default=None)


class TemplateColumn(Out):
    name = Str()


class TemplateOut(Out):
    id, name, description = Str(), Str(), Str()
    columns = List(Nested(TemplateColumn))


class ByPriority(Out):
    low, medium, high = Int(), Int(), Int()


class PortfolioRow(Out):
    projectId, name = Str(), Str()
    totalCards, openCards, doneCards, overdueCards, progress = Int(), Int(), Int(), Int(), Int()
    byPriority = Nested(ByPriority)
    updatedAt = IsoTime()


class ExportOut(Out):
    """The snapshot (see transfer.py): ids link its parts; `POST …/projects/import` accepts it as-is."""
    version = Int()
    exportedAt = Str()
    project = fields.Dict()
    scopes = List(fields.Dict())
    columns = List(fields.Dict())
    labels = List(fields.Dict())
    customFields = List(fields.Dict())
    cards = List(fields.Dict())
    relations = List(fields.Dict())
    members = List(fields.Dict())
