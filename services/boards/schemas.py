"""Request schemas of the boards endpoints and commands (responses are plain dicts built by the service).

Limits come from the reference: project name 1–200, column name 1–100, card title 1–500,
description ≤ 5000, checklist ≤ 100 items, comment 1–2000, import ≤ 50 columns and ≤ 500 cards.
"""
from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from libs.common.schemas import Enum, IdStr, IsoDateTime, Name, StrictSchema

PRIORITIES = ("low", "medium", "high")
VIEWS = ("kanban", "list", "calendar", "roadmap", "stats")
FIELD_TYPES = ("text", "number", "select", "multi-select", "date", "boolean")
RELATION_TYPES = ("blocks", "blocked_by", "related_to", "duplicates", "parent_of")
MAX_CHECKLIST = 100
MAX_IMPORT_COLUMNS = 50
MAX_IMPORT_CARDS = 500
MAX_PAGE = 5000
COLOR = validate.Regexp(r"^#[0-9A-Fa-f]{6}$", error="Must be a #RRGGBB color.")


class Query(Schema):
    """Query strings ignore parameters they do not know."""

    class Meta:
        unknown = EXCLUDE


# ---------------------------------------------------------------- projects
class ProjectIn(StrictSchema):
    name = Name(200, required=True)
    description = fields.String(validate=validate.Length(max=5000), allow_none=True, load_default=None)
    templateId = fields.String(allow_none=True, load_default=None)


class ProjectPatch(StrictSchema):
    name = Name(200)
    description = fields.String(validate=validate.Length(max=5000), allow_none=True)


class MemberIn(StrictSchema):
    email = fields.Email(required=True)


# ---------------------------------------------------------------- columns
class ColumnIn(StrictSchema):
    name = Name(100, required=True)
    scopeId = IdStr(allow_none=True, load_default=None)
    order = fields.Integer(validate=validate.Range(min=0), allow_none=True, load_default=None)


class ColumnPatch(StrictSchema):
    name = Name(100)
    order = fields.Integer(validate=validate.Range(min=0))


class ColumnsQuery(Query):
    scopeId = fields.String(load_default=None)


# ---------------------------------------------------------------- cards
class ChecklistItemIn(StrictSchema):
    item_id = fields.String(data_key="_id", allow_none=True, load_default=None)  # kept by import, else new
    title = Name(500, required=True)
    done = fields.Boolean(load_default=False)
    order = fields.Integer(validate=validate.Range(min=0), load_default=None)


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


class PageQuery(Query):
    limit = fields.Integer(validate=validate.Range(min=1, max=MAX_PAGE), load_default=None)
    cursor = fields.String(load_default=None)


# ---------------------------------------------------------------- comments
class CommentIn(StrictSchema):
    content = fields.String(required=True, validate=validate.Length(min=1, max=2000))

    @validates_schema
    def _not_blank(self, data, **kwargs):
        if not data.get("content", "").strip():
            raise ValidationError({"content": ["Must not be blank."]})


# ---------------------------------------------------------------- scopes
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


# ---------------------------------------------------------------- labels
class LabelIn(StrictSchema):
    name = Name(50, required=True)
    color = fields.String(required=True, validate=COLOR)


class LabelPatch(StrictSchema):
    name = Name(50)
    color = fields.String(validate=COLOR)


# ---------------------------------------------------------------- custom fields
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


# ---------------------------------------------------------------- relations
class RelationIn(StrictSchema):
    targetCardId = fields.String(required=True)
    type = Enum(RELATION_TYPES, required=True)


# ---------------------------------------------------------------- checklist
class ChecklistAdd(StrictSchema):
    title = Name(500, required=True)
    done = fields.Boolean(load_default=False)


class ChecklistPatch(StrictSchema):
    title = Name(500)
    done = fields.Boolean()
    order = fields.Integer(validate=validate.Range(min=0))


# ---------------------------------------------------------------- import / export
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
