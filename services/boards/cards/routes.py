"""HTTP endpoints: cards and their moves (dense order per column, one `$inc` per shifted range), comments, checklists."""
from libs.common.paging import paged

from .. import responses as r
from .. import schemas as s
from ..api import C, P, api, conditional, svc, who


@api.route(P + "/cards", "GET", query=s.CardsQuery, response=r.CardOut(many=True),
           summary="Cards of a project (archived excluded unless ?archived=true|all; ?scopeId=; limit+cursor)")
def list_cards(org, ws, project_id, query):
    actor = who(org, ws)
    project = svc().get_project_or_404(actor, project_id)

    def build():
        items, next_cursor = svc().list_cards(actor=actor, project_id=project_id, archived=query["archived"],
                                              scope_id=query["scopeId"], column_id=query["columnId"],
                                              limit=query["limit"], cursor=query["cursor"], project=project)
        return paged(items, next_cursor)
    return conditional(project, build)


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

