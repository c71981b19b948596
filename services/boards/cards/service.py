"""Cards and their moves (a rank per card, the dense order derived at read time: a move writes one card),
comments, checklists.

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
from ..storage import clock_rank, rank_between

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

    def _card_doc(self, actor: Actor, project: dict, column: dict, order: int, ts, rank: int | None = None,
                  **fields) -> dict:
        """A card document; `order` is only its place in the answer (the stored place is `rank`)."""
        card = {"id": new_id(), "orgId": project.get("orgId"), "workspaceId": project["workspaceId"],
                "projectId": project["id"], "columnId": column["id"], "scopeId": column.get("scopeId"),
                "title": fields["title"], "description": fields.get("description"),
                "priority": fields.get("priority") or "medium", "startDate": fields.get("startDate"),
                "dueDate": fields.get("dueDate"), "assigneeId": fields.get("assigneeId"),
                "archived": bool(fields.get("archived", False)), "order": order,
                "rank": int(order) if rank is None else rank,
                "labelIds": list(fields.get("labelIds") or []), "customFields": dict(fields.get("customFields") or {}),
                "checklist": normalize_checklist(fields.get("checklist") or []),
                "commentCount": 0, "attachmentCount": 0, "createdBy": actor.user_id, "createdAt": ts, "updatedAt": ts}
        return card

    # ---------------------------------------------------------------- the board map and ranks
    def _ranked_project(self, actor: Actor, project: dict) -> dict:
        """The project with its board map (`board`, see storage.rebuild_board): built once for a project
        from before ranks."""
        if "board" in project:
            return project
        self.transaction(lambda s: self.store.rebuild_board(project["id"], session=s))
        return self.get_project_or_404(actor, project["id"])

    def _end_rank(self, project_after: dict, proposed: int, s) -> int:
        """`proposed` (a clock rank, already $max-ed into rankMax) unless the project handed out a later
        one (a clock behind another's): then one after that."""
        top = project_after.get("rankMax") or 0
        if top <= proposed:
            return proposed
        rank = clock_rank(top)
        self.store.projects.update_one({"_id": project_after["id"]}, {"$max": {"rankMax": rank}}, session=s)
        return rank

    def _rank_at(self, project_id: str, column_id: str, position: int, exclude_id, s) -> int | None:
        """A rank for dense `position` in a column (None = the end: a clock rank)."""
        for _ in range(2):
            before, after = self.store.neighbours(project_id, column_id, position, exclude_id, session=s)
            if after is None:
                return None
            rank = rank_between(before, after)
            if rank is not None:
                return rank
            self.store.rebalance(project_id, column_id, position, session=s)
        raise RuntimeError("no rank left after a rebalance")

    class _Retry(Exception):
        """Inside a unit of work: roll back, find out why, perhaps migrate the board, run again."""

    # ---------------------------------------------------------------- reads
    def list_cards(self, *, actor: Actor, project_id: str, archived: str = "false", scope_id=None, column_id=None,
                   limit: int | None = None, cursor: str | None = None, project: dict | None = None,
                   ) -> tuple[list[dict], str | None]:
        """The board's cards (the project, then one find whatever their number); `limit`+`cursor` page."""
        project = project or self.get_project_or_404(actor, project_id)
        project = self._ranked_project(actor, project)
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
        return self.card_out(self._placed(actor, self.get_card_or_404(actor, project, card_id)))

    def _placed(self, actor: Actor, card: dict) -> dict:
        """The card with its dense `order` (migrating its board first if it predates ranks)."""
        if "rank" not in card:
            self._ranked_project(actor, self.get_project_or_404(actor, card["projectId"]))
            card = self.store.get_card(actor.workspace_id, card["id"]) or card
        return self.store.with_position(card)

    def get_cards(self, *, actor: Actor, card_ids: list[str]) -> list[dict]:
        ids = [i for i in card_ids if is_id(i)]
        by_id = {c["id"]: c for c in self.store.cards_by_ids(actor.workspace_id, ids)}
        return [self.card_out(self._placed(actor, by_id[i])) for i in dict.fromkeys(ids) if i in by_id]

    # ---------------------------------------------------------------- create
    def create_card(self, *, actor: Actor, project_id: str, column_id: str | None = None,
                    column_name: str | None = None, data: dict) -> dict:
        """Appended to the column, or inserted at `data["order"]`. Appending costs 4 commands: the project
        (its version, the column's card count, the rank handed out), the card, the outbox row, the commit."""
        if column_id is None and column_name is not None:
            project = self.get_project_or_404(actor, project_id)
            column_id = self._column_by_id_or_name(actor, project, None, column_name)["id"]
        if not is_id(project_id):
            raise NotFound("Project not found")
        if not is_id(column_id):
            raise NotFound("Column not found")
        stub = {"id": project_id, "workspaceId": actor.workspace_id}
        assignee = self._assignee_row(actor, stub, data.get("assigneeId"))
        label_ids = self._checked_label_ids(actor, stub, data.get("labelIds") or [])
        ts = now()

        def work(s):
            wanted = data.get("order")
            proposed = clock_rank() if wanted is None else None
            project = self.store.board_write(actor.workspace_id, project_id, {column_id: 1}, rank=proposed, session=s)
            if project is None:
                raise self._Retry()
            entry = project["board"][column_id]
            if "scopeId" in data and data["scopeId"] != entry.get("s"):
                raise BadRequest("scopeId does not match the column's scope")
            size = entry["n"] - 1   # the cards there before this one
            rank = None if wanted is None or wanted >= size else self._rank_at(project_id, column_id, wanted, None, s)
            if rank is None:
                rank = self._end_rank(project, proposed if proposed is not None else clock_rank(), s)
                order = size
            else:
                order = wanted
            fields = {k: v for k, v in data.items() if k not in ("order", "scopeId")} | {"labelIds": label_ids}
            column = {"id": column_id, "scopeId": entry.get("s")}
            card = self._card_doc(actor, project, column, order, ts, rank=rank, **fields)
            self.store.insert_card({k: v for k, v in card.items() if k != "order"}, session=s)
            events = []
            current = self._ensure_member(actor, project, assignee, s, events)
            events.append(act.activity("card_created", actor=actor, project=current, card=card))
            if card["assigneeId"]:
                events.append(act.activity("card_assigned", actor=actor, project=current, card=card,
                                           assigneeId=card["assigneeId"], previousAssigneeId=None))
            self.outbox.add_many(events, session=s)
            return card

        for attempt in range(2):
            try:
                return self.card_out(self.transaction(work))
            except self._Retry:
                project = self.get_project_or_404(actor, project_id)
                if "board" in project or attempt:
                    raise NotFound("Column not found")
                self._ranked_project(actor, project)
        raise NotFound("Column not found")

    # ---------------------------------------------------------------- change and move
    def update_card(self, *, actor: Actor, project_id: str | None, card_id: str, data: dict) -> dict:
        """Change any field; `columnId` and/or `order` move the card. A move by `columnId` alone is the
        fast path: 4 commands (the card, the project, the outbox row, the commit), no read first."""
        if project_id is not None and "columnId" in data and not set(data) - {"columnId", "order"}:
            if not is_id(project_id):
                raise NotFound("Project not found")
            if not is_id(card_id):
                raise NotFound("Card not found")
            return self._move(actor, project_id, card_id, data["columnId"], data.get("order"))
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
        return self._move(actor, project["id"], card["id"], column["id"], order)

    def _move(self, actor: Actor, project_id: str, card_id: str, target_id: str, order: int | None,
              set_: dict | None = None, changes: dict | None = None, assignee=None) -> dict:
        """Move a card to `target_id` (at its end, or at dense `order`), with `set_` changed along: one
        update of the card, one of the project (version, counts, rank), the outbox row."""
        if not is_id(target_id):
            raise NotFound("Column not found")
        ts = now()

        def work(s):
            proposed = None
            if order is None:
                proposed = rank = clock_rank()
            else:
                rank = self._rank_at(project_id, target_id, order, card_id, s)
                if rank is None:
                    proposed = rank = clock_rank()
            fields = dict(set_ or {}) | {"columnId": target_id, "rank": rank, "updatedAt": ts}
            before = self.store.move_card(actor.workspace_id, project_id, card_id, fields,
                                          not_in=target_id if order is None else None, session=s)
            if before is None or "rank" not in before:
                raise self._Retry()
            source_id = before["columnId"]
            counts = {target_id: 1, source_id: -1} if source_id != target_id else {target_id: 0}
            project = self.store.board_write(actor.workspace_id, project_id, counts, rank=proposed, session=s)
            if project is None:
                raise NotFound("Column not found")
            if proposed is not None:
                final = self._end_rank(project, proposed, s)
                if final != rank:
                    fields["rank"] = rank = final
                    self.store.cards.update_one({"_id": card_id}, {"$set": {"rank": rank}}, session=s)
            entry, board = project["board"][target_id], project["board"]
            if entry.get("s") != before.get("scopeId"):
                self.store.cards.update_one({"_id": card_id}, {"$set": {"scopeId": entry.get("s")}}, session=s)
            size = entry["n"] - 1
            updated = dict(before) | fields | {"scopeId": entry.get("s"),
                                               "order": size if order is None else min(order, size)}
            events = []
            current = self._ensure_member(actor, project, assignee, s, events)
            source = ({"name": board[source_id]["name"]} if source_id in board else None)
            target = {"id": target_id, "name": entry.get("name")} if source_id != target_id else None
            events += self._change_events(actor, current, before, updated, changes or {}, source, target)
            self.outbox.add_many(events, session=s)
            return updated

        try:
            return self.card_out(self.transaction(work))
        except self._Retry:
            pass
        card = self.store.get_card(actor.workspace_id, card_id, project_id)
        if card is None:
            raise NotFound("Card not found")
        if "rank" not in card:   # a board from before ranks: migrate it, then move
            self._ranked_project(actor, self.get_project_or_404(actor, project_id))
            return self._move(actor, project_id, card_id, target_id, order, set_, changes, assignee)
        if set_:   # already in the target column, other fields change
            return self._change_card(actor, self.get_project_or_404(actor, project_id), card,
                                     {"columnId": target_id, **{k: v for k, v in (set_ or {}).items()}})
        self.get_column_or_404(actor, {"id": project_id}, target_id)
        return self.card_out(self.store.with_position(card))

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
        if "columnId" in data and data["columnId"] != card["columnId"]:
            self.get_column_or_404(actor, project, data["columnId"])
            return self._move(actor, project["id"], card["id"], data["columnId"], data.get("order"), set_, changes,
                              assignee)
        if "order" in data:
            placed = self._placed(actor, card)
            if data["order"] != placed["order"]:
                return self._move(actor, project["id"], card["id"], card["columnId"], data["order"], set_, changes,
                                  assignee)
        if not set_:
            return self.card_out(self._placed(actor, card))

        def work(s):
            fields = dict(set_) | {"updatedAt": now()}
            updated = self.store.update_card(actor.workspace_id, card["id"], set_=fields, session=s)
            if updated is None:
                raise NotFound("Card not found")
            events = []
            current = self._ensure_member(actor, project, assignee, s, events)
            events += self._change_events(actor, current, card, updated, changes, None, None)
            self.outbox.add_many(events, session=s)
            return updated

        return self.card_out(self._placed(actor, self.transaction(work)))

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
        project = self._ranked_project(actor, self.get_project_or_404(actor, project_id))
        card = self.get_card_or_404(actor, project, card_id)

        def work(s):
            fresh = self.store.get_card(actor.workspace_id, card["id"], session=s)
            if fresh is None:
                raise NotFound("Card not found")
            self.store.delete_cards(actor.workspace_id, [card["id"]], session=s)
            self.store.board_write(actor.workspace_id, project["id"], {fresh["columnId"]: -1}, session=s)
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
