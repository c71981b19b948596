"""What hangs on a project's cards: labels, custom fields, relations, checklists — and scopes with their views.

Mixed into `service.BoardsService` (uses its store, outbox, client and lookups).
"""
from __future__ import annotations

from marshmallow import ValidationError

from libs.common.errors import BadRequest, Conflict, NotFound
from libs.common.mongo import is_id, iso, new_id, now, unit_of_work

from . import activity as act
from .activity import Actor
from .domain import checklist_complete, schedule_attachment_deletions, validate_value
from .schemas import MAX_CHECKLIST, VIEWS, check_options
from .storage import Duplicate

# how a relation reads from its target card's side (types without an inverse in the API keep their direction)
INVERSE = {"blocks": "blocked_by", "blocked_by": "blocks", "related_to": "related_to"}


class MetadataMixin:
    # ================================================================== shapes
    @staticmethod
    def label_out(label: dict) -> dict:
        return {"id": label["id"], "projectId": label["projectId"], "name": label["name"], "color": label["color"],
                "createdAt": iso(label["createdAt"])}

    @staticmethod
    def field_out(field: dict) -> dict:
        return {"id": field["id"], "projectId": field["projectId"], "name": field["name"], "type": field["type"],
                "options": list(field.get("options") or []), "createdAt": iso(field["createdAt"])}

    @staticmethod
    def relation_out(relation: dict, card_id: str | None = None) -> dict:
        """The relation as seen from `card_id` (default: its source)."""
        source, target, kind = relation["sourceCardId"], relation["targetCardId"], relation["type"]
        direction = "outgoing"
        if card_id is not None and card_id == target and card_id != source:
            direction = "incoming"
            if kind in INVERSE:
                source, target, kind = target, source, INVERSE[kind]
        return {"id": relation["id"], "projectId": relation["projectId"], "sourceCardId": source,
                "targetCardId": target, "type": kind, "direction": direction,
                "createdAt": iso(relation["createdAt"])}

    @staticmethod
    def scope_out(scope: dict) -> dict:
        return {"id": scope["id"], "projectId": scope["projectId"], "name": scope["name"],
                "description": scope.get("description"), "order": scope["order"],
                "activeView": scope.get("activeView") or "kanban", "createdAt": iso(scope["createdAt"]),
                "updatedAt": iso(scope.get("updatedAt") or scope["createdAt"])}

    # ================================================================== labels
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
            return self.card_out(card)
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
        return self.card_out(updated)

    # ================================================================== custom fields
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
            return self.card_out(card)
        with unit_of_work(self.client) as s:
            # the whole map is $set: the embedded stand-in keeps a nested value's type (a top-level
            # `$set` of True would come back as 1)
            updated = self.store.update_card(actor.workspace_id, card["id"],
                                             set_={"customFields": after, "updatedAt": now()}, session=s)
            self.outbox.add(act.activity("card_updated", actor=actor, project=project, card=updated,
                                         changes={"customFields": {"before": before, "after": after}}), session=s)
        return self.card_out(updated)

    # ================================================================== relations
    def list_relations(self, *, actor: Actor, project_id: str, card_id: str) -> list[dict]:
        project = self.get_project_or_404(actor, project_id)
        card = self.get_card_or_404(actor, project, card_id)
        return [self.relation_out(r, card["id"]) for r in self.store.relations_of_card(actor.workspace_id, card["id"])
                if r["projectId"] == project["id"]]

    def create_relation(self, *, actor: Actor, project_id: str, card_id: str, target_card_id: str,
                        type: str) -> dict:
        """`blocked_by` is stored as the inverse `blocks`, `related_to` once per pair, so either side's
        duplicate is a 409; a `parent_of` that would close a cycle is a 409."""
        project = self.get_project_or_404(actor, project_id)
        card = self.get_card_or_404(actor, project, card_id)
        if target_card_id == card["id"]:
            raise BadRequest("A card cannot be related to itself")
        target = self.get_card_or_404(actor, project, target_card_id)
        source_id, target_id, kind = card["id"], target["id"], type
        if kind == "blocked_by":
            source_id, target_id, kind = target_id, source_id, "blocks"
        elif kind == "related_to" and target_id < source_id:
            source_id, target_id = target_id, source_id
        if self.store.find_relation(project["id"], source_id, target_id, kind):
            raise Conflict("This relation already exists")
        if kind == "parent_of" and self._reaches(actor, project, target_id, source_id):
            raise Conflict("This parent_of relation would create a cycle")
        doc = {"id": new_id(), "orgId": project.get("orgId"), "workspaceId": actor.workspace_id,
               "projectId": project["id"], "sourceCardId": source_id, "targetCardId": target_id, "type": kind,
               "createdBy": actor.user_id, "createdAt": now()}
        try:
            relation = self.store.insert_relation(doc)
        except Duplicate as exc:
            raise Conflict("This relation already exists") from exc
        return self.relation_out(relation, card["id"])

    def _reaches(self, actor: Actor, project: dict, start: str, goal: str) -> bool:
        """Whether `goal` is `start` or one of its descendants through parent_of (one query)."""
        children: dict[str, list[str]] = {}
        for r in self.store.relations_of_project(actor.workspace_id, project["id"], "parent_of"):
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

    def delete_relation(self, *, actor: Actor, project_id: str, relation_id: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        relation = self.store.get_relation(actor.workspace_id, project["id"], relation_id) if is_id(relation_id) else None
        if not relation:
            raise NotFound("Relation not found")
        self.store.delete_relation(actor.workspace_id, relation["id"])
        return {"ok": True}

    # ================================================================== checklists
    def add_checklist_item(self, *, actor: Actor, project_id: str, card_id: str, title: str, done=False) -> dict:
        project = self.get_project_or_404(actor, project_id)
        card = self.get_card_or_404(actor, project, card_id)
        items = sorted(card.get("checklist") or [], key=lambda i: i.get("order", 0))
        if len(items) >= MAX_CHECKLIST:
            raise BadRequest(f"A checklist holds at most {MAX_CHECKLIST} items")
        item = {"_id": new_id(), "title": title, "done": bool(done), "order": len(items)}
        self._save_checklist(actor, project, card, items + [item])
        return item

    def update_checklist_item(self, *, actor: Actor, project_id: str, card_id: str, item_id: str, data: dict) -> dict:
        project = self.get_project_or_404(actor, project_id)
        card = self.get_card_or_404(actor, project, card_id)
        items = [dict(i) for i in sorted(card.get("checklist") or [], key=lambda i: i.get("order", 0))]
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
        self._save_checklist(actor, project, card, items)
        return item

    def delete_checklist_item(self, *, actor: Actor, project_id: str, card_id: str, item_id: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        card = self.get_card_or_404(actor, project, card_id)
        items = sorted(card.get("checklist") or [], key=lambda i: i.get("order", 0))
        if not any(i["_id"] == item_id for i in items):
            raise NotFound("Checklist item not found")
        kept = [dict(i, order=n) for n, i in enumerate(x for x in items if x["_id"] != item_id)]
        self._save_checklist(actor, project, card, kept)
        return {"ok": True}

    def _save_checklist(self, actor: Actor, project: dict, card: dict, items: list[dict]) -> dict:
        with unit_of_work(self.client) as s:
            updated = self.store.update_card(actor.workspace_id, card["id"],
                                             set_={"checklist": items, "updatedAt": now()}, session=s)
            if not checklist_complete(card.get("checklist")) and checklist_complete(items):
                self.outbox.add(act.checklist_completed(actor=actor, project=project, card=updated), session=s)
        return updated

    # ================================================================== scopes and views
    def get_scope_or_404(self, actor: Actor, project: dict, scope_id: str) -> dict:
        scope = self.store.get_scope(actor.workspace_id, project["id"], scope_id) if is_id(scope_id) else None
        if not scope:
            raise NotFound("Scope not found")
        return scope

    def list_scopes(self, *, actor: Actor, project_id: str) -> list[dict]:
        project = self.get_project_or_404(actor, project_id)
        return [self.scope_out(x) for x in self.store.list_scopes(actor.workspace_id, project["id"])]

    def get_scope(self, *, actor: Actor, project_id: str, scope_id: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        return self.scope_out(self.get_scope_or_404(actor, project, scope_id))

    def create_scope(self, *, actor: Actor, project_id: str, name: str, description=None,
                     active_view: str = "kanban") -> dict:
        project = self.get_project_or_404(actor, project_id)
        ts = now()
        with unit_of_work(self.client) as s:
            order = self.store.count_scopes(project["id"], session=s)
            scope = self.store.insert_scope({"id": new_id(), "orgId": project.get("orgId"),
                                             "workspaceId": actor.workspace_id, "projectId": project["id"],
                                             "name": name, "description": description, "order": order,
                                             "activeView": active_view, "createdAt": ts, "updatedAt": ts}, session=s)
        return self.scope_out(scope)

    def update_scope(self, *, actor: Actor, project_id: str, scope_id: str, data: dict) -> dict:
        project = self.get_project_or_404(actor, project_id)
        scope = self.get_scope_or_404(actor, project, scope_id)
        changes = {k: v for k, v in data.items() if k in ("name", "description", "activeView")}
        changes["updatedAt"] = now()
        with unit_of_work(self.client) as s:
            if "order" in data:
                count = self.store.count_scopes(project["id"], session=s)
                old, new = scope["order"], min(data["order"], count - 1)
                if new > old:
                    self.store.shift_scopes(project["id"], start=old + 1, end=new + 1, delta=-1, session=s)
                elif new < old:
                    self.store.shift_scopes(project["id"], start=new, end=old, delta=1, session=s)
                changes["order"] = new
            scope = self.store.update_scope(actor.workspace_id, scope["id"], changes, session=s)
        return self.scope_out(scope)

    def delete_scope(self, *, actor: Actor, project_id: str, scope_id: str) -> dict:
        """Deletes the scope with its columns, cards (comments, relations, attachments)."""
        project = self.get_project_or_404(actor, project_id)
        scope = self.get_scope_or_404(actor, project, scope_id)
        with unit_of_work(self.client) as s:
            card_ids = self.store.card_ids({"projectId": project["id"], "scopeId": scope["id"],
                                            "workspaceId": actor.workspace_id}, session=s)
            self.store.delete_scope_cascade(actor.workspace_id, project["id"], scope["id"], card_ids, session=s)
            self.store.shift_scopes(project["id"], start=scope["order"] + 1, delta=-1, session=s)
            if card_ids:
                schedule_attachment_deletions(self.db, card_ids=card_ids, workspace_id=actor.workspace_id, session=s)
        return {"ok": True}

    def get_views(self, *, actor: Actor, project_id: str, scope_id: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        scope = self.get_scope_or_404(actor, project, scope_id)
        return {"views": list(VIEWS), "activeView": scope.get("activeView") or "kanban"}

    def set_view(self, *, actor: Actor, project_id: str, scope_id: str, active_view: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        scope = self.get_scope_or_404(actor, project, scope_id)
        self.store.update_scope(actor.workspace_id, scope["id"], {"activeView": active_view, "updatedAt": now()})
        return {"views": list(VIEWS), "activeView": active_view}
