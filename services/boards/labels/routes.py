"""HTTP endpoints: labels (`#RRGGBB`, name unique per project) and the labels of cards."""
from .. import responses as r
from .. import schemas as s
from ..api import C, P, api, svc, who


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

