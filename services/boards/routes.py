"""The boards HTTP endpoints: thin handlers — load through the schema, call the service, return.

Importing this module registers every endpoint (the core's and the attachments module's) on `api`.
"""
from flask import jsonify

from libs.common.context import workspace_caller

from . import schemas as s
from .activity import Actor
from .api import P, W, api
from .attachments import routes as _attachments  # noqa: F401 - registers the attachment endpoints
from .context import boards
from . import responses as r

C = P + "/cards/<card_id>"


def svc():
    return boards().extras["service"]


def who(org: str, ws: str) -> Actor:
    return Actor.from_caller(workspace_caller(org, ws))


def paged(items: list, next_cursor: str | None):
    response = jsonify(items)
    if next_cursor:
        response.headers["X-Next-Cursor"] = next_cursor
    return response


# ---------------------------------------------------------------- projects
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


@api.route(W + "/projects/import", "POST", body=s.ImportIn, response=r.ProjectOut, status=201,
           summary="Import a project from a JSON snapshot (≤ 50 columns, ≤ 500 cards)")
def import_project(org, ws, body):
    return svc().import_project(actor=who(org, ws), data=body)


@api.route(P, "GET", response=r.ProjectOut, summary="A project (with its main board's columns)")
def get_project(org, ws, project_id):
    return svc().get_project(actor=who(org, ws), project_id=project_id)


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


# ---------------------------------------------------------------- project members
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


# ---------------------------------------------------------------- columns
@api.route(P + "/columns", "POST", body=s.ColumnIn, response=r.ColumnOut, status=201, summary="Create a column")
def create_column(org, ws, project_id, body):
    return svc().create_column(actor=who(org, ws), project_id=project_id, name=body["name"], scope_id=body["scopeId"],
                               order=body["order"])


@api.route(P + "/columns", "GET", query=s.ColumnsQuery, response=r.ColumnOut(many=True),
           summary="Columns of a project by position (?scopeId= one board; main|null = the main board)")
def list_columns(org, ws, project_id, query):
    return svc().list_columns(actor=who(org, ws), project_id=project_id, scope_id=query["scopeId"])


@api.route(P + "/columns/<column_id>", "PATCH", body=s.ColumnPatch, response=r.ColumnOut,
           summary="Rename or reorder a column (orders stay dense)")
def update_column(org, ws, project_id, column_id, body):
    return svc().update_column(actor=who(org, ws), project_id=project_id, column_id=column_id, data=body)


@api.route(P + "/columns/<column_id>", "DELETE", response=r.Ok, summary="Delete an empty column (409 if it holds cards)")
def delete_column(org, ws, project_id, column_id):
    return svc().delete_column(actor=who(org, ws), project_id=project_id, column_id=column_id)


# ---------------------------------------------------------------- cards
@api.route(P + "/cards", "GET", query=s.CardsQuery, response=r.CardOut(many=True),
           summary="Cards of a project (archived excluded unless ?archived=true|all; ?scopeId=; limit+cursor)")
def list_cards(org, ws, project_id, query):
    items, next_cursor = svc().list_cards(actor=who(org, ws), project_id=project_id, archived=query["archived"],
                                          scope_id=query["scopeId"], column_id=query["columnId"],
                                          limit=query["limit"], cursor=query["cursor"])
    return paged(items, next_cursor)


@api.route(P + "/columns/<column_id>/cards", "POST", body=s.CardIn, response=r.CardOut, status=201,
           summary="Create a card in a column")
def create_card(org, ws, project_id, column_id, body):
    return svc().create_card(actor=who(org, ws), project_id=project_id, column_id=column_id, data=body)


@api.route(C, "GET", response=r.CardOut, summary="One card")
def get_card(org, ws, project_id, card_id):
    return svc().get_card(actor=who(org, ws), project_id=project_id, card_id=card_id)


@api.route(C, "PATCH", body=s.CardPatch, response=r.CardOut,
           summary="Change any field of a card; columnId and/or order move it; null clears nullable fields")
def update_card(org, ws, project_id, card_id, body):
    return svc().update_card(actor=who(org, ws), project_id=project_id, card_id=card_id, data=body)


@api.route(C, "DELETE", response=r.Ok, summary="Delete a card for good")
def delete_card(org, ws, project_id, card_id):
    return svc().delete_card(actor=who(org, ws), project_id=project_id, card_id=card_id)


# ---------------------------------------------------------------- comments
@api.route(C + "/comments", "GET", query=s.PageQuery, response=r.CommentOut(many=True),
           summary="Comments of a card, oldest first")
def list_comments(org, ws, project_id, card_id, query):
    items, next_cursor = svc().list_comments(actor=who(org, ws), project_id=project_id, card_id=card_id,
                                             limit=query["limit"], cursor=query["cursor"])
    return paged(items, next_cursor)


@api.route(C + "/comments", "POST", body=s.CommentIn, response=r.CommentOut, status=201, summary="Comment on a card")
def create_comment(org, ws, project_id, card_id, body):
    return svc().create_comment(actor=who(org, ws), project_id=project_id, card_id=card_id, content=body["content"])


@api.route(C + "/comments/<comment_id>", "DELETE", response=r.Ok,
           summary="Delete a comment (its author or a workspace admin)")
def delete_comment(org, ws, project_id, card_id, comment_id):
    return svc().delete_comment(actor=who(org, ws), project_id=project_id, card_id=card_id, comment_id=comment_id)


