"""Request and response schemas of the automations endpoints (API.md §5 "Automations", §6).

    POST …/automations
    {"name": "Done means high", "trigger": "task_moved",
     "conditions": {"toColumnId": "665f3e5f0000000000000000"},
     "action": {"type": "set_priority", "params": {"priority": "high"}}}
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, pre_dump, validate, validates_schema

from libs.common.schemas import Enum, IdStr, IsoDateTime, IsoTime, Name, StrictSchema

TRIGGERS = ("task_moved", "task_created", "checklist_complete", "due_date_reached", "task_status_changed",
            "task_assigned", "task_added_to_board")
PRIORITIES = ("low", "medium", "high")
# Conditions that need the column a card came from: only triggers that are moves know it.
MOVE_TRIGGERS = ("task_moved", "task_status_changed")
MAX_NAME = 200


# ---------------------------------------------------------------- conditions
class Conditions(StrictSchema):
    """Every key present must hold (`{}` = always)."""

    fromColumnId = IdStr()
    toColumnId = IdStr()
    columnId = IdStr()
    priority = Enum(PRIORITIES)
    labelId = IdStr()
    assigneeId = IdStr(allow_none=True, metadata={"description": "null = the card is unassigned"})


# ---------------------------------------------------------------- action params, one schema per type
class MoveCardParams(StrictSchema):
    columnId = IdStr()
    columnName = Name(100)

    @validates_schema
    def _one(self, data, **kwargs):
        if ("columnId" in data) == ("columnName" in data):
            raise ValidationError("Give exactly one of columnId or columnName.")


class AssignParams(StrictSchema):
    assigneeId = IdStr(required=True, allow_none=True, metadata={"description": "null unassigns"})


class SetPriorityParams(StrictSchema):
    priority = Enum(PRIORITIES, required=True)


class AddLabelParams(StrictSchema):
    labelId = IdStr(required=True)


class AddCommentParams(StrictSchema):
    content = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class ArchiveCardParams(StrictSchema):
    pass


class SetDueDateParams(StrictSchema):
    dueDate = IsoDateTime(allow_none=True, metadata={"description": "ISO date or datetime; null clears"})
    inDays = fields.Integer(strict=True, validate=validate.Range(min=-3650, max=3650),
                            metadata={"description": "days from the moment the rule runs"})

    @validates_schema
    def _one(self, data, **kwargs):
        if ("dueDate" in data) == ("inDays" in data):
            raise ValidationError("Give exactly one of dueDate or inDays.")


class NotifyParams(StrictSchema):
    userIds = fields.List(IdStr(), validate=validate.Length(min=1, max=50),
                          metadata={"description": "workspace members; default: the project's members"})
    message = fields.String(required=True, validate=validate.Length(min=1, max=1000))


PARAMS = {
    "move_card": MoveCardParams,
    "assign": AssignParams,
    "set_priority": SetPriorityParams,
    "add_label": AddLabelParams,
    "add_comment": AddCommentParams,
    "archive_card": ArchiveCardParams,
    "set_due_date": SetDueDateParams,
    "notify": NotifyParams,
}


class ActionField(fields.Field):
    """`{type, params}`: params are loaded by the schema of that type (unknown keys → 400)."""

    default_error_messages = {"invalid": "Must be an object with type and params."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise self.make_error("invalid")
        unknown = set(value) - {"type", "params"}
        if unknown:
            raise ValidationError({k: ["Unknown field."] for k in sorted(unknown)})
        kind = value.get("type")
        if kind not in PARAMS:
            raise ValidationError({"type": [f"Must be one of: {', '.join(PARAMS)}."]})
        params = value.get("params", {})
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise ValidationError({"params": ["Must be an object."]})
        try:
            loaded = PARAMS[kind]().load(params)
        except ValidationError as err:
            raise ValidationError({"params": err.messages}) from err
        return {"type": kind, "params": loaded}

    def _serialize(self, value, attr, obj, **kwargs):
        return value


def _check_conditions(data: dict) -> None:
    trigger, conditions = data.get("trigger"), data.get("conditions")
    if trigger and conditions and "fromColumnId" in conditions and trigger not in MOVE_TRIGGERS:
        raise ValidationError({"conditions": {"fromColumnId": [
            f"Only a move knows the column a card came from: use it with {' or '.join(MOVE_TRIGGERS)}."]}})


class RuleIn(StrictSchema):
    name = Name(MAX_NAME)
    trigger = Enum(TRIGGERS, required=True)
    conditions = fields.Nested(Conditions, load_default=dict)
    action = ActionField(required=True)
    enabled = fields.Boolean(load_default=True)

    @validates_schema
    def _conditions(self, data, **kwargs):
        _check_conditions(data)


class RulePatch(StrictSchema):
    name = Name(MAX_NAME)
    trigger = Enum(TRIGGERS)
    conditions = fields.Nested(Conditions)
    action = ActionField()
    enabled = fields.Boolean()


class ToggleIn(StrictSchema):
    enabled = fields.Boolean(metadata={"description": "absent: flip the current state"})


class TestIn(StrictSchema):
    cardId = fields.String(required=True, validate=validate.Length(min=1, max=100))
    fromColumnId = IdStr(metadata={"description": "the column the card is pretended to come from "
                                                  "(fromColumnId conditions); default: unknown"})


class TraceQuery(Schema):
    class Meta:
        unknown = "exclude"

    limit = fields.Integer(validate=validate.Range(min=1, max=200), load_default=50)
    cursor = fields.String(load_default=None)


# ---------------------------------------------------------------- responses
# Handlers return `schema(XOut).dump(stored document)` of the schema their route declares.
class ConditionsOut(Schema):
    fromColumnId, toColumnId, columnId = fields.String(), fields.String(), fields.String()
    priority, labelId = fields.String(metadata={"enum": list(PRIORITIES)}), fields.String()
    assigneeId = fields.String(allow_none=True, metadata={"description": "null = the card is unassigned"})


class ActionOut(Schema):
    type = fields.String(metadata={"enum": list(PARAMS)})
    params = fields.Dict(metadata={"description": "per type: move_card {columnId | columnName}, assign "
                                                  "{assigneeId}, set_priority {priority}, add_label {labelId}, "
                                                  "add_comment {content}, archive_card {}, set_due_date "
                                                  "{dueDate | inDays}, notify {userIds?, message}"})


class RuleOut(Schema):
    id, projectId, name = fields.String(), fields.String(), fields.String()
    trigger = fields.String(metadata={"enum": list(TRIGGERS)})
    conditions = fields.Nested(ConditionsOut, metadata={"description": "every key present must hold ({} = always)"})
    action = fields.Nested(ActionOut)
    enabled = fields.Boolean()
    disabledReason = fields.String(allow_none=True, dump_default=None,
                                   metadata={"description": "why the rule disabled itself (cleared by enabling it)"})
    createdBy = fields.String(allow_none=True, dump_default=None)
    createdAt, updatedAt = IsoTime(), IsoTime()

    @pre_dump
    def _defaults(self, rule, **kwargs):
        action = rule.get("action") or {}
        return rule | {"conditions": rule.get("conditions") or {},
                       "action": {"type": action.get("type"), "params": action.get("params") or {}},
                       "updatedAt": rule.get("updatedAt") or rule.get("createdAt")}


class ChainOut(Schema):
    id = fields.String(metadata={"description": "the event id of the user change that started the chain"})
    depth = fields.Integer()


class TraceOut(Schema):
    id, ruleId = fields.String(), fields.String()
    actorId, targetCardId, triggeredBy = (fields.String(allow_none=True, dump_default=None),
                                          fields.String(allow_none=True, dump_default=None),
                                          fields.String(allow_none=True, dump_default=None))
    chain = fields.Nested(ChainOut, dump_default=dict)
    result = fields.String(metadata={"enum": ["success", "skipped", "failed"]})
    detail = fields.String(allow_none=True, dump_default=None)
    durationMs = fields.Integer(dump_default=0)
    createdAt = IsoTime()


class ChangeOut(Schema):
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)


class TestActionOut(Schema):
    type = fields.String(metadata={"enum": list(PARAMS)})
    params = fields.Dict()
    changes = fields.Dict(keys=fields.String(), values=fields.Nested(ChangeOut))
    error = fields.String(metadata={"description": "why the action could not run on the card (absent when it "
                                                   "could)"})


class TestOut(Schema):
    matched = fields.Boolean()
    conditions = fields.Dict(keys=fields.String(), values=fields.Boolean())
    action = fields.Nested(TestActionOut)


class Ok(Schema):
    ok = fields.Boolean()
