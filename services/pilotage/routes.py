"""Pilotage's HTTP endpoints: thin handlers — check the path's workspace, call the service, return the
dump of the response schema the route declares (responses.py).

Reads need any workspace membership (pilotage `viewer` and up); pilotage writes need `reviewer`
or `owner`; documents are written by any member and reviewed by `reviewer`/`owner`.
"""
from flask import current_app

from libs.common.context import workspace_caller
from libs.common.paging import paged
from libs.common.web import Api
from libs.common.schemas import schema

from . import responses as r
from . import schemas as s

api = Api("pilotage")
W = "/orgs/<org>/workspaces/<ws>"
P = W + "/pilotage"


def svc():
    return current_app.extensions["pilotage"]


def docs():
    return current_app.extensions["pilotage.documents"]


# ---------------------------------------------------------------- state
@api.route(P + "/state", "GET", query=s.StateQuery, response=r.StateOut,
           summary="The workspace's pilotage state (profile pilotage|execution|revue, intent "
                   "weekly_review|daily_execution|sprint_planning|context_only, detailLevel minimal|standard|detailed)")
def get_state(org, ws, query):
    return schema(r.StateOut).dump(svc().state(caller=workspace_caller(org, ws), profile=query["profile"],
                                         intent=query["intent"], detail_level=query["detailLevel"]))


@api.route(P + "/state", "PATCH", body=s.StatePatch, response=r.StateOut,
           summary="Set the workspace's current cycle label (cycle 1-50 chars; pilotage owner); returns the state")
def patch_state(org, ws, body):
    return schema(r.StateOut).dump(svc().set_cycle(caller=workspace_caller(org, ws), cycle=body["cycle"]))


# ---------------------------------------------------------------- the five simple collections
def _crud(path: str, name: str, label: str, body_in, body_patch, list_query, out, limits: str):
    """GET (list) / POST on `path`, GET / PATCH / DELETE on `path/<id>` for one collection."""

    def create(org, ws, body):
        return out().dump(svc().create(name, caller=workspace_caller(org, ws), data=body))

    def list_(org, ws, query):
        filters = {k: v for k, v in query.items() if k not in ("limit", "cursor")}
        rows, cursor = svc().list(name, caller=workspace_caller(org, ws), filters=filters,
                                  limit=query.get("limit"), cursor=query.get("cursor"))
        return paged(out(many=True).dump(rows), cursor)

    def get(org, ws, id):
        return out().dump(svc().get(name, caller=workspace_caller(org, ws), entity_id=id))

    def update(org, ws, id, body):
        return out().dump(svc().update(name, caller=workspace_caller(org, ws), entity_id=id, data=body))

    def delete(org, ws, id):
        return schema(r.Ok).dump(svc().delete(name, caller=workspace_caller(org, ws), entity_id=id))

    for fn in (create, list_, get, update, delete):
        fn.__name__ = f"{fn.__name__.rstrip('_')}_{name}"
    api.route(path, "POST", body=body_in, response=out, status=201,
              summary=f"Create a {label} ({limits}; pilotage reviewer/owner)")(create)
    api.route(path, "GET", query=list_query, response=out(many=True),
              summary=f"List {label}s in creation order (optional limit 1-500 + cursor; X-Next-Cursor when more remain)")(list_)
    api.route(path + "/<id>", "GET", response=out, summary=f"One {label}")(get)
    api.route(path + "/<id>", "PATCH", body=body_patch, response=out,
              summary=f"Change a {label} ({limits}; pilotage reviewer/owner)")(update)
    api.route(path + "/<id>", "DELETE", response=r.Ok, summary=f"Delete a {label} (pilotage reviewer/owner)")(delete)


_crud(P + "/missions", "missions", "mission", s.MissionIn, s.MissionPatch, s.MissionQuery, r.MissionOut,
      "objective 1-500, module ≤100, status to_launch|in_progress|blocked|done, blockedReason ≤200 "
      "required when blocked")
_crud(P + "/priorities", "priorities", "priority", s.PriorityIn, s.PriorityPatch, s.PriorityQuery, r.PriorityOut,
      "label 1-300, module ≤100, active bool, order ≥0")
_crud(P + "/todos", "todos", "todo", s.TodoIn, s.TodoPatch, s.TodoQuery, r.TodoOut,
      "label 1-300, status todo|in_progress|blocked|done, missionId/priorityId of this workspace")
_crud(P + "/decisions", "decisions", "decision", s.DecisionIn, s.DecisionPatch, s.DecisionQuery, r.DecisionOut,
      "title 1-200, impact ≤2000, missionId of this workspace")
_crud(P + "/docs", "docs", "active doc", s.DocIn, s.DocPatch, s.DocQuery, r.DocOut,
      "title 1-200, owner ≤100, sourceType product|tech|sprint|ops")


# ---------------------------------------------------------------- proposed actions
@api.route(P + "/actions/propose", "POST", body=s.ActionIn, response=r.ActionOut, status=201,
           summary="Propose an action for human review (actionType 1-100, explanation 1-500, payload ≤16 KB; "
                   "pilotage reviewer/owner)")
def propose_action(org, ws, body):
    return schema(r.ActionOut).dump(svc().propose(caller=workspace_caller(org, ws), data=body))


