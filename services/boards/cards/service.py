"""Cards and their moves (dense order per column, one `$inc` per shifted range), comments, checklists.

Mixed into `services.boards.service.BoardsService` (its store, outbox, client, bus and lookups).
"""
from __future__ import annotations

from libs.common.errors import BadRequest, Forbidden, NotFound
from libs.common.mongo import is_id, iso, new_id, now, unit_of_work
from libs.common.paging import decode_cursor, encode_cursor

from .. import activity as act
from ..activity import Actor
from ..domain import (
    checklist_complete,
    checklist_progress,
    normalize_checklist,
    schedule_attachment_deletions,
)
from ..schemas import MAX_CHECKLIST

CARD_FIELDS = ("title", "description", "priority", "startDate", "dueDate")


def _value_out(value):
    return iso(value) if hasattr(value, "tzinfo") else value


class CardsMixin:
    @staticmethod
    def card_out(card: dict) -> dict:
        checklist = sorted(card.get("checklist") or [], key=lambda i: i.get("order", 0))
        return {"id": card["id"], "projectId": card["projectId"], "columnId": card["columnId"],
                "scopeId": card.get("scopeId"), "title": card["title"], "description": card.get("description"),
                "order": card["order"], "archived": card.get("archived", False), "priority": card.get("priority"),
                "startDate": iso(card.get("startDate")), "dueDate": iso(card.get("dueDate")),
                "assigneeId": card.get("assigneeId"), "labelIds": list(card.get("labelIds") or []),
                "customFields": dict(card.get("customFields") or {}),
                "checklist": [{"_id": i["_id"], "title": i["title"], "done": bool(i.get("done")),
                               "order": i.get("order", n)} for n, i in enumerate(checklist)],
                "checklistProgress": checklist_progress(checklist),
                "commentCount": card.get("commentCount", 0), "attachmentCount": card.get("attachmentCount", 0),
                "createdBy": card.get("createdBy"), "createdAt": iso(card["createdAt"]),
                "updatedAt": iso(card.get("updatedAt") or card["createdAt"])}

    @staticmethod
    def comment_out(comment: dict) -> dict:
        return {"id": comment["id"], "cardId": comment["cardId"], "projectId": comment["projectId"],
                "authorId": comment["authorId"], "authorName": comment.get("authorName"),
                "content": comment["content"], "createdAt": iso(comment["createdAt"])}

    def get_card_or_404(self, actor: Actor, project: dict | None, card_id: str, session=None) -> dict:
        card = (self.store.get_card(actor.workspace_id, card_id, project["id"] if project else None, session=session)
                if is_id(card_id) else None)
        if not card:
            raise NotFound("Card not found")
        return card

    def _card_doc(self, actor: Actor, project: dict, column: dict, order: int, ts, **fields) -> dict:
        card = {"id": new_id(), "orgId": project.get("orgId"), "workspaceId": project["workspaceId"],
                "projectId": project["id"], "columnId": column["id"], "scopeId": column.get("scopeId"),
                "title": fields["title"], "description": fields.get("description"),
                "priority": fields.get("priority") or "medium", "startDate": fields.get("startDate"),
                "dueDate": fields.get("dueDate"), "assigneeId": fields.get("assigneeId"),
                "archived": bool(fields.get("archived", False)), "order": order,
                "labelIds": list(fields.get("labelIds") or []), "customFields": dict(fields.get("customFields") or {}),
                "checklist": normalize_checklist(fields.get("checklist") or []),
                "commentCount": 0, "attachmentCount": 0, "createdBy": actor.user_id, "createdAt": ts, "updatedAt": ts}
        return card

    def list_cards(self, *, actor: Actor, project_id: str, archived: str = "false", scope_id=None, column_id=None,
                   limit: int | None = None, cursor: str | None = None) -> tuple[list[dict], str | None]:
        """The board's cards (2 round trips whatever their number); `limit`+`cursor` page through them."""
        project = self.get_project_or_404(actor, project_id)
        scope = self._scope_filter(actor, project, scope_id)
        skip = max(0, (decode_cursor(cursor, int) or (0,))[0])
        cards = self.store.list_cards(actor.workspace_id, project["id"], archived=archived, scope=scope,
                                      column_id=column_id, skip=skip, limit=(limit + 1) if limit else None)
        next_cursor = None
        if limit and len(cards) > limit:
            cards = cards[:limit]
            next_cursor = encode_cursor(skip + limit)
        return [self.card_out(c) for c in cards], next_cursor

    def get_card(self, *, actor: Actor, project_id: str | None, card_id: str) -> dict:
        project = self.get_project_or_404(actor, project_id) if project_id is not None else None
        return self.card_out(self.get_card_or_404(actor, project, card_id))

    def get_cards(self, *, actor: Actor, card_ids: list[str]) -> list[dict]:
        ids = [i for i in card_ids if is_id(i)]
        by_id = {c["id"]: c for c in self.store.cards_by_ids(actor.workspace_id, ids)}
        return [self.card_out(by_id[i]) for i in dict.fromkeys(ids) if i in by_id]

    def create_card(self, *, actor: Actor, project_id: str, column_id: str | None = None,
                    column_name: str | None = None, data: dict) -> dict:
        """Appended to the column, or inserted at `data["order"]` (the cards from there on shift down)."""
        project = self.get_project_or_404(actor, project_id)
        if column_id is not None or column_name is None:
            column = self.get_column_or_404(actor, project, column_id)
        else:
            column = self._column_by_id_or_name(actor, project, None, column_name)
        assignee = self._assignee_row(actor, project, data.get("assigneeId"))
        label_ids = self._checked_label_ids(actor, project, data.get("labelIds") or [])
        ts = now()

        def work(s):
            self.store.lock_board(project["id"], session=s)
            count = self.store.column_size(column["id"], session=s)
            order = count if data.get("order") is None else min(data["order"], count)
            if order < count:
                self.store.shift_cards(column["id"], start=order, delta=1, session=s)
            fields = {k: v for k, v in data.items() if k != "order"} | {"labelIds": label_ids}
            card = self._card_doc(actor, project, column, order, ts, **fields)
            self.store.insert_card(card, session=s)
            events = []
            current = self._ensure_member(actor, project, assignee, s, events)
            events.append(act.activity("card_created", actor=actor, project=current, card=card))
            if card["assigneeId"]:
                events.append(act.activity("card_assigned", actor=actor, project=current, card=card,
                                           assigneeId=card["assigneeId"], previousAssigneeId=None))
            self.outbox.add_many(events, session=s)
            return card

        return self.card_out(self.transaction(work))

    def update_card(self, *, actor: Actor, project_id: str | None, card_id: str, data: dict) -> dict:
        """Change any field; `columnId` and/or `order` move the card (dense orders in both columns)."""
        project = self.get_project_or_404(actor, project_id) if project_id is not None else None
        card = self.get_card_or_404(actor, project, card_id)
        if project is None:
            project = self.get_project_or_404(actor, card["projectId"])
        return self._change_card(actor, project, card, data)

    def move_card(self, *, actor: Actor, card_id: str, target_column: str, order: int | None = None) -> dict:
        """Move by column id or name (a column of the card's own board)."""
        card = self.get_card_or_404(actor, None, card_id)
        project = self.get_project_or_404(actor, card["projectId"])
        column = self._column_by_id_or_name(actor, project, card.get("scopeId"), target_column)
        data = {"columnId": column["id"]}
        if order is not None:
            data["order"] = order
        return self._change_card(actor, project, card, data)

    def _change_card(self, actor: Actor, project: dict, card: dict, data: dict) -> dict:
        set_, changes = {}, {}
        for key in CARD_FIELDS + ("archived",):
            if key in data and data[key] != card.get(key):
                set_[key] = data[key]
                changes[key] = {"before": _value_out(card.get(key)), "after": _value_out(data[key])}
        assignee = None
        if "assigneeId" in data and data["assigneeId"] != card.get("assigneeId"):
            assignee = self._assignee_row(actor, project, data["assigneeId"])
            set_["assigneeId"] = data["assigneeId"]
            changes["assigneeId"] = {"before": card.get("assigneeId"), "after": data["assigneeId"]}
        if "labelIds" in data:
            label_ids = self._checked_label_ids(actor, project, data["labelIds"])
            if label_ids != card.get("labelIds"):
                set_["labelIds"] = label_ids
                changes["labelIds"] = {"before": card.get("labelIds") or [], "after": label_ids}
        if "checklist" in data:
            set_["checklist"] = normalize_checklist(data["checklist"])
            changes["checklist"] = {"before": checklist_progress(card.get("checklist") or []),
                                    "after": checklist_progress(set_["checklist"])}
        target = None
        if "columnId" in data and data["columnId"] != card["columnId"]:
            target = self.get_column_or_404(actor, project, data["columnId"])
        moving = target is not None or ("order" in data and data["order"] != card["order"])
        source = self.store.get_column(actor.workspace_id, project["id"], card["columnId"]) if target else None
        if not set_ and not moving:
            return self.card_out(card)
        def work(s):
            fields = dict(set_)
            if moving:
                self.store.lock_board(project["id"], session=s)
                fresh = self.store.get_card(actor.workspace_id, card["id"], session=s)   # its place now
                if fresh is None:
                    raise NotFound("Card not found")
                fields.update(self._place(fresh, target, data.get("order"), s))
            fields["updatedAt"] = now()
            updated = self.store.update_card(actor.workspace_id, card["id"], set_=fields, session=s)
            events = []
            current = self._ensure_member(actor, project, assignee, s, events)
            events += self._change_events(actor, current, card, updated, changes, source, target)
            self.outbox.add_many(events, session=s)
            return updated

        return self.card_out(self.transaction(work))

    def _place(self, card: dict, target: dict | None, order: int | None, s) -> dict:
        """Shift only the cards between the old and new place (one `$inc` per column)."""
        source_id, old = card["columnId"], card["order"]
        if target is None or target["id"] == source_id:
            count = self.store.column_size(source_id, session=s)
            new = max(0, min(order if order is not None else old, count - 1))
            if new > old:
                self.store.shift_cards(source_id, start=old + 1, end=new + 1, delta=-1, session=s)
            elif new < old:
                self.store.shift_cards(source_id, start=new, end=old, delta=1, session=s)
            return {"order": new}
        self.store.shift_cards(source_id, start=old + 1, delta=-1, session=s)
        count = self.store.column_size(target["id"], session=s)
        new = count if order is None else min(order, count)
        self.store.shift_cards(target["id"], start=new, delta=1, session=s)
        return {"columnId": target["id"], "order": new, "scopeId": target.get("scopeId")}

    def _change_events(self, actor, project, before, card, changes, source, target) -> list[dict]:
        events = []
        changes = dict(changes)
        if target is not None:
            events.append(act.activity("card_moved", actor=actor, project=project, card=card, meta={
                "fromColumn": source["name"] if source else None, "toColumn": target["name"],
                "fromColumnId": before["columnId"], "toColumnId": target["id"]}))
        if changes.get("archived", {}).get("after") is True:
            changes.pop("archived")
            events.append(act.activity("card_archived", actor=actor, project=project, card=card))
        if changes.get("assigneeId", {}).get("after"):
            change = changes.pop("assigneeId")
            events.append(act.activity("card_assigned", actor=actor, project=project, card=card,
                                       assigneeId=change["after"], previousAssigneeId=change["before"]))
        if changes:
            events.append(act.activity("card_updated", actor=actor, project=project, card=card, changes=changes))
        if not checklist_complete(before.get("checklist")) and checklist_complete(card.get("checklist")):
            events.append(act.checklist_completed(actor=actor, project=project, card=card))
        return events

    def delete_card(self, *, actor: Actor, project_id: str, card_id: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        card = self.get_card_or_404(actor, project, card_id)

        def work(s):
            self.store.lock_board(project["id"], session=s)
            fresh = self.store.get_card(actor.workspace_id, card["id"], session=s)
            if fresh is None:
                raise NotFound("Card not found")
            self.store.delete_cards(actor.workspace_id, [card["id"]], session=s)
            self.store.shift_cards(fresh["columnId"], start=fresh["order"] + 1, delta=-1, session=s)
            schedule_attachment_deletions(self.db, card_ids=[card["id"]], workspace_id=actor.workspace_id, session=s)
            self.outbox.add(act.activity("card_deleted", actor=actor, project=project, card=fresh), session=s)

        self.transaction(work)
        return {"ok": True}

    def list_comments(self, *, actor: Actor, project_id: str, card_id: str, limit=None, cursor=None):
        project = self.get_project_or_404(actor, project_id)
        card = self.get_card_or_404(actor, project, card_id)
        skip = max(0, (decode_cursor(cursor, int) or (0,))[0])
        comments = self.store.list_comments(actor.workspace_id, card["id"], skip=skip,
                                            limit=(limit + 1) if limit else None)
        next_cursor = None
        if limit and len(comments) > limit:
            comments, next_cursor = comments[:limit], encode_cursor(skip + limit)
        return [self.comment_out(c) for c in comments], next_cursor

    def create_comment(self, *, actor: Actor, project_id: str, card_id: str, content: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        card = self.get_card_or_404(actor, project, card_id)
        comment = {"id": new_id(), "orgId": project.get("orgId"), "workspaceId": actor.workspace_id,
                   "projectId": project["id"], "cardId": card["id"], "authorId": actor.user_id,
                   "authorName": actor.name or actor.email or None, "content": content, "createdAt": now()}
        with unit_of_work(self.client) as s:
            self.store.insert_comment(comment, session=s)
            card = self.store.update_card(actor.workspace_id, card["id"], inc={"commentCount": 1}, session=s)
            self.outbox.add(act.activity("comment_added", actor=actor, project=project, card=card,
                                         comment={"id": comment["id"], "content": content,
                                                  "authorId": actor.user_id, "authorName": comment["authorName"]}),
                            session=s)
        return self.comment_out(comment)

    def delete_comment(self, *, actor: Actor, project_id: str, card_id: str, comment_id: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        card = self.get_card_or_404(actor, project, card_id)
        comment = self.store.get_comment(actor.workspace_id, card["id"], comment_id) if is_id(comment_id) else None
        if not comment:
            raise NotFound("Comment not found")
        if comment["authorId"] != actor.user_id and actor.ws_role != "admin":
            raise Forbidden("Only the author or a workspace admin may delete a comment")
        with unit_of_work(self.client) as s:
            if self.store.delete_comment(actor.workspace_id, comment["id"], session=s):
                self.store.update_card(actor.workspace_id, card["id"], inc={"commentCount": -1}, session=s)
        return {"ok": True}

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
