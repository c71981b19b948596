"""HTTP endpoints: cards and their moves (a rank per card, the dense order per column derived when read)."""
from libs.common.paging import paged
from libs.common.schemas import schema

from ..api import C, P, api, conditional, services, who
from ..shapes import OK, Ok
from .schemas import CardIn, CardOut, CardPatch, CardsQuery


@api.route(P + "/cards", "GET", query=CardsQuery, response=CardOut(many=True),
           summary="Cards of a project (archived excluded unless ?archived=true|all; ?scopeId=; limit+cursor)")
def list_cards(org, ws, project_id, query):
    actor = who(org, ws)
    project = services().projects.get_or_raise(actor=actor, project_id=project_id)

    def build():
        items, next_cursor = services().cards.list_cards(
            actor=actor, project_id=project_id, archived=query["archived"], scope_id=query["scopeId"],
            column_id=query["columnId"], limit=query["limit"], cursor=query["cursor"], project=project)
        return paged(schema(CardOut, many=True).dump(items), next_cursor)
    return conditional(project, build)


@api.route(P + "/columns/<column_id>/cards", "POST", body=CardIn, response=CardOut, status=201,
           summary="Create a card in a column")
def create_card(org, ws, project_id, column_id, body):
    return schema(CardOut).dump(services().cards.create(actor=who(org, ws), project_id=project_id, column_id=column_id,
                                                  data=body))


@api.route(C, "GET", response=CardOut, summary="One card")
def get_card(org, ws, project_id, card_id):
    return schema(CardOut).dump(services().cards.read(actor=who(org, ws), project_id=project_id, card_id=card_id))


@api.route(C, "PATCH", body=CardPatch, response=CardOut,
           summary="Change any field of a card; columnId and/or order move it; null clears nullable fields")
def update_card(org, ws, project_id, card_id, body):
    return schema(CardOut).dump(services().cards.update(actor=who(org, ws), project_id=project_id, card_id=card_id,
                                                  data=body))


@api.route(C, "DELETE", response=Ok, summary="Delete a card for good")
def delete_card(org, ws, project_id, card_id):
    services().cards.delete(actor=who(org, ws), project_id=project_id, card_id=card_id)
    return schema(Ok).dump(OK)
