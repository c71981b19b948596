"""Request schemas of the pilotage endpoints (the responses are in responses.py).

Limits the reference leaves open (also stated in each endpoint's OpenAPI summary):
mission objective 1–500, module ≤ 100, blockedReason ≤ 200; priority / todo label 1–300;
decision title 1–200, impact ≤ 2,000; doc title 1–200, owner ≤ 100; actionType 1–100,
explanation 1–500, review reason ≤ 200, payload ≤ 16 KB of JSON; document title 1–200,
review notes ≤ 2,000, content ≤ 512 KB of TipTap JSON; cycle label 1–50.
"""
import json

from marshmallow import (
    ValidationError,
    fields,
    pre_load,
    validate,
    validates,
    validates_schema,
)

from libs.common.mongo import is_id
from libs.common.schemas import Enum, IdStr, StrictSchema

MISSION_STATUSES = ("to_launch", "in_progress", "blocked", "done")
TODO_STATUSES = ("todo", "in_progress", "blocked", "done")
SOURCE_TYPES = ("product", "tech", "sprint", "ops")
ACTION_STATUSES = ("suggested", "approved", "rejected", "applied")
PROFILES = ("pilotage", "execution", "revue")
INTENTS = ("weekly_review", "daily_execution", "sprint_planning", "context_only")
DETAIL_LEVELS = ("minimal", "standard", "detailed")
DOC_TYPES = ("document", "spec", "brief", "adr", "note", "reference", "template", "spreadsheet")
DOC_STATUSES = ("draft", "pending_review", "approved", "changes_requested")
CONTEXT_TYPES = ("workspace", "project", "card", "mission", "agent")
MAX_PAYLOAD_BYTES = 16 * 1024
MAX_LIST_LIMIT = 500


def Text(max_len: int, *, min_len: int = 1, **kwargs):
    """A string trimmed of surrounding whitespace, then checked for length."""
    return Trimmed(validate=validate.Length(min=min_len, max=max_len), **kwargs)


