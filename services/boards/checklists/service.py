"""Checklist items of a card. They live in the card's document (`cards.checklist`), so the card's storage
holds them; `boards.checklist.completed` is published when the last item gets checked."""
from __future__ import annotations

from libs.common.errors import BadRequest, NotFound
from libs.common.mongo import new_id, now

from .. import activity as act
from ..activity import Actor
from ..cards.service import CardsService
from ..domain import checklist_complete
from ..projects.service import ProjectsService
from ..schemas import MAX_CHECKLIST
from ..transactions import Transactions


def _items(card: dict) -> list[dict]:
    return [dict(i) for i in sorted(card.get("checklist") or [], key=lambda i: i.get("order", 0))]


class ChecklistsService:
    def __init__(self, *, projects: ProjectsService, cards: CardsService, tx: Transactions, outbox):
        self.projects = projects
        self.cards = cards
        self.tx = tx
        self.outbox = outbox

    def _card(self, actor, project_id, card_id):
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        return project, self.cards.get_or_raise(actor=actor, project=project, card_id=card_id)

    def create(self, *, actor: Actor, project_id: str, card_id: str, title: str, done=False) -> dict:
        """The new item `{_id, title, done, order}` (at the end)."""
        project, card = self._card(actor, project_id, card_id)
        items = _items(card)
        if len(items) >= MAX_CHECKLIST:
            raise BadRequest(f"A checklist holds at most {MAX_CHECKLIST} items")
        item = {"_id": new_id(), "title": title, "done": bool(done), "order": len(items)}
        self._save(actor, project, card, items + [item])
        return item

    def update(self, *, actor: Actor, project_id: str, card_id: str, item_id: str, data: dict) -> dict:
        """Check, uncheck, rename or move (`order`) an item; returns it."""
        project, card = self._card(actor, project_id, card_id)
        items = _items(card)
        item = next((i for i in items if i["_id"] == item_id), None)
        if item is None:
            raise NotFound("Checklist item not found")
        for key in ("title", "done"):
            if key in data:
                item[key] = data[key]
        if "order" in data:
            items.remove(item)
            items.insert(min(data["order"], len(items)), item)
        for position, i in enumerate(items):
            i["order"] = position
        self._save(actor, project, card, items)
        return item

    def delete(self, *, actor: Actor, project_id: str, card_id: str, item_id: str) -> None:
        project, card = self._card(actor, project_id, card_id)
        items = _items(card)
        if not any(i["_id"] == item_id for i in items):
            raise NotFound("Checklist item not found")
        kept = [dict(i, order=n) for n, i in enumerate(x for x in items if x["_id"] != item_id)]
        self._save(actor, project, card, kept)

    def _save(self, actor: Actor, project: dict, card: dict, items: list[dict]) -> dict:
        with self.tx.unit() as s:
            updated = self.cards.write(actor=actor, card_id=card["id"], set_={"checklist": items, "updatedAt": now()},
                                       session=s)
            if not checklist_complete(card.get("checklist")) and checklist_complete(items):
                self.outbox.add(act.checklist_completed(actor=actor, project=project, card=updated), session=s)
        return updated
