"""HTTP endpoints: columns: dense order per board (the main board or one scope); a column holding cards is not deleted."""
from .. import responses as r
from .. import schemas as s
from ..api import P, api, conditional, svc, who


@api.route(P + "/columns", "POST", body=s.ColumnIn, response=r.ColumnOut, status=201, summary="Create a column")
def create_column(org, ws, project_id, body):
    return svc().create_column(actor=who(org, ws), project_id=project_id, name=body["name"], scope_id=body["scopeId"],
                               order=body["order"])


@api.route(P + "/columns", "GET", query=s.ColumnsQuery, response=r.ColumnOut(many=True),
           summary="Columns of a project by position (?scopeId= one board; main|null = the main board)")
def list_columns(org, ws, project_id, query):
    actor = who(org, ws)
    project = svc().get_project_or_404(actor, project_id)
    return conditional(project, lambda: svc().list_columns(actor=actor, project_id=project_id,
                                                           scope_id=query["scopeId"], project=project))


@api.route(P + "/columns/<column_id>", "PATCH", body=s.ColumnPatch, response=r.ColumnOut,
           summary="Rename or reorder a column (orders stay dense)")
def update_column(org, ws, project_id, column_id, body):
    return svc().update_column(actor=who(org, ws), project_id=project_id, column_id=column_id, data=body)


@api.route(P + "/columns/<column_id>", "DELETE", response=r.Ok, summary="Delete an empty column (409 if it holds cards)")
def delete_column(org, ws, project_id, column_id):
    return svc().delete_column(actor=who(org, ws), project_id=project_id, column_id=column_id)