class StrictBool(fields.Boolean):
    """JSON true / false only (no "yes", 1, …)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Trimmed(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


# ---------------------------------------------------------------- shared query strings
class PageQuery(StrictSchema):
    limit = fields.Integer(validate=validate.Range(min=1, max=MAX_LIST_LIMIT), load_default=None)
    cursor = fields.String(load_default=None, validate=validate.Length(max=512))


class StateQuery(StrictSchema):
    profile = Enum(PROFILES, load_default="pilotage")
    intent = Enum(INTENTS, load_default=None)
    detailLevel = Enum(DETAIL_LEVELS, load_default="standard")


class StatePatch(StrictSchema):
    cycle = Text(50, required=True)


# ---------------------------------------------------------------- missions
class MissionIn(StrictSchema):
    objective = Text(500, required=True)
    module = Text(100, min_len=0, allow_none=True, load_default=None)
    status = Enum(MISSION_STATUSES, load_default="to_launch")
    blockedReason = Text(200, allow_none=True, load_default=None)

    @validates_schema
    def _blocked(self, data, **kwargs):
        if data.get("status") == "blocked" and not data.get("blockedReason"):
            raise ValidationError("A blocked mission needs a blockedReason.", "blockedReason")
        if data.get("status") != "blocked" and data.get("blockedReason"):
            raise ValidationError("blockedReason only applies to a blocked mission.", "blockedReason")


class MissionPatch(StrictSchema):
    objective = Text(500)
    module = Text(100, min_len=0, allow_none=True)
    status = Enum(MISSION_STATUSES)
    blockedReason = Text(200, allow_none=True)


class MissionQuery(PageQuery):
    status = Enum(MISSION_STATUSES, load_default=None)
    module = fields.String(validate=validate.Length(max=100), load_default=None)


# ---------------------------------------------------------------- priorities
class PriorityIn(StrictSchema):
    label = Text(300, required=True)
    module = Text(100, min_len=0, allow_none=True, load_default=None)
    active = StrictBool(load_default=True)
    order = fields.Integer(validate=validate.Range(min=0, max=1_000_000), load_default=None)


class PriorityPatch(StrictSchema):
    label = Text(300)
    module = Text(100, min_len=0, allow_none=True)
    active = StrictBool()
    order = fields.Integer(validate=validate.Range(min=0, max=1_000_000), allow_none=True)


class PriorityQuery(PageQuery):
    active = fields.Boolean(load_default=None)


# ---------------------------------------------------------------- todos
class TodoIn(StrictSchema):
    label = Text(300, required=True)
    status = Enum(TODO_STATUSES, load_default="todo")
    missionId = IdStr(allow_none=True, load_default=None)
    priorityId = IdStr(allow_none=True, load_default=None)


class TodoPatch(StrictSchema):
    label = Text(300)
    status = Enum(TODO_STATUSES)
    missionId = IdStr(allow_none=True)
    priorityId = IdStr(allow_none=True)


class TodoQuery(PageQuery):
    status = Enum(TODO_STATUSES, load_default=None)
    missionId = IdStr(load_default=None)
    priorityId = IdStr(load_default=None)


# ---------------------------------------------------------------- decisions
class DecisionIn(StrictSchema):
    title = Text(200, required=True)
    impact = Text(2000, min_len=0, allow_none=True, load_default=None)
    missionId = IdStr(allow_none=True, load_default=None)


class DecisionPatch(StrictSchema):
    title = Text(200)
    impact = Text(2000, min_len=0, allow_none=True)
    missionId = IdStr(allow_none=True)


class DecisionQuery(PageQuery):
    missionId = IdStr(load_default=None)


# ---------------------------------------------------------------- active docs
class DocIn(StrictSchema):
    title = Text(200, required=True)
    owner = Text(100, min_len=0, allow_none=True, load_default=None)
    sourceType = Enum(SOURCE_TYPES, allow_none=True, load_default=None)


class DocPatch(StrictSchema):
    title = Text(200)
    owner = Text(100, min_len=0, allow_none=True)
    sourceType = Enum(SOURCE_TYPES, allow_none=True)


class DocQuery(PageQuery):
    sourceType = Enum(SOURCE_TYPES, load_default=None)


# ---------------------------------------------------------------- proposed actions
def _small_json(value):
    if len(json.dumps(value, separators=(",", ":"))) > MAX_PAYLOAD_BYTES:
        raise ValidationError(f"payload must be at most {MAX_PAYLOAD_BYTES // 1024} KB of JSON.")


class ActionIn(StrictSchema):
    actionType = Text(100, required=True)
    explanation = Text(500, required=True)
    payload = fields.Dict(keys=fields.String(), allow_none=True, load_default=None, validate=_small_json)


class ActionReview(StrictSchema):
    approved = StrictBool(required=True)
    reason = Text(200, min_len=0, allow_none=True, load_default=None)


class ActionQuery(PageQuery):
    status = Enum(ACTION_STATUSES, load_default=None)


# What each applicable actionType needs in its payload (checked at apply time: the proposal
# is stored as proposed, e.g. with a shortened card id, and refused only when it is applied).
class MoveCardPayload(StrictSchema):
    cardId = IdStr(required=True)
    targetColumn = Text(100, required=True)
    order = fields.Integer(validate=validate.Range(min=0), load_default=None)


class CreateCardPayload(StrictSchema):
    """The card fields are passed as given: boards validates them (its 400 is recorded)."""
    projectId = IdStr(required=True)
    columnId = IdStr()
    columnName = Text(100)
    title = fields.Raw(required=True)
    description = fields.Raw()
    priority = fields.Raw()
    startDate = fields.Raw()
    dueDate = fields.Raw()
    assigneeId = fields.Raw()
    checklist = fields.Raw()
    labelIds = fields.Raw()

    @validates_schema
    def _column(self, data, **kwargs):
        if not data.get("columnId") and not data.get("columnName"):
            raise ValidationError("columnId or columnName is required.", "columnId")


class UpdateCardPayload(StrictSchema):
    cardId = IdStr(required=True)
    changes = fields.Dict(keys=fields.String(), required=True, validate=validate.Length(min=1))

    @pre_load
    def _flat(self, data, **kwargs):
        # {"cardId", "title": …} is accepted as shorthand for {"cardId", "changes": {"title": …}}
        if isinstance(data, dict) and "changes" not in data:
            rest = {k: v for k, v in data.items() if k != "cardId"}
            return {"cardId": data.get("cardId"), "changes": rest}
        return data


class MissionStatusPayload(StrictSchema):
    missionId = IdStr(required=True)
    status = Enum(MISSION_STATUSES, required=True)
    blockedReason = Text(200, allow_none=True, load_default=None)


# ---------------------------------------------------------------- documents
class TipTap(fields.Field):
    """A TipTap (ProseMirror) JSON document: {"type": "doc", "content": [node, …]}.

    Every node is an object with a string `type`; `content` (optional) is a list of nodes,
    `attrs` an object, `marks` a list of {type, attrs?}; a `text` node carries a string `text`.
    """

    MAX_DEPTH = 64
    NODE_KEYS = {"type", "content", "attrs", "marks", "text"}

    default_error_messages = {"invalid": "Not a valid TipTap document: {reason}."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict) or value.get("type") != "doc":
            raise self.make_error("invalid", reason='the root must be an object with "type": "doc"')
        self._node(value, "content", 0)
        return value

    def _node(self, node, path: str, depth: int):
        if depth > self.MAX_DEPTH:
            raise self.make_error("invalid", reason=f"nesting deeper than {self.MAX_DEPTH}")
        if not isinstance(node, dict) or not isinstance(node.get("type"), str) or not node["type"]:
            raise self.make_error("invalid", reason=f"{path}: a node must be an object with a string type")
        unknown = set(node) - self.NODE_KEYS
        if unknown:
            raise self.make_error("invalid", reason=f"{path}: unknown node keys {sorted(unknown)}")
        if node["type"] == "text" and not isinstance(node.get("text"), str):
            raise self.make_error("invalid", reason=f"{path}: a text node needs a string text")
        if "text" in node and node["type"] != "text":
            raise self.make_error("invalid", reason=f"{path}: only text nodes carry text")
        if "attrs" in node and node["attrs"] is not None and not isinstance(node["attrs"], dict):
            raise self.make_error("invalid", reason=f"{path}: attrs must be an object")
        if "marks" in node:
            marks = node["marks"]
            if not isinstance(marks, list) or not all(
                    isinstance(m, dict) and isinstance(m.get("type"), str) and set(m) <= {"type", "attrs"}
                    for m in marks):
                raise self.make_error("invalid", reason=f"{path}: marks must be a list of {{type, attrs}}")
        if "content" in node:
            if not isinstance(node["content"], list):
                raise self.make_error("invalid", reason=f"{path}: content must be a list")
            for i, child in enumerate(node["content"]):
                self._node(child, f"{path}[{i}]", depth + 1)


class DocumentIn(StrictSchema):
    title = Text(200, required=True)
    docType = Enum(DOC_TYPES, load_default="document")
    content = TipTap(load_default=lambda: {"type": "doc", "content": []})
    parentId = IdStr(allow_none=True, load_default=None)
    contextType = Enum(CONTEXT_TYPES, allow_none=True, load_default=None)
    contextId = fields.String(validate=validate.Length(min=1, max=100), allow_none=True, load_default=None)


class DocumentPatch(StrictSchema):
    title = Text(200)
    docType = Enum(DOC_TYPES)
    content = TipTap()
    parentId = IdStr(allow_none=True)
    contextType = Enum(CONTEXT_TYPES, allow_none=True)
    contextId = fields.String(validate=validate.Length(min=1, max=100), allow_none=True)


class DocumentQuery(PageQuery):
    docType = Enum(DOC_TYPES, load_default=None)
    status = Enum(DOC_STATUSES, load_default=None)
    contextType = Enum(CONTEXT_TYPES, load_default=None)
    contextId = fields.String(validate=validate.Length(min=1, max=100), load_default=None)
    parentId = fields.String(load_default=None)   # an id, or "root" / "null" for top-level documents
    q = fields.String(validate=validate.Length(min=1, max=200), load_default=None)

    @validates("parentId")
    def _parent(self, value, **kwargs):
        if value is not None and value not in ("root", "null") and not is_id(value):
            raise ValidationError("parentId must be a document id, or root.")


class DocumentReview(StrictSchema):
    status = Enum(("approved", "changes_requested"), required=True)
    notes = Text(2000, min_len=0, allow_none=True, load_default=None)
