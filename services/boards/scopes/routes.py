"""HTTP endpoints: scopes (work packages with their own columns and cards) and their views."""
from .. import responses as r
from .. import schemas as s
from ..api import P, api, svc, who


@api.route(P + "/scopes", "POST", body=s.ScopeIn, response=r.ScopeOut, status=201, summary="Create a scope")
def create_scope(org, ws, project_id, body):
    return svc().create_scope(actor=who(org, ws), project_id=project_id, name=body["name"],
                              description=body["description"], active_view=body["activeView"])


@api.route(P + "/scopes", "GET", response=r.ScopeOut(many=True), summary="Scopes of a project")
def list_scopes(org, ws, project_id):
    return svc().list_scopes(actor=who(org, ws), project_id=project_id)


@api.route(P + "/scopes/<scope_id>", "GET", response=r.ScopeOut, summary="A scope")
def get_scope(org, ws, project_id, scope_id):
    return svc().get_scope(actor=who(org, ws), project_id=project_id, scope_id=scope_id)


@api.route(P + "/scopes/<scope_id>", "PATCH", body=s.ScopePatch, response=r.ScopeOut,
           summary="Change a scope's name, description, order or active view")
def update_scope(org, ws, project_id, scope_id, body):
    return svc().update_scope(actor=who(org, ws), project_id=project_id, scope_id=scope_id, data=body)


@api.route(P + "/scopes/<scope_id>", "DELETE", response=r.Ok, summary="Delete a scope with its columns and cards")
def delete_scope(org, ws, project_id, scope_id):
    return svc().delete_scope(actor=who(org, ws), project_id=project_id, scope_id=scope_id)


@api.route(P + "/scopes/<scope_id>/views", "GET", response=r.ViewsOut, summary="Available views and the active one")
def get_views(org, ws, project_id, scope_id):
    return svc().get_views(actor=who(org, ws), project_id=project_id, scope_id=scope_id)


@api.route(P + "/scopes/<scope_id>/views", "PATCH", body=s.ViewPatch, response=r.ViewsOut,
           summary="Change the active view")
def set_view(org, ws, project_id, scope_id, body):
    return svc().set_view(actor=who(org, ws), project_id=project_id, scope_id=scope_id,
                          active_view=body["activeView"])

