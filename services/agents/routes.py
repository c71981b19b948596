"""The agents service's HTTP endpoints (API.md §2: `W/agents…`, `W/missions…`, `W/proposals…`,
`W/project-drafts…`): thin handlers — check the path's workspace, call the service, return. The gateway
checks PAT scopes (`pilotage:read` for GET, `pilotage:write` otherwise)."""
from flask import Response, current_app, request

from libs.common.asyncweb import AsyncBody
from libs.common.context import workspace_caller
from libs.common.paging import paged
from libs.common.web import Api

from . import schemas as s
from .stream import event_stream, parse_last_event_id

api = Api("agents")
W = "/orgs/<org>/workspaces/<ws>"
A = W + "/agents/<agent_id>"
M = W + "/missions/<mission_id>"
D = W + "/project-drafts/<draft_id>"


def svc():
    return current_app.extensions["agents"]


def drafts():
    return current_app.extensions["agents.drafts"]


# ---------------------------------------------------------------- agents
@api.route(W + "/agents", "POST", body=s.AgentIn, response=s.AgentOut, status=201,
           summary="Create an agent: name, slug (unique in the workspace, 409), autonomyMode supervised|approval|"
                   "autonomous, tools, toolPolicies {tool: auto|approve|deny}, limits {maxStepsPerMission, "
                   "maxMissionsPerDay} (workspace admin or pilotage owner)")
def create_agent(org, ws, body):
    return svc().create_agent(caller=workspace_caller(org, ws), data=body)


@api.route(W + "/agents", "GET", response=s.AgentOut(many=True), summary="The workspace's agents, oldest first")
def list_agents(org, ws):
    return svc().list_agents(caller=workspace_caller(org, ws))


@api.route(A, "GET", response=s.AgentOut, summary="One agent")
def get_agent(org, ws, agent_id):
    return svc().get_agent(caller=workspace_caller(org, ws), agent_id=agent_id)


@api.route(A, "PATCH", body=s.AgentPatch, response=s.AgentOut,
           summary="Change an agent's configuration (workspace admin or pilotage owner)")
def update_agent(org, ws, agent_id, body):
    return svc().update_agent(caller=workspace_caller(org, ws), agent_id=agent_id, data=body)


@api.route(A, "DELETE", response=s.Ok, summary="Delete an agent with its missions and proposals")
def delete_agent(org, ws, agent_id):
    return svc().delete_agent(caller=workspace_caller(org, ws), agent_id=agent_id)


# ---------------------------------------------------------------- missions
@api.route(A + "/missions", "POST", body=s.MissionIn, response=s.MissionOut, status=201,
           summary="Start a mission on a card: {cardId, prompt, budget?: {maxSteps, maxSeconds, maxTokens}}; "
                   "queued, run by the worker (429 beyond limits.maxMissionsPerDay, 409 if the agent is disabled)")
def create_mission(org, ws, agent_id, body):
    return svc().create_mission(caller=workspace_caller(org, ws), agent_id=agent_id, data=body)


@api.route(A + "/missions", "GET", query=s.MissionQuery, response=s.MissionOut(many=True),
           summary="The agent's missions, newest first (limit 1-200, default 50, cursor, status; X-Next-Cursor)")
def list_missions(org, ws, agent_id, query):
    rows, cursor = svc().list_missions(caller=workspace_caller(org, ws), agent_id=agent_id, limit=query["limit"],
                                       cursor=query["cursor"], status=query["status"])
    return paged(rows, cursor)


@api.route(M, "GET", response=s.MissionDetailOut, summary="A mission with its progress (usage, budget) and its steps")
def get_mission(org, ws, mission_id):
    return svc().get_mission(caller=workspace_caller(org, ws), mission_id=mission_id)


@api.route(M + "/cancel", "POST", body=s.EmptyIn, response=s.MissionOut,
           summary="Cancel a mission (409 when already completed, failed or cancelled); enforced: nothing of it "
                   "reaches the board afterwards, its pending proposals become rejected (reason cancelled)")
def cancel_mission(org, ws, mission_id, body):
    return svc().cancel_mission(caller=workspace_caller(org, ws), mission_id=mission_id)


