"""HTTP endpoints: scopes (work packages with their own columns and cards) and their views."""
from libs.common.schemas import schema
from ..api import P, api, services, who
from ..shapes import OK, Ok
from .schemas import ScopeIn, ScopeOut, ScopePatch, ViewPatch, ViewsOut


@api.route(P + "/scopes", "POST", body=ScopeIn, response=ScopeOut, status=201, summary="Create a scope")
def create_scope(org, ws, project_id, body):
    return schema(ScopeOut).dump(services().scopes.create(actor=who(org, ws), project_id=project_id, name=body["name"],
                                                    description=body["description"], active_view=body["activeView"]))


@api.route(P + "/scopes", "GET", response=ScopeOut(many=True), summary="Scopes of a project")
def list_scopes(org, ws, project_id):
    return schema(ScopeOut, many=True).dump(services().scopes.list_scopes(actor=who(org, ws), project_id=project_id))


@api.route(P + "/scopes/<scope_id>", "GET", response=ScopeOut, summary="A scope")
def get_scope(org, ws, project_id, scope_id):
    return schema(ScopeOut).dump(services().scopes.read(actor=who(org, ws), project_id=project_id, scope_id=scope_id))


@api.route(P + "/scopes/<scope_id>", "PATCH", body=ScopePatch, response=ScopeOut,
           summary="Change a scope's name, description, order or active view")
def update_scope(org, ws, project_id, scope_id, body):
    return schema(ScopeOut).dump(services().scopes.update(actor=who(org, ws), project_id=project_id, scope_id=scope_id,
                                                    data=body))


@api.route(P + "/scopes/<scope_id>", "DELETE", response=Ok, summary="Delete a scope with its columns and cards")
def delete_scope(org, ws, project_id, scope_id):
    services().scopes.delete(actor=who(org, ws), project_id=project_id, scope_id=scope_id)
    return schema(Ok).dump(OK)


@api.route(P + "/scopes/<scope_id>/views", "GET", response=ViewsOut, summary="Available views and the active one")
def get_views(org, ws, project_id, scope_id):
    return schema(ViewsOut).dump(services().scopes.views(actor=who(org, ws), project_id=project_id, scope_id=scope_id))


@api.route(P + "/scopes/<scope_id>/views", "PATCH", body=ViewPatch, response=ViewsOut,
           summary="Change the active view")
def set_view(org, ws, project_id, scope_id, body):
    return schema(ViewsOut).dump(services().scopes.set_view(actor=who(org, ws), project_id=project_id, scope_id=scope_id,
                                                      active_view=body["activeView"]))
