"""Custom fields (text, number, select, multi-select, date, boolean) and the values cards hold
(`cards.customFields`: {fieldId: value})."""
from __future__ import annotations

from marshmallow import ValidationError

from libs.common.errors import BadRequest, NotFound
from libs.common.mongo import is_id, new_id, now

from .. import activity as act
from ..activity import Actor
from ..cards.service import CardsService
from ..cards.storage import CardStore
from ..domain import validate_value
from ..projects.service import ProjectsService
from ..projects.storage import ProjectStore
from ..transactions import Transactions
from .schemas import check_options
from .storage import FieldStore


class FieldsService:
    def __init__(self, *, store: FieldStore, projects: ProjectsService, project_store: ProjectStore,
                 card_store: CardStore, tx: Transactions):
        self.store = store
        self.projects = projects
        self.project_store = project_store
        self.card_store = card_store
        self.tx = tx

    def get(self, *, actor: Actor, project: dict, field_id: str) -> dict | None:
        return self.store.get(actor.workspace_id, project["id"], field_id) if is_id(field_id) else None

    def get_or_raise(self, *, actor: Actor, project: dict, field_id: str) -> dict:
        field = self.get(actor=actor, project=project, field_id=field_id)
        if not field:
            raise NotFound("Custom field not found")
        return field

    def list_fields(self, *, actor: Actor, project_id: str) -> list[dict]:
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        return self.store.list(actor.workspace_id, project["id"])

    def create(self, *, actor: Actor, project_id: str, name: str, type: str, options=None) -> dict:
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        doc = {"id": new_id(), "orgId": project.get("orgId"), "workspaceId": actor.workspace_id,
               "projectId": project["id"], "name": name, "type": type,
               "options": list(options or []) if type in ("select", "multi-select") else [], "createdAt": now()}
        return self.store.insert(doc)

    def update(self, *, actor: Actor, project_id: str, field_id: str, data: dict) -> dict:
        """Rename, retype or change options; card values the new definition no longer accepts are cleared."""
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        field = self.get_or_raise(actor=actor, project=project, field_id=field_id)
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
            return field
        invalid = []
        if "type" in changes or "options" in changes:
            for card in self.card_store.with_field(project["id"], field["id"]):
                try:
                    validate_value(new, card["customFields"][field["id"]])
                except BadRequest:
                    invalid.append(card["id"])
        with self.tx.unit() as s:
            updated = self.store.update(actor.workspace_id, field["id"], changes, session=s)
            if invalid:
                self.card_store.unset_field(project["id"], field["id"], invalid, session=s)
                self.project_store.bump(project["id"], session=s)
        return updated

    def delete(self, *, actor: Actor, project_id: str, field_id: str) -> None:
        """The field goes, and its values with it from every card."""
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        field = self.get_or_raise(actor=actor, project=project, field_id=field_id)
        with self.tx.unit() as s:
            self.store.delete(actor.workspace_id, field["id"], session=s)
            self.card_store.unset_field(project["id"], field["id"], session=s)
            self.project_store.bump(project["id"], session=s)


class FieldValuesService:
    """A card's custom-field values: `card_updated` with the before/after maps."""

    def __init__(self, *, store: FieldStore, projects: ProjectsService, cards: CardsService, tx: Transactions, outbox):
        self.store = store
        self.projects = projects
        self.cards = cards
        self.tx = tx
        self.outbox = outbox

    def update(self, *, actor: Actor, project_id: str, card_id: str, values: dict) -> dict:
        """`values` = {fieldId: value | null}; null clears; returns the card."""
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        card = self.cards.get_or_raise(actor=actor, project=project, card_id=card_id)
        fields = {f["id"]: f for f in self.store.list(actor.workspace_id, project["id"])}
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
            return self.cards.placed(actor=actor, card=card)
        with self.tx.unit() as s:
            # the whole map is $set: the embedded stand-in keeps a nested value's type (a top-level
            # `$set` of True would come back as 1)
            updated = self.cards.write(actor=actor, card_id=card["id"], set_={"customFields": after, "updatedAt": now()},
                                       session=s)
            self.outbox.add(act.activity("card_updated", actor=actor, project=project, card=updated,
                                         changes={"customFields": {"before": before, "after": after}}), session=s)
        return self.cards.placed(actor=actor, card=updated)