@api.route(M + "/stream", "GET",
           summary="Server-Sent Events of the mission's steps (status, thought, tool_call, tool_result, proposal, "
                   "result, error, log); id = step seq, Last-Event-ID resumes; ends after a terminal status")
def stream_mission(org, ws, mission_id):
    mission = svc().get_mission_or_raise(workspace_caller(org, ws), mission_id)
    settings = current_app.config["SETTINGS"]
    last = parse_last_event_id(request.headers.get("Last-Event-ID") or request.args.get("lastEventId"))
    steps, hub = svc().stores.steps, current_app.extensions["agents.live"]
    body = AsyncBody(lambda: event_stream(steps=steps, hub=hub, mission_id=mission["id"], last_seq=last,
                                          heartbeat_s=settings.stream_heartbeat, max_age_s=settings.stream_max_age))
    return Response(body, mimetype="text/event-stream", direct_passthrough=True,
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


# ---------------------------------------------------------------- proposals
@api.route(M + "/proposals", "GET", response=s.ProposalOut(many=True),
           summary="The mission's proposals (with preview {field: {before, after}}), oldest first")
def list_proposals(org, ws, mission_id):
    return svc().list_proposals(caller=workspace_caller(org, ws), mission_id=mission_id)


@api.route(W + "/proposals/<proposal_id>/approve", "POST", body=s.ApproveIn, response=s.ProposalOut,
           summary="Approve a pending proposal (pilotage reviewer or owner; 409 unless pending): the worker applies it")
def approve_proposal(org, ws, proposal_id, body):
    return svc().decide(caller=workspace_caller(org, ws), proposal_id=proposal_id, approve=True)


@api.route(W + "/proposals/<proposal_id>/reject", "POST", body=s.RejectIn, response=s.ProposalOut,
           summary="Reject a pending proposal {reason?} (pilotage reviewer or owner; 409 unless pending)")
def reject_proposal(org, ws, proposal_id, body):
    return svc().decide(caller=workspace_caller(org, ws), proposal_id=proposal_id, approve=False,
                        reason=body.get("reason"))


# ---------------------------------------------------------------- project drafts
@api.route(W + "/project-drafts", "POST", body=s.DraftIn, response=s.DraftOut, status=201,
           summary="Create a project draft {name, description?, contextDocuments?: [documentId]}: scoping, with "
                   "questions adapted to them")
def create_draft(org, ws, body):
    return drafts().create(caller=workspace_caller(org, ws), data=body)


@api.route(W + "/project-drafts", "GET", response=s.DraftOut(many=True), summary="The workspace's drafts, oldest first")
def list_drafts(org, ws):
    return drafts().list(caller=workspace_caller(org, ws))


@api.route(D, "GET", response=s.DraftOut, summary="One project draft")
def get_draft(org, ws, draft_id):
    return drafts().get(caller=workspace_caller(org, ws), draft_id=draft_id)


@api.route(D, "DELETE", response=s.Ok, summary="Delete a project draft (the project it created stays)")
def delete_draft(org, ws, draft_id):
    return drafts().delete(caller=workspace_caller(org, ws), draft_id=draft_id)


@api.route(D + "/refine", "POST", body=s.RefineIn, response=s.DraftOut,
           summary="Answer questions {answers: [{questionId, answer}]}: refining; may add further questions")
def refine_draft(org, ws, draft_id, body):
    return drafts().refine(caller=workspace_caller(org, ws), draft_id=draft_id, answers=body["answers"])


@api.route(D + "/generate-roadmap", "POST", body=s.EmptyIn, response=s.DraftOut,
           summary="Generate the phased roadmap {phases: [{name, deliverables: [{title, description}]}]}: roadmap_ready")
def generate_roadmap(org, ws, draft_id, body):
    return drafts().generate_roadmap(caller=workspace_caller(org, ws), draft_id=draft_id)


@api.route(D + "/execute", "POST", body=s.EmptyIn, response=s.DraftOut,
           summary="Create the project (phases as columns, deliverables as cards) once: executed with projectId "
                   "(409 unless roadmap_ready)")
def execute_draft(org, ws, draft_id, body):
    return drafts().execute(caller=workspace_caller(org, ws), draft_id=draft_id)
