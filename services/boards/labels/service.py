"""Labels (`#RRGGBB`, name unique per project) and the labels of cards.

Mixed into `services.boards.service.BoardsService` (its store, outbox, client, bus and lookups).
"""
from __future__ import annotations

from libs.common.errors import BadRequest, Conflict, NotFound
from libs.common.mongo import is_id, iso, new_id, now, unit_of_work

from .. import activity as act
from ..activity import Actor
from ..storage import Duplicate


class LabelsMixin:
    @staticmethod
    def label_out(label: dict) -> dict:
        return {"id": label["id"], "projectId": label["projectId"], "name": label["name"], "color": label["color"],
                "createdAt": iso(label["createdAt"])}

    def _checked_label_ids(self, actor: Actor, project: dict, label_ids: list) -> list[str]:
        ids = list(dict.fromkeys(label_ids))
        if not ids:
            return []
        known = {label["id"] for label in self.store.list_labels(actor.workspace_id, project["id"])}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise BadRequest(f"Unknown label id(s): {', '.join(map(str, unknown))}")
        return ids

    def get_label_or_404(self, actor: Actor, project: dict, label_id: str) -> dict:
        label = self.store.get_label(actor.workspace_id, project["id"], label_id) if is_id(label_id) else None
        if not label:
            raise NotFound("Label not found")
        return label

    def list_labels(self, *, actor: Actor, project_id: str) -> list[dict]:
        project = self.get_project_or_404(actor, project_id)
        return [self.label_out(x) for x in self.store.list_labels(actor.workspace_id, project["id"])]

    def create_label(self, *, actor: Actor, project_id: str, name: str, color: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        if self.store.label_by_name(project["id"], name):
            raise Conflict("A label with this name already exists in the project")
        doc = {"id": new_id(), "orgId": project.get("orgId"), "workspaceId": actor.workspace_id,
               "projectId": project["id"], "name": name, "color": color.upper(), "createdAt": now()}
        try:
            return self.label_out(self.store.insert_label(doc))
        except Duplicate as exc:
            raise Conflict("A label with this name already exists in the project") from exc

    def update_label(self, *, actor: Actor, project_id: str, label_id: str, data: dict) -> dict:
        project = self.get_project_or_404(actor, project_id)
        label = self.get_label_or_404(actor, project, label_id)
        changes = dict(data)
        if "color" in changes:
            changes["color"] = changes["color"].upper()
        if "name" in changes and changes["name"] != label["name"]:
            other = self.store.label_by_name(project["id"], changes["name"])
            if other and other["id"] != label["id"]:
                raise Conflict("A label with this name already exists in the project")
        if not changes:
            return self.label_out(label)
        try:
            return self.label_out(self.store.update_label(actor.workspace_id, label["id"], changes))
        except Duplicate as exc:
            raise Conflict("A label with this name already exists in the project") from exc

    def delete_label(self, *, actor: Actor, project_id: str, label_id: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        label = self.get_label_or_404(actor, project, label_id)
        with unit_of_work(self.client) as s:
            self.store.delete_label(actor.workspace_id, project["id"], label["id"], session=s)
        return {"ok": True}

    def add_card_label(self, *, actor: Actor, project_id: str, card_id: str, label_id: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        card = self.get_card_or_404(actor, project, card_id)
        label = self.get_label_or_404(actor, project, label_id)
        if label["id"] in (card.get("labelIds") or []):
            return self.card_out(self._placed(actor, card))
        return self._set_labels(actor, project, card, list(card.get("labelIds") or []) + [label["id"]])

    def remove_card_label(self, *, actor: Actor, project_id: str, card_id: str, label_id: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        card = self.get_card_or_404(actor, project, card_id)
        label = self.get_label_or_404(actor, project, label_id)
        if label["id"] in (card.get("labelIds") or []):
            self._set_labels(actor, project, card, [i for i in card.get("labelIds") or [] if i != label["id"]])
        return {"ok": True}

    def _set_labels(self, actor, project, card, label_ids) -> dict:
        with unit_of_work(self.client) as s:
            updated = self.store.update_card(actor.workspace_id, card["id"],
                                             set_={"labelIds": label_ids, "updatedAt": now()}, session=s)
            self.outbox.add(act.activity("card_updated", actor=actor, project=project, card=updated, changes={
                "labelIds": {"before": card.get("labelIds") or [], "after": label_ids}}), session=s)
        return self.card_out(self._placed(actor, updated))
