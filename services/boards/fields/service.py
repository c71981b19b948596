"""Custom fields (text, number, select, multi-select, date, boolean) and the values cards hold.

Mixed into `services.boards.service.BoardsService` (its store, outbox, client, bus and lookups).
"""
from __future__ import annotations

from marshmallow import ValidationError

from libs.common.errors import BadRequest, NotFound
from libs.common.mongo import is_id, iso, new_id, now, unit_of_work

from .. import activity as act
from ..activity import Actor
from ..domain import validate_value
from ..schemas import check_options


class FieldsMixin:
    @staticmethod
    def field_out(field: dict) -> dict:
        return {"id": field["id"], "projectId": field["projectId"], "name": field["name"], "type": field["type"],
                "options": list(field.get("options") or []), "createdAt": iso(field["createdAt"])}

    def get_field_or_404(self, actor: Actor, project: dict, field_id: str) -> dict:
        field = self.store.get_field(actor.workspace_id, project["id"], field_id) if is_id(field_id) else None
        if not field:
            raise NotFound("Custom field not found")
        return field

    def list_fields(self, *, actor: Actor, project_id: str) -> list[dict]:
        project = self.get_project_or_404(actor, project_id)
        return [self.field_out(f) for f in self.store.list_fields(actor.workspace_id, project["id"])]

    def create_field(self, *, actor: Actor, project_id: str, name: str, type: str, options=None) -> dict:
        project = self.get_project_or_404(actor, project_id)
        doc = {"id": new_id(), "orgId": project.get("orgId"), "workspaceId": actor.workspace_id,
               "projectId": project["id"], "name": name, "type": type,
               "options": list(options or []) if type in ("select", "multi-select") else [], "createdAt": now()}
        return self.field_out(self.store.insert_field(doc))

    def update_field(self, *, actor: Actor, project_id: str, field_id: str, data: dict) -> dict:
        """Rename, retype or change options; card values the new definition no longer accepts are cleared."""
        project = self.get_project_or_404(actor, project_id)
        field = self.get_field_or_404(actor, project, field_id)
        new = dict(field)
        new.update({k: v for k, v in data.items() if k in ("name", "type", "options")})
        if new["type"] not in ("select", "multi-select"):
            new["options"] = []
        try:
            check_options(new["type"], new.get("options"), required=True)
        except ValidationError as exc:
            raise BadRequest("Options are required (and unique) for select and multi-select fields",
                             details=exc.normalized_messages()) from exc
        changes = {k: new[k] for k in ("name", "type", "options") if new.get(k) != field.get(k)}
        if not changes:
            return self.field_out(field)
        invalid = []
        if "type" in changes or "options" in changes:
            for card in self.store.cards_with_field(project["id"], field["id"]):
                try:
                    validate_value(new, card["customFields"][field["id"]])
                except BadRequest:
                    invalid.append(card["id"])
        with unit_of_work(self.client) as s:
            updated = self.store.update_field(actor.workspace_id, field["id"], changes, session=s)
            if invalid:
                self.store.unset_field_values(project["id"], field["id"], invalid, session=s)
        return self.field_out(updated)

    def delete_field(self, *, actor: Actor, project_id: str, field_id: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        field = self.get_field_or_404(actor, project, field_id)
        with unit_of_work(self.client) as s:
            self.store.delete_field(actor.workspace_id, project["id"], field["id"], session=s)
        return {"ok": True}

    def set_field_values(self, *, actor: Actor, project_id: str, card_id: str, values: dict) -> dict:
        """`values` = {fieldId: value | null}; null clears; returns the card."""
        project = self.get_project_or_404(actor, project_id)
        card = self.get_card_or_404(actor, project, card_id)
        fields = {f["id"]: f for f in self.store.list_fields(actor.workspace_id, project["id"])}
        before = dict(card.get("customFields") or {})
        after = dict(before)
        for field_id, value in values.items():
            if field_id not in fields:
                raise BadRequest(f"Unknown custom field '{field_id}'")
            if value is None:
                after.pop(field_id, None)
            else:
                after[field_id] = validate_value(fields[field_id], value)
        if after == before:
            return self.card_out(self._placed(actor, card))
        with unit_of_work(self.client) as s:
            # the whole map is $set: the embedded stand-in keeps a nested value's type (a top-level
            # `$set` of True would come back as 1)
            updated = self.store.update_card(actor.workspace_id, card["id"],
                                             set_={"customFields": after, "updatedAt": now()}, session=s)
            self.outbox.add(act.activity("card_updated", actor=actor, project=project, card=updated,
                                         changes={"customFields": {"before": before, "after": after}}), session=s)
        return self.card_out(self._placed(actor, updated))
