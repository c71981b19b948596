"""HTTP endpoints: columns: dense order per board (the main board or one scope); a column holding cards is not deleted."""
from libs.common.schemas import schema
from ..api import P, api, conditional, services, who
from ..shapes import OK, Ok
from .schemas import ColumnIn, ColumnOut, ColumnPatch, ColumnsQuery


@api.route(P + "/columns", "POST", body=ColumnIn, response=ColumnOut, status=201, summary="Create a column")
def create_column(org, ws, project_id, body):
    return schema(ColumnOut).dump(services().columns.create(actor=who(org, ws), project_id=project_id, name=body["name"],
                                                      scope_id=body["scopeId"], order=body["order"]))


@api.route(P + "/columns", "GET", query=ColumnsQuery, response=ColumnOut(many=True),
           summary="Columns of a project by position (?scopeId= one board; main|null = the main board)")
def list_columns(org, ws, project_id, query):
    actor = who(org, ws)
    project = services().projects.get_or_raise(actor=actor, project_id=project_id)
    return conditional(project, lambda: schema(ColumnOut, many=True).dump(services().columns.list_columns(
        actor=actor, project_id=project_id, scope_id=query["scopeId"], project=project)))


@api.route(P + "/columns/<column_id>", "PATCH", body=ColumnPatch, response=ColumnOut,
           summary="Rename or reorder a column (orders stay dense)")
def update_column(org, ws, project_id, column_id, body):
    return schema(ColumnOut).dump(services().columns.update(actor=who(org, ws), project_id=project_id, column_id=column_id,
                                                      data=body))


@api.route(P + "/columns/<column_id>", "DELETE", response=Ok, summary="Delete an empty column (409 if it holds cards)")
def delete_column(org, ws, project_id, column_id):
    services().columns.delete(actor=who(org, ws), project_id=project_id, column_id=column_id)
    return schema(Ok).dump(OK)
