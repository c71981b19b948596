"""HTTP endpoints: labels (`#RRGGBB`, name unique per project) and the labels of cards."""
from libs.common.schemas import schema
from ..api import C, P, api, services, who
from ..cards.schemas import CardOut
from ..shapes import OK, Ok
from .schemas import LabelIn, LabelOut, LabelPatch


@api.route(P + "/labels", "POST", body=LabelIn, response=LabelOut, status=201,
           summary="Create a label (name unique per project)")
def create_label(org, ws, project_id, body):
    return schema(LabelOut).dump(services().labels.create(actor=who(org, ws), project_id=project_id, name=body["name"],
                                                    color=body["color"]))


@api.route(P + "/labels", "GET", response=LabelOut(many=True), summary="Labels of a project")
def list_labels(org, ws, project_id):
    return schema(LabelOut, many=True).dump(services().labels.list_labels(actor=who(org, ws), project_id=project_id))


@api.route(P + "/labels/<label_id>", "PATCH", body=LabelPatch, response=LabelOut,
           summary="Rename or recolor a label")
def update_label(org, ws, project_id, label_id, body):
    return schema(LabelOut).dump(services().labels.update(actor=who(org, ws), project_id=project_id, label_id=label_id,
                                                    data=body))


@api.route(P + "/labels/<label_id>", "DELETE", response=Ok, summary="Delete a label (removed from every card)")
def delete_label(org, ws, project_id, label_id):
    services().labels.delete(actor=who(org, ws), project_id=project_id, label_id=label_id)
    return schema(Ok).dump(OK)


@api.route(C + "/labels/<label_id>", "POST", response=CardOut, status=201, summary="Put a label on a card")
def add_card_label(org, ws, project_id, card_id, label_id):
    return schema(CardOut).dump(services().card_labels.create(actor=who(org, ws), project_id=project_id, card_id=card_id,
                                                        label_id=label_id))


@api.route(C + "/labels/<label_id>", "DELETE", response=Ok, summary="Take a label off a card")
def remove_card_label(org, ws, project_id, card_id, label_id):
    services().card_labels.delete(actor=who(org, ws), project_id=project_id, card_id=card_id, label_id=label_id)
    return schema(Ok).dump(OK)