# ---------------------------------------------------------------- scopes and views
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


# ---------------------------------------------------------------- labels
@api.route(P + "/labels", "POST", body=s.LabelIn, response=r.LabelOut, status=201,
           summary="Create a label (name unique per project)")
def create_label(org, ws, project_id, body):
    return svc().create_label(actor=who(org, ws), project_id=project_id, name=body["name"], color=body["color"])


@api.route(P + "/labels", "GET", response=r.LabelOut(many=True), summary="Labels of a project")
def list_labels(org, ws, project_id):
    return svc().list_labels(actor=who(org, ws), project_id=project_id)


@api.route(P + "/labels/<label_id>", "PATCH", body=s.LabelPatch, response=r.LabelOut,
           summary="Rename or recolor a label")
def update_label(org, ws, project_id, label_id, body):
    return svc().update_label(actor=who(org, ws), project_id=project_id, label_id=label_id, data=body)


@api.route(P + "/labels/<label_id>", "DELETE", response=r.Ok, summary="Delete a label (removed from every card)")
def delete_label(org, ws, project_id, label_id):
    return svc().delete_label(actor=who(org, ws), project_id=project_id, label_id=label_id)


@api.route(C + "/labels/<label_id>", "POST", response=r.CardOut, status=201, summary="Put a label on a card")
def add_card_label(org, ws, project_id, card_id, label_id):
    return svc().add_card_label(actor=who(org, ws), project_id=project_id, card_id=card_id, label_id=label_id)


@api.route(C + "/labels/<label_id>", "DELETE", response=r.Ok, summary="Take a label off a card")
def remove_card_label(org, ws, project_id, card_id, label_id):
    return svc().remove_card_label(actor=who(org, ws), project_id=project_id, card_id=card_id, label_id=label_id)


# ---------------------------------------------------------------- custom fields
@api.route(P + "/custom-fields", "POST", body=s.FieldIn, response=r.FieldOut, status=201,
           summary="Create a custom field (options required for select / multi-select)")
def create_field(org, ws, project_id, body):
    return svc().create_field(actor=who(org, ws), project_id=project_id, name=body["name"], type=body["type"],
                              options=body["options"])


@api.route(P + "/custom-fields", "GET", response=r.FieldOut(many=True), summary="Custom fields of a project")
def list_fields(org, ws, project_id):
    return svc().list_fields(actor=who(org, ws), project_id=project_id)


@api.route(P + "/custom-fields/<field_id>", "PATCH", body=s.FieldPatch, response=r.FieldOut,
           summary="Change a field's name, type or options")
def update_field(org, ws, project_id, field_id, body):
    return svc().update_field(actor=who(org, ws), project_id=project_id, field_id=field_id, data=body)


@api.route(P + "/custom-fields/<field_id>", "DELETE", response=r.Ok,
           summary="Delete a field (its values are removed from every card)")
def delete_field(org, ws, project_id, field_id):
    return svc().delete_field(actor=who(org, ws), project_id=project_id, field_id=field_id)


@api.route(C + "/custom-fields", "PATCH", body=s.FieldValuesIn, response=r.CardOut,
           summary="Set a card's custom-field values ({values: {fieldId: value|null}})")
def set_field_values(org, ws, project_id, card_id, body):
    return svc().set_field_values(actor=who(org, ws), project_id=project_id, card_id=card_id, values=body["values"])


# ---------------------------------------------------------------- relations
@api.route(C + "/relations", "POST", body=s.RelationIn, response=r.RelationOut, status=201,
           summary="Relate two cards of the project")
def create_relation(org, ws, project_id, card_id, body):
    return svc().create_relation(actor=who(org, ws), project_id=project_id, card_id=card_id,
                                 target_card_id=body["targetCardId"], type=body["type"])


@api.route(C + "/relations", "GET", response=r.RelationOut(many=True),
           summary="Relations of a card, each seen from this card's side")
def list_relations(org, ws, project_id, card_id):
    return svc().list_relations(actor=who(org, ws), project_id=project_id, card_id=card_id)


@api.route(P + "/relations/<relation_id>", "DELETE", response=r.Ok, summary="Delete a relation")
def delete_relation(org, ws, project_id, relation_id):
    return svc().delete_relation(actor=who(org, ws), project_id=project_id, relation_id=relation_id)


# ---------------------------------------------------------------- checklists
@api.route(C + "/checklist", "POST", body=s.ChecklistAdd, response=r.ChecklistItemOut, status=201,
           summary="Add a checklist item (≤ 100 per card)")
def add_checklist_item(org, ws, project_id, card_id, body):
    return svc().add_checklist_item(actor=who(org, ws), project_id=project_id, card_id=card_id, title=body["title"],
                                    done=body["done"])


@api.route(C + "/checklist/<item_id>", "PATCH", body=s.ChecklistPatch, response=r.ChecklistItemOut,
           summary="Check, uncheck, rename or reorder a checklist item")
def update_checklist_item(org, ws, project_id, card_id, item_id, body):
    return svc().update_checklist_item(actor=who(org, ws), project_id=project_id, card_id=card_id, item_id=item_id,
                                       data=body)


@api.route(C + "/checklist/<item_id>", "DELETE", response=r.Ok, summary="Delete a checklist item")
def delete_checklist_item(org, ws, project_id, card_id, item_id):
    return svc().delete_checklist_item(actor=who(org, ws), project_id=project_id, card_id=card_id, item_id=item_id)
