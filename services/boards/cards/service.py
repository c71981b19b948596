"""Cards and their moves: a rank per card, the dense order derived at read time, so a create or a move
writes one card (and the project's board map, see ranks.py): 4 database commands on the fast paths
(tests/test_hot_paths.py counts them).

`write` is the one way other domains change a card (comments' counts, checklists, labels, custom-field
values): the card and its board's version in the caller's transaction.
"""
from __future__ import annotations

from libs.common.errors import BadRequest, NotFound
from libs.common.mongo import is_id, iso, now
from libs.common.paging import decode_cursor, encode_cursor

from .. import activity as act
from ..activity import Actor
from ..columns.service import ColumnsService
from ..domain import checklist_complete, checklist_progress, new_card, normalize_checklist, schedule_attachment_deletions
from ..labels.service import LabelsService
from ..projects.members import Directory, MembersService
from ..projects.service import ProjectsService
from ..projects.storage import ProjectStore
from ..ranks import clock_rank, rank_between
from ..storage import BoardsStore
from ..transactions import Transactions
from .storage import CardStore

CARD_FIELDS = ("title", "description", "priority", "startDate", "dueDate")


def _value_out(value):
    return iso(value) if hasattr(value, "tzinfo") else value


class _Retry(Exception):
    """Inside a unit of work: roll back, find out why, perhaps migrate the board, run again."""


