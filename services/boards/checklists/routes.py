"""HTTP endpoints: the checklist of a card."""
from libs.common.schemas import schema
from ..api import C, api, services, who
from ..shapes import OK, Ok
from .schemas import ChecklistAdd, ChecklistItemOut, ChecklistPatch


@api.route(C + "/checklist", "POST", body=ChecklistAdd, response=ChecklistItemOut, status=201,
           summary="Add a checklist item (≤ 100 per card)")
def add_checklist_item(org, ws, project_id, card_id, body):
    return schema(ChecklistItemOut).dump(services().checklists.create(actor=who(org, ws), project_id=project_id,
                                                                card_id=card_id, title=body["title"], done=body["done"]))


@api.route(C + "/checklist/<item_id>", "PATCH", body=ChecklistPatch, response=ChecklistItemOut,
           summary="Check, uncheck, rename or reorder a checklist item")
def update_checklist_item(org, ws, project_id, card_id, item_id, body):
    return schema(ChecklistItemOut).dump(services().checklists.update(actor=who(org, ws), project_id=project_id,
                                                                card_id=card_id, item_id=item_id, data=body))


@api.route(C + "/checklist/<item_id>", "DELETE", response=Ok, summary="Delete a checklist item")
def delete_checklist_item(org, ws, project_id, card_id, item_id):
    services().checklists.delete(actor=who(org, ws), project_id=project_id, card_id=card_id, item_id=item_id)
    return schema(Ok).dump(OK)
