"""HTTP endpoints: projects, their members, templates, the portfolio, and project import / export."""
from libs.common.schemas import schema
from ..api import P, W, api, conditional, services, who
from ..shapes import OK, Ok
from .schemas import (
    ExportOut,
    ImportIn,
    ImportOut,
    MemberIn,
    MemberOut,
    PortfolioRow,
    ProjectIn,
    ProjectOut,
    ProjectPatch,
    TemplateOut,
)


@api.route(W + "/projects", "POST", body=ProjectIn, response=ProjectOut, status=201, summary="Create a project")
def create_project(org, ws, body):
    return schema(ProjectOut).dump(services().projects.create(actor=who(org, ws), name=body["name"],
                                                        description=body["description"],
                                                        template_id=body["templateId"]))


@api.route(W + "/projects", "GET", response=ProjectOut(many=True), summary="List the workspace's projects")
def list_projects(org, ws):
    return schema(ProjectOut, many=True).dump(services().projects.list_projects(actor=who(org, ws)))


@api.route(W + "/projects/portfolio", "GET", response=PortfolioRow(many=True),
           summary="Portfolio: aggregated metrics per project")
def portfolio(org, ws):
    return schema(PortfolioRow, many=True).dump(services().projects.portfolio(actor=who(org, ws)))


@api.route(W + "/projects/templates", "GET", response=TemplateOut(many=True), summary="Built-in project templates")
def templates(org, ws):
    who(org, ws)
    return schema(TemplateOut, many=True).dump(services().projects.list_templates())


@api.route(W + "/projects/import", "POST", body=ImportIn, response=ImportOut, status=201,
           summary="Import a project from a JSON snapshot (≤ 50 columns, ≤ 500 cards)")
def import_project(org, ws, body):
    return schema(ImportOut).dump(services().transfer.create(actor=who(org, ws), data=body))


@api.route(P, "GET", response=ProjectOut, summary="A project (with its main board's columns)")
def get_project(org, ws, project_id):
    actor = who(org, ws)
    project = services().projects.get_or_raise(actor=actor, project_id=project_id)
    return conditional(project, lambda: schema(ProjectOut).dump(services().projects.with_columns(actor=actor,
                                                                                          project=project)))


@api.route(P, "PATCH", body=ProjectPatch, response=ProjectOut, summary="Rename or describe a project")
def update_project(org, ws, project_id, body):
    return schema(ProjectOut).dump(services().projects.update(actor=who(org, ws), project_id=project_id, data=body))


@api.route(P, "DELETE", response=Ok, summary="Delete a project and everything in it (workspace admin)")
def delete_project(org, ws, project_id):
    services().projects.delete(actor=who(org, ws), project_id=project_id)
    return schema(Ok).dump(OK)


@api.route(P + "/export", "GET", response=ExportOut,
           summary="Export a project as a complete JSON snapshot (version 1)")
def export_project(org, ws, project_id):
    return schema(ExportOut).dump(services().transfer.export(actor=who(org, ws), project_id=project_id))


@api.route(P + "/members", "GET", response=MemberOut(many=True), summary="Members of a project")
def list_members(org, ws, project_id):
    return schema(MemberOut, many=True).dump(services().members.list_members(actor=who(org, ws), project_id=project_id))


@api.route(P + "/members", "POST", body=MemberIn, response=MemberOut, status=201,
           summary="Add a workspace member to the project by email (404 if not a workspace member)")
def add_member(org, ws, project_id, body):
    return schema(MemberOut).dump(services().members.create(actor=who(org, ws), project_id=project_id, email=body["email"]))


@api.route(P + "/members/<user_id>", "DELETE", response=Ok, summary="Remove a member from the project")
def remove_member(org, ws, project_id, user_id):
    services().members.delete(actor=who(org, ws), project_id=project_id, user_id=user_id)
    return schema(Ok).dump(OK)
