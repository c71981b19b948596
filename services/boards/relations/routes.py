"""HTTP endpoints: relations between two cards of a project, stored once and shown from each card's side."""
from libs.common.schemas import schema
from ..api import C, P, api, services, who
from ..shapes import OK, Ok
from .schemas import RelationIn, RelationOut


@api.route(C + "/relations", "POST", body=RelationIn, response=RelationOut, status=201,
           summary="Relate two cards of the project")
def create_relation(org, ws, project_id, card_id, body):
    return schema(RelationOut).dump(services().relations.create(actor=who(org, ws), project_id=project_id, card_id=card_id,
                                                          target_card_id=body["targetCardId"], type=body["type"]))


@api.route(C + "/relations", "GET", response=RelationOut(many=True),
           summary="Relations of a card, each seen from this card's side")
def list_relations(org, ws, project_id, card_id):
    return schema(RelationOut, many=True).dump(services().relations.list_relations(actor=who(org, ws), project_id=project_id,
                                                                           card_id=card_id))


@api.route(P + "/relations/<relation_id>", "DELETE", response=Ok, summary="Delete a relation")
def delete_relation(org, ws, project_id, relation_id):
    services().relations.delete(actor=who(org, ws), project_id=project_id, relation_id=relation_id)
    return schema(Ok).dump(OK)
