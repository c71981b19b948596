"""HTTP endpoints: custom fields (text, number, select, multi-select, date, boolean) and the values cards hold."""
from libs.common.schemas import schema
from ..api import C, P, api, services, who
from ..cards.schemas import CardOut
from ..shapes import OK, Ok
from .schemas import FieldIn, FieldOut, FieldPatch, FieldValuesIn


@api.route(P + "/custom-fields", "POST", body=FieldIn, response=FieldOut, status=201,
           summary="Create a custom field (options required for select / multi-select)")
def create_field(org, ws, project_id, body):
    return schema(FieldOut).dump(services().fields.create(actor=who(org, ws), project_id=project_id, name=body["name"],
                                                    type=body["type"], options=body["options"]))


@api.route(P + "/custom-fields", "GET", response=FieldOut(many=True), summary="Custom fields of a project")
def list_fields(org, ws, project_id):
    return schema(FieldOut, many=True).dump(services().fields.list_fields(actor=who(org, ws), project_id=project_id))


@api.route(P + "/custom-fields/<field_id>", "PATCH", body=FieldPatch, response=FieldOut,
           summary="Change a field's name, type or options")
def update_field(org, ws, project_id, field_id, body):
    return schema(FieldOut).dump(services().fields.update(actor=who(org, ws), project_id=project_id, field_id=field_id,
                                                    data=body))


@api.route(P + "/custom-fields/<field_id>", "DELETE", response=Ok,
           summary="Delete a field (its values are removed from every card)")
def delete_field(org, ws, project_id, field_id):
    services().fields.delete(actor=who(org, ws), project_id=project_id, field_id=field_id)
    return schema(Ok).dump(OK)


@api.route(C + "/custom-fields", "PATCH", body=FieldValuesIn, response=CardOut,
           summary="Set a card's custom-field values ({values: {fieldId: value|null}})")
def set_field_values(org, ws, project_id, card_id, body):
    return schema(CardOut).dump(services().field_values.update(actor=who(org, ws), project_id=project_id, card_id=card_id,
                                                         values=body["values"]))
