"""Relations between two cards of a project, stored once and shown from each card's side."""
from __future__ import annotations

from libs.common.errors import BadRequest, Conflict, NotFound
from libs.common.mongo import is_id, new_id, now

from ..activity import Actor
from ..cards.service import CardsService
from ..projects.service import ProjectsService
from ..storage import Duplicate
from .storage import RelationStore

# how a relation reads from its target card's side (types without an inverse in the API keep their direction)
INVERSE = {"blocks": "blocked_by", "blocked_by": "blocks", "related_to": "related_to"}


def seen_from(relation: dict, card_id: str | None = None) -> dict:
    """The relation as seen from `card_id` (default: its source), with its `direction`."""
    source, target, kind = relation["sourceCardId"], relation["targetCardId"], relation["type"]
    direction = "outgoing"
    if card_id is not None and card_id == target and card_id != source:
        direction = "incoming"
        if kind in INVERSE:
            source, target, kind = target, source, INVERSE[kind]
    return dict(relation, sourceCardId=source, targetCardId=target, type=kind, direction=direction)


class RelationsService:
    def __init__(self, *, store: RelationStore, projects: ProjectsService, cards: CardsService):
        self.store = store
        self.projects = projects
        self.cards = cards

    def list_relations(self, *, actor: Actor, project_id: str, card_id: str) -> list[dict]:
        """The card's relations, each seen from its side."""
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        card = self.cards.get_or_raise(actor=actor, project=project, card_id=card_id)
        return [seen_from(r, card["id"]) for r in self.store.of_card(actor.workspace_id, card["id"])
                if r["projectId"] == project["id"]]

    def create(self, *, actor: Actor, project_id: str, card_id: str, target_card_id: str, type: str) -> dict:
        """`blocked_by` is stored as the inverse `blocks`, `related_to` once per pair, so either side's
        duplicate is a 409; a `parent_of` that would close a cycle is a 409."""
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        card = self.cards.get_or_raise(actor=actor, project=project, card_id=card_id)
        if target_card_id == card["id"]:
            raise BadRequest("A card cannot be related to itself")
        target = self.cards.get_or_raise(actor=actor, project=project, card_id=target_card_id)
        source_id, target_id, kind = card["id"], target["id"], type
        if kind == "blocked_by":
            source_id, target_id, kind = target_id, source_id, "blocks"
        elif kind == "related_to" and target_id < source_id:
            source_id, target_id = target_id, source_id
        if self.store.find(project["id"], source_id, target_id, kind):
            raise Conflict("This relation already exists")
        if kind == "parent_of" and self._reaches(actor, project, target_id, source_id):
            raise Conflict("This parent_of relation would create a cycle")
        doc = {"id": new_id(), "orgId": project.get("orgId"), "workspaceId": actor.workspace_id,
               "projectId": project["id"], "sourceCardId": source_id, "targetCardId": target_id, "type": kind,
               "createdBy": actor.user_id, "createdAt": now()}
        try:
            relation = self.store.insert(doc)
        except Duplicate as exc:
            raise Conflict("This relation already exists") from exc
        return seen_from(relation, card["id"])

    def _reaches(self, actor: Actor, project: dict, start: str, goal: str) -> bool:
        """Whether `goal` is `start` or one of its descendants through parent_of (one query)."""
        children: dict[str, list[str]] = {}
        for r in self.store.of_project(actor.workspace_id, project["id"], "parent_of"):
            children.setdefault(r["sourceCardId"], []).append(r["targetCardId"])
        seen, stack = set(), [start]
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                stack.extend(children.get(node, []))
        return False

    def delete(self, *, actor: Actor, project_id: str, relation_id: str) -> None:
        project = self.projects.get_or_raise(actor=actor, project_id=project_id)
        relation = self.store.get(actor.workspace_id, project["id"], relation_id) if is_id(relation_id) else None
        if not relation:
            raise NotFound("Relation not found")
        self.store.delete(actor.workspace_id, relation["id"])
