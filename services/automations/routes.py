"""Automations' HTTP endpoints (API.md §2: `P/automations…`): thin handlers — check the path's
workspace, call the service, return the dump of the response schema the route declares. Any workspace
member reads and writes rules; the gateway checks PAT scopes (`projects:read` for GET, `projects:write`
otherwise)."""
from flask import current_app

from libs.common.context import workspace_caller
from libs.common.paging import paged
from libs.common.web import Api
from libs.common.schemas import schema

from . import schemas as s

api = Api("automations")
P = "/orgs/<org>/workspaces/<ws>/projects/<project_id>/automations"
R = P + "/<rule_id>"
TRIGGERS = "|".join(s.TRIGGERS)
ACTIONS = "|".join(s.PARAMS)


def svc():
    return current_app.extensions["automations"]


@api.route(P, "POST", body=s.RuleIn, response=s.RuleOut, status=201, errors=(409, 503),
           summary=f"Create a rule: trigger {TRIGGERS}; conditions {{fromColumnId, toColumnId, columnId, priority, "
                   f"labelId, assigneeId}} all must hold; action {{type: {ACTIONS}, params}}; name ≤200 "
                   "(unique in the project, 409); at most AUTOMATIONS_MAX_RULES_PER_PROJECT (500) rules (409); 503 "
                   "when boards does not answer")
def create_rule(org, ws, project_id, body):
    return schema(s.RuleOut).dump(svc().create(caller=workspace_caller(org, ws), project_id=project_id, data=body))


@api.route(P, "GET", response=s.RuleOut(many=True), errors=(503,), summary="The project's rules, oldest first")
def list_rules(org, ws, project_id):
    return schema(s.RuleOut, many=True).dump(svc().list(caller=workspace_caller(org, ws), project_id=project_id))


@api.route(R, "GET", response=s.RuleOut, summary="One rule")
def get_rule(org, ws, project_id, rule_id):
    return schema(s.RuleOut).dump(svc().get(caller=workspace_caller(org, ws), project_id=project_id, rule_id=rule_id))


@api.route(R, "PATCH", body=s.RulePatch, response=s.RuleOut, errors=(409, 503),
           summary="Change a rule's name, trigger, conditions, action or enabled (enabling clears disabledReason)")
def update_rule(org, ws, project_id, rule_id, body):
    return schema(s.RuleOut).dump(svc().update(caller=workspace_caller(org, ws), project_id=project_id, rule_id=rule_id,
                                         data=body))


@api.route(R, "DELETE", response=s.Ok, summary="Delete a rule and its traces")
def delete_rule(org, ws, project_id, rule_id):
    return schema(s.Ok).dump(svc().delete(caller=workspace_caller(org, ws), project_id=project_id, rule_id=rule_id))


@api.route(R + "/toggle", "PATCH", body=s.ToggleIn, response=s.RuleOut,
           summary="Enable or disable a rule (flips it; or {enabled}); enabling clears disabledReason")
def toggle_rule(org, ws, project_id, rule_id, body):
    return schema(s.RuleOut).dump(svc().toggle(caller=workspace_caller(org, ws), project_id=project_id, rule_id=rule_id,
                                         enabled=body.get("enabled")))


@api.route(R + "/traces", "GET", query=s.TraceQuery, response=s.TraceOut(many=True),
           summary="The rule's execution traces, newest first (limit 1-200, default 50, + cursor; "
                   "X-Next-Cursor when more remain); kept 90 days")
def list_traces(org, ws, project_id, rule_id, query):
    rows, cursor = svc().traces(caller=workspace_caller(org, ws), project_id=project_id, rule_id=rule_id,
                                limit=query["limit"], cursor=query["cursor"])
    return paged(schema(s.TraceOut, many=True).dump(rows), cursor)


@api.route(R + "/test", "POST", body=s.TestIn, response=s.TestOut, errors=(503,),
           summary="Dry run: would the rule match the card, and what would its action change (changes nothing, "
                   "writes no trace)")
def test_rule(org, ws, project_id, rule_id, body):
    return schema(s.TestOut).dump(svc().test(caller=workspace_caller(org, ws), project_id=project_id, rule_id=rule_id,
                                       card_id=body["cardId"], from_column_id=body.get("fromColumnId")))
