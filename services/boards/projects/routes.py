"""HTTP endpoints: projects, their members, templates, the portfolio, and project import / export."""
from .. import responses as r
from .. import schemas as s
from ..api import P, W, api, conditional, svc, who


@api.route(W + "/projects", "POST", body=s.ProjectIn, response=r.ProjectOut, status=201, summary="Create a project")
def create_project(org, ws, body):
    return svc().create_project(actor=who(org, ws), name=body["name"], description=body["description"],
                                template_id=body["templateId"])


@api.route(W + "/projects", "GET", response=r.ProjectOut(many=True), summary="List the workspace's projects")
def list_projects(org, ws):
    return svc().list_projects(actor=who(org, ws))


@api.route(W + "/projects/portfolio", "GET", response=r.PortfolioRow(many=True),
           summary="Portfolio: aggregated metrics per project")
def portfolio(org, ws):
    return svc().portfolio(actor=who(org, ws))


@api.route(W + "/projects/templates", "GET", response=r.TemplateOut(many=True), summary="Built-in project templates")
def templates(org, ws):
    who(org, ws)
    return svc().list_templates()


@api.route(W + "/projects/import", "POST", body=s.ImportIn, response=r.ImportOut, status=201,
           summary="Import a project from a JSON snapshot (≤ 50 columns, ≤ 500 cards)")
def import_project(org, ws, body):
    return svc().import_project(actor=who(org, ws), data=body)


@api.route(P, "GET", response=r.ProjectOut, summary="A project (with its main board's columns)")
def get_project(org, ws, project_id):
    actor = who(org, ws)
    project = svc().get_project_or_404(actor, project_id)
    return conditional(project, lambda: svc().get_project(actor=actor, project_id=project_id, project=project))


@api.route(P, "PATCH", body=s.ProjectPatch, response=r.ProjectOut, summary="Rename or describe a project")
def update_project(org, ws, project_id, body):
    return svc().update_project(actor=who(org, ws), project_id=project_id, data=body)


@api.route(P, "DELETE", response=r.Ok, summary="Delete a project and everything in it (workspace admin)")
def delete_project(org, ws, project_id):
    return svc().delete_project(actor=who(org, ws), project_id=project_id)


@api.route(P + "/export", "GET", response=r.ExportOut,
           summary="Export a project as a complete JSON snapshot (version 1)")
def export_project(org, ws, project_id):
    return svc().export_project(actor=who(org, ws), project_id=project_id)


@api.route(P + "/members", "GET", response=r.MemberOut(many=True), summary="Members of a project")
def list_members(org, ws, project_id):
    return svc().list_members(actor=who(org, ws), project_id=project_id)


@api.route(P + "/members", "POST", body=s.MemberIn, response=r.MemberOut, status=201,
           summary="Add a workspace member to the project by email (404 if not a workspace member)")
def add_member(org, ws, project_id, body):
    return svc().add_member(actor=who(org, ws), project_id=project_id, email=body["email"])


@api.route(P + "/members/<user_id>", "DELETE", response=r.Ok, summary="Remove a member from the project")
def remove_member(org, ws, project_id, user_id):
    return svc().remove_member(actor=who(org, ws), project_id=project_id, user_id=user_id)

