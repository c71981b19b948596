"""Request and response schemas of the agents endpoints (API.md §5 "Agents", "Project drafts", §6).

    POST W/agents
    {"name": "Triage bot", "slug": "triage", "autonomyMode": "supervised",
     "tools": ["read_card", "comment", "checklist"], "toolPolicies": {"comment": "auto"},
     "limits": {"maxStepsPerMission": 20, "maxMissionsPerDay": 100}}

    POST W/agents/:agentId/missions   {"cardId": "…", "prompt": "Break this card down", "budget": {"maxSteps": 8}}

Responses are dumped through the *Out schemas (stored times are epoch ms, shown as ISO 8601).
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from libs.common.mongo import from_ms, iso
from libs.common.schemas import Enum, IdStr, Name, Slug, StrictSchema

TOOLS = ("read_card", "comment", "update_card", "move_card", "checklist", "create_card")
MODES = ("supervised", "approval", "autonomous")
POLICIES = ("auto", "approve", "deny")
MISSION_STATUSES = ("queued", "running", "awaiting_approval", "completed", "failed", "cancelled")
DRAFT_STATUSES = ("scoping", "refining", "roadmap_ready", "executed")
DEFAULT_LIMITS = {"maxStepsPerMission": 20, "maxMissionsPerDay": 100}
MAX_STEPS = 200


class MsTime(fields.Field):
    """Epoch milliseconds stored, ISO 8601 shown."""

    def _serialize(self, value, attr, obj, **kwargs):
        return iso(from_ms(value)) if isinstance(value, (int, float)) and value else None


# ---------------------------------------------------------------- agents
class Limits(StrictSchema):
    maxStepsPerMission = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_STEPS),
                                        load_default=DEFAULT_LIMITS["maxStepsPerMission"])
    maxMissionsPerDay = fields.Integer(strict=True, validate=validate.Range(min=1, max=100_000),
                                       load_default=DEFAULT_LIMITS["maxMissionsPerDay"])


class LimitsPatch(StrictSchema):
    maxStepsPerMission = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_STEPS))
    maxMissionsPerDay = fields.Integer(strict=True, validate=validate.Range(min=1, max=100_000))


def _tools_field(**kwargs):
    return fields.List(Enum(TOOLS), validate=validate.Length(max=len(TOOLS)),
                       metadata={"description": f"subset of {', '.join(TOOLS)} (default: all)"}, **kwargs)


def _policies_field(**kwargs):
    return fields.Dict(keys=Enum(TOOLS), values=Enum(POLICIES),
                       metadata={"description": "tool -> auto | approve | deny, whatever the autonomyMode"},
                       **kwargs)


class _Unique:
    @validates_schema
    def _unique_tools(self, data, **kwargs):
        tools = data.get("tools")
        if tools is not None and len(set(tools)) != len(tools):
            raise ValidationError({"tools": ["Tools must not repeat."]})


class AgentIn(_Unique, StrictSchema):
    name = Name(100, required=True)
    slug = Slug()
    description = fields.String(validate=validate.Length(max=2000), allow_none=True, load_default=None)
    autonomyMode = Enum(MODES, load_default="supervised")
    tools = _tools_field(load_default=lambda: list(TOOLS))
    toolPolicies = _policies_field(load_default=dict)
    limits = fields.Nested(Limits, load_default=lambda: dict(DEFAULT_LIMITS))
    enabled = fields.Boolean(load_default=True)


class AgentPatch(_Unique, StrictSchema):
    name = Name(100)
    slug = Slug()
    description = fields.String(validate=validate.Length(max=2000), allow_none=True)
    autonomyMode = Enum(MODES)
    tools = _tools_field()
    toolPolicies = _policies_field()
    limits = fields.Nested(LimitsPatch)
    enabled = fields.Boolean()


class LimitsOut(Schema):
    maxStepsPerMission = fields.Integer()
    maxMissionsPerDay = fields.Integer()


class AgentOut(Schema):
    id, name, slug = fields.String(), fields.String(), fields.String()
    description = fields.String(allow_none=True)
    autonomyMode = fields.String()
    tools = fields.List(fields.String())
    toolPolicies = fields.Dict(keys=fields.String(), values=fields.String())
    limits = fields.Nested(LimitsOut)
    enabled = fields.Boolean()
    createdBy = fields.String()
    createdAt = MsTime(attribute="createdAtMs")
    updatedAt = MsTime(attribute="updatedAtMs")


# ---------------------------------------------------------------- missions
class Budget(StrictSchema):
    maxSteps = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_STEPS))
    maxSeconds = fields.Float(validate=validate.Range(min=0.1, max=86400))
    maxTokens = fields.Integer(strict=True, validate=validate.Range(min=1, max=10_000_000))


class MissionIn(StrictSchema):
    cardId = IdStr(required=True)
    prompt = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    budget = fields.Nested(Budget, load_default=dict)


class MissionQuery(Schema):
    class Meta:
        unknown = "exclude"

    limit = fields.Integer(validate=validate.Range(min=1, max=200), load_default=50)
    cursor = fields.String(load_default=None)
    status = Enum(MISSION_STATUSES, load_default=None)


class UsageOut(Schema):
    steps = fields.Integer()
    seconds = fields.Float()
    tokens = fields.Integer()


class BudgetOut(Schema):
    maxSteps = fields.Integer()
    maxSeconds = fields.Float(allow_none=True)
    maxTokens = fields.Integer(allow_none=True)


class StepOut(Schema):
    seq = fields.Integer()
    type = fields.String()
    data = fields.Dict()
    at = MsTime(attribute="atMs")


class MissionOut(Schema):
    id, agentId, projectId, cardId, prompt, status = (fields.String(), fields.String(), fields.String(),
                                                     fields.String(), fields.String(), fields.String())
    budget = fields.Nested(BudgetOut)
    usage = fields.Nested(UsageOut)
    error = fields.String(allow_none=True)
    errorMessage = fields.String(allow_none=True)
    result = fields.Dict(allow_none=True)
    createdBy = fields.String()
    createdAt = MsTime(attribute="createdAtMs")
    updatedAt = MsTime(attribute="updatedAtMs")
    startedAt = MsTime(attribute="startedAtMs")
    finishedAt = MsTime(attribute="finishedAtMs")


class MissionDetailOut(MissionOut):
    steps = fields.List(fields.Nested(StepOut))


# ---------------------------------------------------------------- proposals
class ApproveIn(StrictSchema):
    pass


class RejectIn(StrictSchema):
    reason = fields.String(validate=validate.Length(max=500), allow_none=True, load_default=None)


class ChangeOut(Schema):
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)


class ProposalOut(Schema):
    id, missionId, agentId, kind = fields.String(), fields.String(), fields.String(), fields.String()
    payload = fields.Dict()
    preview = fields.Dict(keys=fields.String(), values=fields.Nested(ChangeOut))
    status = Enum(("pending", "approved", "rejected"))
    reason = fields.String(allow_none=True)
    applyState = fields.String(allow_none=True)
    applyError = fields.String(allow_none=True)
    decidedBy = fields.String(allow_none=True)
    createdAt = MsTime(attribute="createdAtMs")
    decidedAt = MsTime(attribute="decidedAtMs")


# ---------------------------------------------------------------- project drafts
class DraftIn(StrictSchema):
    name = Name(200, required=True)
    description = fields.String(validate=validate.Length(max=5000), allow_none=True, load_default=None)
    contextDocuments = fields.List(IdStr(), validate=validate.Length(max=20), load_default=list,
                                   metadata={"description": "ids of the workspace's documents (pilotage)"})

    @pre_load
    def _documents_as_ids(self, data, **kwargs):
        """`contextDocuments` may also be given as `[{"id": …}]`."""
        docs = data.get("contextDocuments") if isinstance(data, dict) else None
        if isinstance(docs, list):
            data = dict(data, contextDocuments=[d.get("id") if isinstance(d, dict) else d for d in docs])
        return data


class Answer(StrictSchema):
    questionId = fields.String(required=True, validate=validate.Length(min=1, max=64))
    answer = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class RefineIn(StrictSchema):
    answers = fields.List(fields.Nested(Answer), required=True, validate=validate.Length(min=1, max=50))


class EmptyIn(StrictSchema):
    pass


class QuestionOut(Schema):
    id, question = fields.String(), fields.String()
    round = fields.Integer()


class AnswerOut(Schema):
    questionId, answer = fields.String(), fields.String()


class DeliverableOut(Schema):
    title, description = fields.String(), fields.String(allow_none=True)


class PhaseOut(Schema):
    name = fields.String()
    deliverables = fields.List(fields.Nested(DeliverableOut))


class RoadmapOut(Schema):
    phases = fields.List(fields.Nested(PhaseOut))


class DraftOut(Schema):
    id, name = fields.String(), fields.String()
    description = fields.String(allow_none=True)
    contextDocuments = fields.List(fields.String())
    status = Enum(DRAFT_STATUSES)
    questions = fields.List(fields.Nested(QuestionOut))
    answers = fields.List(fields.Nested(AnswerOut))
    round = fields.Integer()
    roadmap = fields.Nested(RoadmapOut, allow_none=True)
    projectId = fields.String(allow_none=True)
    createdBy = fields.String()
    createdAt = MsTime(attribute="createdAtMs")
    updatedAt = MsTime(attribute="updatedAtMs")


class Ok(Schema):
    ok = fields.Boolean()