class CardsService:
    def __init__(self, *, store: CardStore, projects: ProjectsService, project_store: ProjectStore,
                 columns: ColumnsService, labels: LabelsService, members: MembersService, directory: Directory,
                 cascades: BoardsStore, tx: Transactions, outbox, db):
        self.store = store
        self.projects = projects
        self.project_store = project_store
        self.columns = columns
        self.labels = labels
        self.members = members
        self.directory = directory
        self.cascades = cascades
        self.tx = tx
        self.outbox = outbox
        self.db = db            # the attachments module's seam (schedule_attachment_deletions)

    def get(self, *, actor: Actor, project: dict | None, card_id: str, session=None) -> dict | None:
        if not is_id(card_id):
            return None
        return self.store.get(actor.workspace_id, card_id, project["id"] if project else None, session=session)

    def get_or_raise(self, *, actor: Actor, project: dict | None, card_id: str, session=None) -> dict:
        card = self.get(actor=actor, project=project, card_id=card_id, session=session)
        if not card:
            raise NotFound("Card not found")
        return card

    def write(self, *, actor: Actor, card_id: str, session, **change) -> dict | None:
        """`CardStore.update(**change)` of one card and its board's version (the ETag of its lists)."""
        card = self.store.update(actor.workspace_id, card_id, session=session, **change)
        if card is not None:
            self.project_store.bump(card["projectId"], session=session)
        return card

    # ---------------------------------------------------------------- the board map and ranks
    def _end_rank(self, project_after: dict, proposed: int, s) -> int:
        """`proposed` (a clock rank, already $max-ed into rankMax) unless the project handed out a later
        one (a clock behind another's): then one after that."""
        top = project_after.get("rankMax") or 0
        if top <= proposed:
            return proposed
        rank = clock_rank(top)
        self.project_store.raise_rank_max(project_after["id"], rank, session=s)
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
            top = self.store.rebalance(project_id, column_id, position, session=s)
            if top is not None:
                self.project_store.raise_rank_max(project_id, top, session=s)
        raise RuntimeError("no rank left after a rebalance")

    # ---------------------------------------------------------------- reads
    def list_cards(self, *, actor: Actor, project_id: str, archived: str = "false", scope_id=None, column_id=None,
                   limit: int | None = None, cursor: str | None = None, project: dict | None = None,
                   ) -> tuple[list[dict], str | None]:
        """The board's cards (the project, then one find whatever their number); `limit`+`cursor` page."""
        project = project or self.projects.get_or_raise(actor=actor, project_id=project_id)
        project = self.projects.ranked(actor=actor, project=project)
        scope = self.columns.scope_filter(actor=actor, project=project, scope_id=scope_id)
        skip = max(0, (decode_cursor(cursor, int) or (0,))[0])
        cards = self.store.list(actor.workspace_id, project["id"], archived=archived, scope=scope,
                                      column_id=column_id, skip=skip, limit=(limit + 1) if limit else None)
        next_cursor = None
        if limit and len(cards) > limit:
            cards = cards[:limit]
            next_cursor = encode_cursor(skip + limit)
        return cards, next_cursor

    def read(self, *, actor: Actor, project_id: str | None, card_id: str) -> dict:
        """One card with its dense `order` (`project_id` None: wherever it is in the workspace)."""
        project = self.projects.get_or_raise(actor=actor, project_id=project_id) if project_id is not None else None
        return self.placed(actor=actor, card=self.get_or_raise(actor=actor, project=project, card_id=card_id))

    def placed(self, *, actor: Actor, card: dict) -> dict:
        """The card with its dense `order` (migrating its board first if it predates ranks)."""
        if "rank" not in card:
            self.projects.ranked(actor=actor, project=self.projects.get_or_raise(actor=actor, project_id=card["projectId"]))
            card = self.store.get(actor.workspace_id, card["id"]) or card
        return self.store.with_position(card)

    def list_by_ids(self, *, actor: Actor, card_ids: list[str]) -> list[dict]:
        """The cards of `card_ids` in that order (unknown ids left out)."""
        ids = [i for i in card_ids if is_id(i)]
        by_id = {c["id"]: c for c in self.store.by_ids(actor.workspace_id, ids)}
        return [self.placed(actor=actor, card=by_id[i]) for i in dict.fromkeys(ids) if i in by_id]

    # ---------------------------------------------------------------- create
    def create(self, *, actor: Actor, project_id: str, column_id: str | None = None,
               column_name: str | None = None, data: dict) -> dict:
        """Appended to the column, or inserted at `data["order"]`. Appending costs 4 commands: the project
        (its version, the column's card count, the rank handed out), the card, the outbox row, the commit."""
        if column_id is None and column_name is not None:
            project = self.projects.get_or_raise(actor=actor, project_id=project_id)
            column_id = self.columns.by_id_or_name(actor=actor, project=project, scope_id=None, target=column_name)["id"]
        if not is_id(project_id):
            raise NotFound("Project not found")
        if not is_id(column_id):
            raise NotFound("Column not found")
        stub = {"id": project_id, "workspaceId": actor.workspace_id}
        assignee = self.directory.assignee_row(actor=actor, user_id=data.get("assigneeId"))
        label_ids = self.labels.checked_ids(actor=actor, project=stub, label_ids=data.get("labelIds") or [])
        ts = now()

        def work(s):
            wanted = data.get("order")
            proposed = clock_rank() if wanted is None else None
            project = self.project_store.board_write(actor.workspace_id, project_id, {column_id: 1}, rank=proposed, session=s)
            if project is None:
                raise _Retry()
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
            card = new_card(created_by=actor.user_id, project=project, column=column, order=order, ts=ts, rank=rank, **fields)
            self.store.insert({k: v for k, v in card.items() if k != "order"}, session=s)
            events = []
            current = self.members.ensure(actor=actor, project=project, row=assignee, session=s, events=events)
            events.append(act.activity("card_created", actor=actor, project=current, card=card))
            if card["assigneeId"]:
                events.append(act.activity("card_assigned", actor=actor, project=current, card=card,
                                           assigneeId=card["assigneeId"], previousAssigneeId=None))
            self.outbox.add_many(events, session=s)
            return card

        for attempt in range(2):
            try:
                return self.tx.run(work)
            except _Retry:
                project = self.projects.get_or_raise(actor=actor, project_id=project_id)
                if "board" in project or attempt:
                    raise NotFound("Column not found")
                self.projects.ranked(actor=actor, project=project)
        raise NotFound("Column not found")

    # ---------------------------------------------------------------- change and move
    def update(self, *, actor: Actor, project_id: str | None, card_id: str, data: dict) -> dict:
        """Change any field; `columnId` and/or `order` move the card. A move by `columnId` alone is the
        fast path: 4 commands (the card, the project, the outbox row, the commit), no read first."""
        if project_id is not None and "columnId" in data and not set(data) - {"columnId", "order"}:
            if not is_id(project_id):
                raise NotFound("Project not found")
            if not is_id(card_id):
                raise NotFound("Card not found")
            return self._move(actor, project_id, card_id, data["columnId"], data.get("order"))
        project = self.projects.get_or_raise(actor=actor, project_id=project_id) if project_id is not None else None
        card = self.get_or_raise(actor=actor, project=project, card_id=card_id)
        if project is None:
            project = self.projects.get_or_raise(actor=actor, project_id=card["projectId"])
        return self._change_card(actor, project, card, data)

    def move(self, *, actor: Actor, card_id: str, target_column: str, order: int | None = None) -> dict:
        """Move by column id or name (a column of the card's own board)."""
        card = self.get_or_raise(actor=actor, project=None, card_id=card_id)
        project = self.projects.get_or_raise(actor=actor, project_id=card["projectId"])
        column = self.columns.by_id_or_name(actor=actor, project=project, scope_id=card.get("scopeId"), target=target_column)
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
            before = self.store.move(actor.workspace_id, project_id, card_id, fields,
                                          not_in=target_id if order is None else None, session=s)
            if before is None or "rank" not in before:
                raise _Retry()
            source_id = before["columnId"]
            counts = {target_id: 1, source_id: -1} if source_id != target_id else {target_id: 0}
            project = self.project_store.board_write(actor.workspace_id, project_id, counts, rank=proposed, session=s)
            if project is None:
                raise NotFound("Column not found")
            if proposed is not None:
                final = self._end_rank(project, proposed, s)
                if final != rank:
                    fields["rank"] = rank = final
                    self.store.set_fields(card_id, {"rank": rank}, session=s)
            entry, board = project["board"][target_id], project["board"]
            if entry.get("s") != before.get("scopeId"):
                self.store.set_fields(card_id, {"scopeId": entry.get("s")}, session=s)
            size = entry["n"] - 1
            updated = dict(before) | fields | {"scopeId": entry.get("s"),
                                               "order": size if order is None else min(order, size)}
            events = []
            current = self.members.ensure(actor=actor, project=project, row=assignee, session=s, events=events)
            source = ({"name": board[source_id]["name"]} if source_id in board else None)
            target = {"id": target_id, "name": entry.get("name")} if source_id != target_id else None
            events += self._change_events(actor, current, before, updated, changes or {}, source, target)
            self.outbox.add_many(events, session=s)
            return updated

        try:
            return self.tx.run(work)
        except _Retry:
            pass
        card = self.store.get(actor.workspace_id, card_id, project_id)
        if card is None:
            raise NotFound("Card not found")
        if "rank" not in card:   # a board from before ranks: migrate it, then move
            self.projects.ranked(actor=actor, project=self.projects.get_or_raise(actor=actor, project_id=project_id))
            return self._move(actor, project_id, card_id, target_id, order, set_, changes, assignee)
        if set_:   # already in the target column, other fields change
            return self._change_card(actor, self.projects.get_or_raise(actor=actor, project_id=project_id), card,
                                     {"columnId": target_id, **{k: v for k, v in (set_ or {}).items()}})
        self.columns.get_or_raise(actor=actor, project={"id": project_id}, column_id=target_id)
        return self.store.with_position(card)

    def _change_card(self, actor: Actor, project: dict, card: dict, data: dict) -> dict:
        set_, changes = {}, {}
        for key in CARD_FIELDS + ("archived",):
            if key in data and data[key] != card.get(key):
                set_[key] = data[key]
                changes[key] = {"before": _value_out(card.get(key)), "after": _value_out(data[key])}
        assignee = None
        if "assigneeId" in data and data["assigneeId"] != card.get("assigneeId"):
            assignee = self.directory.assignee_row(actor=actor, user_id=data["assigneeId"])
            set_["assigneeId"] = data["assigneeId"]
            changes["assigneeId"] = {"before": card.get("assigneeId"), "after": data["assigneeId"]}
        if "labelIds" in data:
            label_ids = self.labels.checked_ids(actor=actor, project=project, label_ids=data["labelIds"])
            if label_ids != card.get("labelIds"):
                set_["labelIds"] = label_ids
                changes["labelIds"] = {"before": card.get("labelIds") or [], "after": label_ids}
        if "checklist" in data:
            set_["checklist"] = normalize_checklist(data["checklist"])
            changes["checklist"] = {"before": checklist_progress(card.get("checklist") or []),
                                    "after": checklist_progress(set_["checklist"])}
        if "columnId" in data and data["columnId"] != card["columnId"]:
            self.columns.get_or_raise(actor=actor, project=project, column_id=data["columnId"])
            return self._move(actor, project["id"], card["id"], data["columnId"], data.get("order"), set_, changes,
                              assignee)
        if "order" in data:
            placed = self.placed(actor=actor, card=card)
            if data["order"] != placed["order"]:
                return self._move(actor, project["id"], card["id"], card["columnId"], data["order"], set_, changes,
                                  assignee)
        if not set_:
            return self.placed(actor=actor, card=card)

        def work(s):
            fields = dict(set_) | {"updatedAt": now()}
            updated = self.write(actor=actor, card_id=card["id"], set_=fields, session=s)
            if updated is None:
                raise NotFound("Card not found")
            events = []
            current = self.members.ensure(actor=actor, project=project, row=assignee, session=s, events=events)
            events += self._change_events(actor, current, card, updated, changes, None, None)
            self.outbox.add_many(events, session=s)
            return updated

        return self.placed(actor=actor, card=self.tx.run(work))

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

    def delete(self, *, actor: Actor, project_id: str, card_id: str) -> None:
        project = self.projects.ranked(actor=actor, project=self.projects.get_or_raise(actor=actor, project_id=project_id))
        card = self.get_or_raise(actor=actor, project=project, card_id=card_id)

        def work(s):
            fresh = self.store.get(actor.workspace_id, card["id"], session=s)
            if fresh is None:
                raise NotFound("Card not found")
            self.cascades.delete_cards(actor.workspace_id, [card["id"]], session=s)
            self.project_store.board_write(actor.workspace_id, project["id"], {fresh["columnId"]: -1}, session=s)
            schedule_attachment_deletions(self.db, card_ids=[card["id"]], workspace_id=actor.workspace_id, session=s)
            self.outbox.add(act.activity("card_deleted", actor=actor, project=project, card=fresh), session=s)

        self.tx.run(work)
