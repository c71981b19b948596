"""Response schemas of the pilotage endpoints: what the API shows, and the only place that says it.

Handlers return `schema(XOut).dump(stored row)` of the schema their route declares; the events' `data`, the
actions' `result` and the commands' answers are dumped through the same schemas (`render`). Every field
of an entity is present (the optional ones null when unset); stored datetimes are shown as `...Z`.
"""
from marshmallow import Schema, fields

from libs.common.schemas import IsoTime, schema

Str, Int, Bool, List, Nested, Dict = (fields.String, fields.Integer, fields.Boolean, fields.List, fields.Nested,
                                      fields.Dict)


def opt(field=Str, *args, **kwargs):
    """A field shown as null when the row lacks it."""
    return field(*args, allow_none=True, dump_default=None, **kwargs)


class Ok(Schema):
    ok = Bool()


class Stamped(Schema):
    id = Str()
    createdAt, updatedAt = IsoTime(), IsoTime()


class MissionOut(Stamped):
    objective, module, status, blockedReason = Str(), opt(), Str(), opt()
    createdBy = Str()


class PriorityOut(Stamped):
    label, module, active, order = Str(), opt(), Bool(), opt(Int)
    createdBy = Str()


class TodoOut(Stamped):
    label, status, missionId, priorityId = Str(), Str(), opt(), opt()
    createdBy = Str()


class DecisionOut(Stamped):
    title, impact, missionId = Str(), opt(), opt()
    createdBy = Str()


class DocOut(Stamped):
    title, owner, sourceType = Str(), opt(), opt()
    createdBy = Str()


class ActionError(Schema):
    statusCode, message, at = Int(), Str(), IsoTime()


class ProposedBy(Schema):
    userId, via = Str(allow_none=True), Str(allow_none=True)


class ActionOut(Stamped):
    actionType, explanation, status = Str(), Str(), Str()
    payload = Dict()
    reason = opt()
    result = opt(Dict, metadata={"description": "once applied: what the owning service returned, e.g. {card}, "
                                                "{todo}, {mission}"})
    error = opt(Nested, ActionError, metadata={"description": "the last refused apply"})
    proposedBy = Nested(ProposedBy)
    reviewedBy, reviewedAt, appliedBy, appliedAt = opt(), opt(IsoTime), opt(), opt(IsoTime)


class DocumentOut(Stamped):
    title, docType = Str(), Str()
    content = Dict(metadata={"description": "TipTap JSON (absent from list rows)"})
    parentId, contextType, contextId, status, authorId = opt(), opt(), opt(), Str(), Str()
    reviewerId, reviewNotes = opt(), opt()


ENTITIES = {"missions": MissionOut, "priorities": PriorityOut, "todos": TodoOut, "decisions": DecisionOut,
            "docs": DocOut, "actions": ActionOut}


def render(name: str, row: dict) -> dict:
    """A stored entity of collection `name` as the API shows it."""
    return schema(ENTITIES[name]).dump(row)


def render_document(row: dict, *, content: bool = True) -> dict:
    return schema(DocumentOut, exclude=() if content else ("content",)).dump(row)


# ---------------------------------------------------------------- the state (state.py builds it)
TIMES = "createdAt, updatedAt: detailLevel=detailed only"


class StateTodo(Schema):
    """minimal: id, label, status; standard: + missionId, priorityId; detailed: + createdAt, updatedAt"""
    id, label, status = Str(), Str(), Str()
    missionId, priorityId = Str(allow_none=True), Str(allow_none=True)
    createdAt, updatedAt = IsoTime(allow_none=True), IsoTime(allow_none=True)


class StateDecision(Schema):
    """minimal: id, title; standard: + impact, missionId, createdAt; detailed: + updatedAt"""
    id, title = Str(), Str()
    impact, missionId = Str(allow_none=True), Str(allow_none=True)
    createdAt, updatedAt = IsoTime(allow_none=True), IsoTime(allow_none=True)


class StateMission(Schema):
    """minimal: id, objective, status; standard: + module, blockedReason; detailed: + createdAt, updatedAt,
    todos, decisions"""
    id, objective, module, status, blockedReason = Str(), Str(), Str(allow_none=True), Str(), Str(allow_none=True)
    createdAt, updatedAt = IsoTime(allow_none=True), IsoTime(allow_none=True)
    todos = List(Nested(StateTodo), metadata={"description": "the mission's todos (detailLevel=detailed only)"})
    decisions = List(Nested(StateDecision),
                     metadata={"description": "the decisions linked to it (detailLevel=detailed only)"})


class StatePriority(Schema):
    """minimal: id, label; standard: + module, order; detailed: + createdAt, updatedAt"""
    id, label = Str(), Str()
    module, order = Str(allow_none=True), Int(allow_none=True)
    createdAt, updatedAt = IsoTime(allow_none=True), IsoTime(allow_none=True)


class StateDoc(Schema):
    """minimal: id, title; standard: + owner, sourceType; detailed: + createdAt, updatedAt"""
    id, title = Str(), Str()
    owner, sourceType = Str(allow_none=True), Str(allow_none=True)
    createdAt, updatedAt = IsoTime(allow_none=True), IsoTime(allow_none=True)


class UsageContext(Schema):
    profile, role, intent, detailLevel = Str(), Str(allow_none=True), Str(allow_none=True), Str()


class StateOut(Schema):
    cycle, contractVersion = Str(), Int()
    missions = List(Nested(StateMission))
    activePriorities = List(Nested(StatePriority))
    todos = List(Nested(StateTodo))
    decisions = List(Nested(StateDecision))
    activeDocs = List(Nested(StateDoc))
    usageContext = Nested(UsageContext)
