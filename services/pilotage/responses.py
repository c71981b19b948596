"""Response shapes of the pilotage endpoints, for the OpenAPI document (the service builds plain dicts)."""
from marshmallow import Schema, fields

Str, Int, Bool, List, Nested, Dict, Raw = (fields.String, fields.Integer, fields.Boolean, fields.List,
                                           fields.Nested, fields.Dict, fields.Raw)


class Ok(Schema):
    ok = Bool()


class Stamped(Schema):
    id = Str()
    createdAt, updatedAt = Str(), Str()


class MissionOut(Stamped):
    objective, module, status, blockedReason, createdBy = Str(), Str(allow_none=True), Str(), Str(allow_none=True), Str()


class PriorityOut(Stamped):
    label, module, createdBy = Str(), Str(allow_none=True), Str()
    active, order = Bool(), Int(allow_none=True)


class TodoOut(Stamped):
    label, status, missionId, priorityId, createdBy = Str(), Str(), Str(allow_none=True), Str(allow_none=True), Str()


class DecisionOut(Stamped):
    title, impact, missionId, createdBy = Str(), Str(allow_none=True), Str(allow_none=True), Str()


class DocOut(Stamped):
    title, owner, sourceType, createdBy = Str(), Str(allow_none=True), Str(allow_none=True), Str()


class ActionError(Schema):
    statusCode, message, at = Int(), Str(), Str()


class ActionOut(Stamped):
    actionType, explanation, status, reason = Str(), Str(), Str(), Str(allow_none=True)
    payload, result = Dict(), Dict(allow_none=True)
    error = Nested(ActionError, allow_none=True)
    proposedBy = Dict()
    reviewedBy, reviewedAt, appliedBy, appliedAt = Str(allow_none=True), Str(allow_none=True), Str(allow_none=True), \
        Str(allow_none=True)


class DocumentOut(Stamped):
    title, docType, status, authorId = Str(), Str(), Str(), Str()
    content = Dict(metadata={"description": "TipTap JSON (absent from list rows)"})
    parentId, contextType, contextId = Str(allow_none=True), Str(allow_none=True), Str(allow_none=True)
    reviewerId, reviewNotes = Str(allow_none=True), Str(allow_none=True)


class UsageContext(Schema):
    profile, role, intent, detailLevel = Str(), Str(), Str(allow_none=True), Str()


class StateMission(Schema):
    id, objective, module, status, blockedReason = Str(), Str(), Str(allow_none=True), Str(), Str(allow_none=True)
    todos = List(Dict(), metadata={"description": "detailLevel=detailed only"})
    decisions = List(Dict(), metadata={"description": "detailLevel=detailed only"})


class StateOut(Schema):
    cycle, contractVersion = Str(), Int()
    missions = List(Nested(StateMission))
    activePriorities, todos, decisions, activeDocs = List(Dict()), List(Dict()), List(Dict()), List(Dict())
    usageContext = Nested(UsageContext)
