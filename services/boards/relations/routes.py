"""HTTP endpoints: relations between two cards of a project, stored once and shown from each card's side."""
from .. import responses as r
from .. import schemas as s
from ..api import C, P, api, svc, who


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

