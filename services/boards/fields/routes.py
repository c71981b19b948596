"""HTTP endpoints: custom fields (text, number, select, multi-select, date, boolean) and the values cards hold."""
from .. import responses as r
from .. import schemas as s
from ..api import C, P, api, svc, who


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

