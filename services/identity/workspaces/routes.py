"""HTTP endpoints: workspaces and their members."""
from libs.common.context import caller
from libs.common.schemas import schema

from ..api import W, api, services
from ..schemas import OK, Ok
from .schemas import WorkspaceIn, WorkspaceOut, WorkspacePatch, WsMemberOut, WsMemberPatch


@api.route("/orgs/<org>/workspaces", "POST", body=WorkspaceIn, response=WorkspaceOut, status=201, errors=(409,),
           summary="Create a workspace (organization admin)")
def create_workspace(org, body):
    return schema(WorkspaceOut).dump(services().workspaces.create(caller=caller(), org_slug=org, name=body["name"],
                                                            slug=body["slug"]))


@api.route("/orgs/<org>/workspaces", "GET", response=WorkspaceOut(many=True),
           summary="Workspaces of the organization the caller belongs to")
def list_workspaces(org):
    return schema(WorkspaceOut, many=True).dump(services().workspaces.list_workspaces(caller=caller(), org_slug=org))


@api.route(W, "GET", response=WorkspaceOut, summary="A workspace by slug")
def get_workspace(org, ws):
    return schema(WorkspaceOut).dump(services().workspaces.get_or_raise(caller=caller(), org_slug=org, ws_slug=ws))


@api.route(W, "PATCH", body=WorkspacePatch, response=WorkspaceOut, errors=(409,),
           summary="Rename a workspace or change its slug (admin)")
def update_workspace(org, ws, body):
    return schema(WorkspaceOut).dump(services().workspaces.update(caller=caller(), org_slug=org, ws_slug=ws, data=body))


@api.route(W, "DELETE", response=Ok, errors=(409,), summary="Delete a workspace and everything in it (admin)")
def delete_workspace(org, ws):
    services().workspaces.delete(caller=caller(), org_slug=org, ws_slug=ws)
    return schema(Ok).dump(OK)


@api.route(W + "/members", "GET", response=WsMemberOut(many=True), summary="Members of a workspace with their roles")
def list_ws_members(org, ws):
    return schema(WsMemberOut, many=True).dump(services().ws_members.list_members(caller=caller(), org_slug=org, ws_slug=ws))


@api.route(W + "/members/<user_id>", "PATCH", body=WsMemberPatch, response=WsMemberOut, errors=(409,),
           summary="Change a member's workspace role and/or pilotage role (admin)")
def update_ws_member(org, ws, user_id, body):
    return schema(WsMemberOut).dump(services().ws_members.update(caller=caller(), org_slug=org, ws_slug=ws,
                                                           user_id=user_id, data=body))


@api.route(W + "/members/<user_id>", "DELETE", response=Ok, errors=(409,),
           summary="Remove a member from the workspace (admin, or yourself)")
def remove_ws_member(org, ws, user_id):
    services().ws_members.delete(caller=caller(), org_slug=org, ws_slug=ws, user_id=user_id)
    return schema(Ok).dump(OK)
