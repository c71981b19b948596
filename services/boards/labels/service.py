"""Labels (`#RRGGBB`, name unique per project), and the labels of cards (`CardLabelsService`)."""
from __future__ import annotations

from libs.common.errors import BadRequest, Conflict, NotFound
from libs.common.mongo import is_id, new_id, now

from .. import activity as act
from ..activity import Actor
from ..cards.storage import CardStore
from ..projects.service import ProjectsService
from ..projects.storage import ProjectStore
from ..storage import Duplicate
from ..transactions import Transactions
from .storage import LabelStore

TAKEN = "A label with this name already exists in the project"


class LabelsService:
    def __init__(self, *, store: LabelStore, projects: ProjectsService, project_store: ProjectStore, cards: CardStore,
                 tx: Transactions):
        self.store = store
        self.projects = projects
        self.project_store = project_store
        self.cards = cards
        self.tx = tx

    def get(self, *, actor: Actor, project: dict, label_id: str) -> dict | None:
        return self.store.get(actor.workspace_id, project["id"], label_id) if is_id(label_id) else None

    def get_or_raise(self, *, actor: Actor, project: dict, label_id: str) -> dict:
        label = self.get(actor=actor, project=project, label_id=label_id)
        if not label:
            raise NotFound("Label not found")
        return label

    def checked_ids(self, *, actor: Actor, project: dict, label_ids: list) -> list[str]:
        """`label_ids` without repeats; 400 if one is not a label of the project."""
        ids = list(dict.fromkeys(label_ids))
        if not ids:
            return []
        known = {label["id"] for label in self.store.list(actor.workspace_id, project["id"])}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise BadRequest(f"Unknown label id(s): {', '.join(map(str, unknown))}")
        return ids

    def list_labels(self, *, actor: Actor, project_id: str) -> list[dict]:
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        return self.store.list(actor.workspace_id, project["id"])

    def create(self, *, actor: Actor, project_id: str, name: str, color: str) -> dict:
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        if self.store.by_name(project["id"], name):
            raise Conflict(TAKEN)
        doc = {"id": new_id(), "orgId": project.get("orgId"), "workspaceId": actor.workspace_id,
               "projectId": project["id"], "name": name, "color": color.upper(), "createdAt": now()}
        try:
            return self.store.insert(doc)
        except Duplicate as exc:
            raise Conflict(TAKEN) from exc

    def update(self, *, actor: Actor, project_id: str, label_id: str, data: dict) -> dict:
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        label = self.get_or_raise(actor=actor, project=project, label_id=label_id)
        changes = dict(data)
        if "color" in changes:
            changes["color"] = changes["color"].upper()
        if "name" in changes and changes["name"] != label["name"]:
            other = self.store.by_name(project["id"], changes["name"])
            if other and other["id"] != label["id"]:
                raise Conflict(TAKEN)
        if not changes:
            return label
        try:
            return self.store.update(actor.workspace_id, label["id"], changes)
        except Duplicate as exc:
            raise Conflict(TAKEN) from exc

    def delete(self, *, actor: Actor, project_id: str, label_id: str) -> None:
        """The label goes, and with it from every card that had it."""
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        label = self.get_or_raise(actor=actor, project=project, label_id=label_id)
        with self.tx.unit() as s:
            self.store.delete(actor.workspace_id, label["id"], session=s)
            self.cards.pull_label(project["id"], label["id"], session=s)
            self.project_store.bump(project["id"], session=s)


class CardLabelsService:
    """Putting a label on a card and taking it off (`card_updated` with the labelIds change)."""

    def __init__(self, *, labels: LabelsService, projects: ProjectsService, cards, tx: Transactions, outbox):
        self.labels = labels
        self.projects = projects
        self.cards = cards        # CardsService
        self.tx = tx
        self.outbox = outbox

    def _context(self, actor, project_id, card_id, label_id):
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        card = self.cards.get_or_raise(actor=actor, project=project, card_id=card_id)
        label = self.labels.get_or_raise(actor=actor, project=project, label_id=label_id)
        return project, card, label

    def create(self, *, actor: Actor, project_id: str, card_id: str, label_id: str) -> dict:
        """Returns the card."""
        project, card, label = self._context(actor, project_id, card_id, label_id)
        if label["id"] in (card.get("labelIds") or []):
            return self.cards.placed(actor=actor, card=card)
        return self._set(actor, project, card, list(card.get("labelIds") or []) + [label["id"]])

    def delete(self, *, actor: Actor, project_id: str, card_id: str, label_id: str) -> None:
        project, card, label = self._context(actor, project_id, card_id, label_id)
        if label["id"] in (card.get("labelIds") or []):
            self._set(actor, project, card, [i for i in card.get("labelIds") or [] if i != label["id"]])

    def _set(self, actor, project, card, label_ids) -> dict:
        with self.tx.unit() as s:
            updated = self.cards.write(actor=actor, card_id=card["id"], set_={"labelIds": label_ids, "updatedAt": now()},
                                       session=s)
            self.outbox.add(act.activity("card_updated", actor=actor, project=project, card=updated, changes={
                "labelIds": {"before": card.get("labelIds") or [], "after": label_ids}}), session=s)
        return self.cards.placed(actor=actor, card=updated)
