"""Response shapes of the boards endpoints, for the OpenAPI document (the service builds plain dicts)."""
from marshmallow import Schema, fields

from .schemas import FIELD_TYPES, PRIORITIES, RELATION_TYPES, VIEWS  # noqa: F401 - documented enums

Str, Int, Bool, List, Nested = fields.String, fields.Integer, fields.Boolean, fields.List, fields.Nested


class Ok(Schema):
    ok = Bool()


class ColumnOut(Schema):
    id, name, projectId, scopeId = Str(), Str(), Str(), Str(allow_none=True)
    order = Int()
    createdAt, updatedAt = Str(), Str()


class ProjectOut(Schema):
    id, name, description, workspaceId, orgId = Str(), Str(), Str(allow_none=True), Str(), Str()
    templateId, createdBy = Str(allow_none=True), Str()
    memberIds = List(Str())
    columns = List(Nested(ColumnOut))
    createdAt, updatedAt = Str(), Str()


class ImportCounts(Schema):
    scopes, columns, cards, labels, customFields, relations = Int(), Int(), Int(), Int(), Int(), Int()


class ImportOut(ProjectOut):
    """The imported project, with how many of each part were created."""
    counts = Nested(ImportCounts)


class MemberOut(Schema):
    userId, email, name, addedAt = Str(), Str(), Str(allow_none=True), Str()


class ChecklistItemOut(Schema):
    item_id = Str(data_key="_id")
    title = Str()
    done = Bool()
    order = Int()


class CardOut(Schema):
    id, projectId, columnId, scopeId = Str(), Str(), Str(), Str(allow_none=True)
    title, description = Str(), Str(allow_none=True)
    order = Int()
    archived = Bool()
    priority = Str(metadata={"enum": list(PRIORITIES)})
    startDate, dueDate, assigneeId = Str(allow_none=True), Str(allow_none=True), Str(allow_none=True)
    labelIds = List(Str())
    customFields = fields.Dict()
    checklist = List(Nested(ChecklistItemOut))
    checklistProgress, commentCount, attachmentCount = Int(), Int(), Int()
    createdBy, createdAt, updatedAt = Str(), Str(), Str()


class CommentOut(Schema):
    id, cardId, projectId, authorId, authorName, content, createdAt = Str(), Str(), Str(), Str(), Str(), Str(), Str()


class ScopeOut(Schema):
    id, projectId, name, description = Str(), Str(), Str(), Str(allow_none=True)
    order = Int()
    activeView = Str(metadata={"enum": list(VIEWS)})
    createdAt, updatedAt = Str(), Str()


class ViewsOut(Schema):
    views = List(Str())
    activeView = Str()


class LabelOut(Schema):
    id, projectId, name, color, createdAt = Str(), Str(), Str(), Str(), Str()


class FieldOut(Schema):
    id, projectId, name = Str(), Str(), Str()
    type = Str(metadata={"enum": list(FIELD_TYPES)})
    options = List(Str())
    createdAt = Str()


class RelationOut(Schema):
    id, projectId, sourceCardId, targetCardId = Str(), Str(), Str(), Str()
    type = Str(metadata={"enum": list(RELATION_TYPES)})
    direction, createdAt = Str(), Str()


class TemplateColumn(Schema):
    name = Str()


class TemplateOut(Schema):
    id, name, description = Str(), Str(), Str()
    columns = List(Nested(TemplateColumn))


class ByPriority(Schema):
    low, medium, high = Int(), Int(), Int()


class PortfolioRow(Schema):
    projectId, name = Str(), Str()
    totalCards, openCards, doneCards, overdueCards, progress = Int(), Int(), Int(), Int(), Int()
    byPriority = Nested(ByPriority)
    updatedAt = Str()


class ExportOut(Schema):
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