@api.route(P + "/actions", "GET", query=s.ActionQuery, response=r.ActionOut(many=True),
           summary="List proposed actions in creation order, optionally by status suggested|approved|rejected|applied "
                   "(optional limit 1-500 + cursor; X-Next-Cursor when more remain)")
def list_actions(org, ws, query):
    rows, cursor = svc().list("actions", caller=workspace_caller(org, ws), filters={"status": query["status"]},
                              limit=query["limit"], cursor=query["cursor"])
    return paged(schema(r.ActionOut, many=True).dump(rows), cursor)


@api.route(P + "/actions/<id>", "GET", response=r.ActionOut, summary="One proposed action")
def get_action(org, ws, id):
    return schema(r.ActionOut).dump(svc().get("actions", caller=workspace_caller(org, ws), entity_id=id))


@api.route(P + "/actions/<id>", "PATCH", body=s.ActionIn, partial=True, response=r.ActionOut, errors=(409,),
           summary="Edit a suggested action (actionType, explanation, payload; 409 once reviewed)")
def update_action(org, ws, id, body):
    return schema(r.ActionOut).dump(svc().update("actions", caller=workspace_caller(org, ws), entity_id=id, data=body))


@api.route(P + "/actions/<id>", "DELETE", response=r.Ok, summary="Delete a proposed action (pilotage reviewer/owner)")
def delete_action(org, ws, id):
    return schema(r.Ok).dump(svc().delete("actions", caller=workspace_caller(org, ws), entity_id=id))


@api.route(P + "/actions/<id>/review", "POST", body=s.ActionReview, response=r.ActionOut, errors=(409,),
           summary="Approve or reject a suggested action (approved bool, reason ≤200; 409 unless suggested)")
def review_action(org, ws, id, body):
    return schema(r.ActionOut).dump(svc().review(caller=workspace_caller(org, ws), action_id=id,
                                           approved=body["approved"], reason=body["reason"]))


@api.route(P + "/actions/<id>/apply", "POST", response=r.ActionOut, errors=(409, 503),
           summary="Apply an approved action through the owning service (409 unless approved or unknown "
                   "actionType; the owner's error is returned and recorded in `error`; 503 when it does not "
                   "answer)")
def apply_action(org, ws, id):
    return schema(r.ActionOut).dump(svc().apply(caller=workspace_caller(org, ws), action_id=id))


# ---------------------------------------------------------------- documents
@api.route(W + "/documents", "POST", body=s.DocumentIn, response=r.DocumentOut, status=201, tags=["documents"],
           errors=(413,),
           summary="Create a document (title 1-200, docType document|spec|brief|adr|note|reference|template|"
                   "spreadsheet, content TipTap JSON ≤512 KB, parentId, contextType/contextId)")
def create_document(org, ws, body):
    return schema(r.DocumentOut).dump(docs().create(caller=workspace_caller(org, ws), data=body))


@api.route(W + "/documents", "GET", query=s.DocumentQuery, response=r.DocumentOut(many=True), tags=["documents"],
           summary="List documents without content (filters docType, status, contextType, contextId, "
                   "parentId=<id>|root, q = title search; limit 1-500 + cursor, X-Next-Cursor)")
def list_documents(org, ws, query):
    rows, cursor = docs().list(caller=workspace_caller(org, ws), query=query)
    return paged(r.DocumentOut(many=True, exclude=("content",)).dump(rows), cursor)


@api.route(W + "/documents/<document_id>", "GET", response=r.DocumentOut, tags=["documents"], summary="A document with its content")
def get_document(org, ws, document_id):
    return schema(r.DocumentOut).dump(docs().get(caller=workspace_caller(org, ws), document_id=document_id))


@api.route(W + "/documents/<document_id>", "PATCH", body=s.DocumentPatch, response=r.DocumentOut, tags=["documents"],
           errors=(409, 413),
           summary="Change a document's title, content, type, parent or context (409 for a parent under the "
                   "document itself; content ≤512 KB, 413)")
def update_document(org, ws, document_id, body):
    return schema(r.DocumentOut).dump(docs().update(caller=workspace_caller(org, ws), document_id=document_id, data=body))


@api.route(W + "/documents/<document_id>", "DELETE", response=r.Ok, tags=["documents"], errors=(409,),
           summary="Delete a document (409 while it has child documents)")
def delete_document(org, ws, document_id):
    return schema(r.Ok).dump(docs().delete(caller=workspace_caller(org, ws), document_id=document_id))


@api.route(W + "/documents/<document_id>/submit-review", "POST", response=r.DocumentOut, tags=["documents"],
           errors=(409,),
           summary="Submit a draft (or changes_requested) document for review (409 otherwise)")
def submit_document(org, ws, document_id):
    return schema(r.DocumentOut).dump(docs().submit_review(caller=workspace_caller(org, ws), document_id=document_id))


@api.route(W + "/documents/<document_id>/review", "POST", body=s.DocumentReview, response=r.DocumentOut,
           tags=["documents"], errors=(409,),
           summary="Review a pending document: status approved|changes_requested, notes ≤2000 "
                   "(pilotage reviewer/owner; 409 unless pending_review)")
def review_document(org, ws, document_id, body):
    return schema(r.DocumentOut).dump(docs().review(caller=workspace_caller(org, ws), document_id=document_id,
                                              status=body["status"], notes=body["notes"]))
