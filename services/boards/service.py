"""The boards core: projects, project members, columns, cards (and their moves), comments.

Functions take keyword-only arguments and an `Actor` (the request's caller or a command's actor,
always bound to one workspace); they return the API's JSON shapes. Every query is scoped by the
actor's workspace id, so an id from another workspace or project is a 404. Every change other
services must hear about records its event in the outbox inside the same unit of work.

Labels, custom fields, relations, checklists and scopes live in `metadata.py`; templates,
import/export and the portfolio in `transfer.py`; both are mixed into `BoardsService`. Pure rules
(templates, checklist progress, custom-field values) and the attachments seam are in `domain.py`.
"""
from __future__ import annotations

import time

from pymongo.errors import PyMongoError

from libs.common.errors import BadRequest, Conflict, Forbidden, NotFound
from libs.common.mongo import is_id, iso, new_id, now, unit_of_work

from . import activity as act
from .activity import Actor
from .domain import (TEMPLATES, checklist_complete, checklist_progress, normalize_checklist,
                     schedule_attachment_deletions)
from .metadata import MetadataMixin
from .storage import BoardsStore
from .transfer import TransferMixin

CARD_FIELDS = ("title", "description", "priority", "startDate", "dueDate")


def _value_out(value):
    return iso(value) if hasattr(value, "tzinfo") else value


class BoardsService(MetadataMixin, TransferMixin):
    def __init__(self, *, store: BoardsStore, outbox, client, bus, db):
        self.store = store
        self.outbox = outbox
        self.client = client
        self.bus = bus
        self.db = db

    # ================================================================== transactions
    def transaction(self, work, attempts: int = 5):
        """`work(session)` in one unit of work, run again when MongoDB aborts it for a write conflict
        (TransientTransactionError). Board-structure writes first `lock_board` the project so that
        concurrent moves, creations and deletions in one project serialise instead of racing on orders."""
        for attempt in range(attempts):
            try:
                with unit_of_work(self.client) as s:
                    return work(s)
            except PyMongoError as exc:
                if attempt + 1 < attempts and exc.has_error_label("TransientTransactionError"):
                    time.sleep(0.005 * 2 ** attempt)
                    continue
                raise

    # ================================================================== shapes
    @staticmethod
    def project_out(project: dict, columns: list[dict] | None = None) -> dict:
        out = {"id": project["id"], "name": project["name"], "description": project.get("description"),
               "workspaceId": project["workspaceId"], "orgId": project.get("orgId"),
               "templateId": project.get("templateId"), "createdBy": project.get("createdBy"),
               "memberIds": act.member_ids(project), "createdAt": iso(project["createdAt"]),
               "updatedAt": iso(project.get("updatedAt") or project["createdAt"])}
        if columns is not None:
            out["columns"] = [BoardsService.column_out(c) for c in columns]
        return out

    @staticmethod
    def column_out(column: dict) -> dict:
        return {"id": column["id"], "name": column["name"], "projectId": column["projectId"],
                "scopeId": column.get("scopeId"), "order": column["order"], "createdAt": iso(column["createdAt"]),
                "updatedAt": iso(column.get("updatedAt") or column["createdAt"])}

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

    @staticmethod
    def member_out(member: dict) -> dict:
        return {"userId": member["userId"], "email": member.get("email"), "name": member.get("name"),
                "addedAt": iso(member.get("addedAt"))}

    # ================================================================== lookups (404 unless visible)
    def get_project_or_404(self, actor: Actor, project_id: str, session=None) -> dict:
        project = self.store.get_project(actor.workspace_id, project_id, session=session) if is_id(project_id) else None
        if not project:
            raise NotFound("Project not found")
        return project

    def get_column_or_404(self, actor: Actor, project: dict, column_id: str, session=None) -> dict:
        column = (self.store.get_column(actor.workspace_id, project["id"], column_id, session=session)
                  if is_id(column_id) else None)
        if not column:
            raise NotFound("Column not found")
        return column

    def get_card_or_404(self, actor: Actor, project: dict | None, card_id: str, session=None) -> dict:
        card = (self.store.get_card(actor.workspace_id, card_id, project["id"] if project else None, session=session)
                if is_id(card_id) else None)
        if not card:
            raise NotFound("Card not found")
        return card

    def _column_by_id_or_name(self, actor: Actor, project: dict, scope_id, target: str) -> dict:
        """A column of the card's board named by id, or else by name (case-insensitive)."""
        if is_id(target):
            column = self.store.get_column(actor.workspace_id, project["id"], target)
            if column:
                return column
        wanted = str(target).strip().lower()
        columns = self.store.list_columns(actor.workspace_id, project["id"], scope=scope_id)
        for column in columns:
            if column["name"].strip().lower() == wanted:
                return column
        raise NotFound(f"Column '{target}' not found")

    # ================================================================== members helpers
    @staticmethod
    def _member_row(user_id: str, email: str | None, name: str | None) -> dict:
        return {"userId": user_id, "email": email, "name": name, "addedAt": now()}

    def _workspace_member(self, actor: Actor, *, user_id=None, email=None) -> dict | None:
        payload = {"workspaceId": actor.workspace_id}
        payload.update({"userId": user_id} if user_id else {"email": email})
        try:
            return self.bus.call("identity", "workspace_member", payload)
        except NotFound:
            return None

    def _actor_row(self, actor: Actor) -> dict | None:
        if not actor.user_id:
            return None
        if actor.email:
            return self._member_row(actor.user_id, actor.email, actor.name or None)
        info = self._workspace_member(actor, user_id=actor.user_id) if is_id(actor.user_id) else None
        return self._member_row(actor.user_id, info["email"] if info else None, info.get("name") if info else None)

    def _assignee_row(self, actor: Actor, project: dict, user_id) -> dict | None:
        """The project member row of a new assignee; 400 unless they belong to the workspace."""
        if user_id is None:
            return None
        if user_id == actor.user_id and actor.email:   # the caller of a request is a member by the guard
            return self._member_row(user_id, actor.email, actor.name or None)
        info = self._workspace_member(actor, user_id=user_id) if is_id(user_id) else None
        if not info:
            raise BadRequest("assigneeId must be a member of the workspace")
        return self._member_row(info["userId"], info.get("email"), info.get("name"))

    def _ensure_member(self, actor: Actor, project: dict, row: dict | None, session, events: list) -> dict:
        """Add an assignee to the project's members if missing (appending `member_added` to `events`);
        returns the project as it now is."""
        if row is None or row["userId"] in act.member_ids(project):
            return project
        if self.store.add_project_member(project["workspaceId"], project["id"], row, now(), session=session):
            project = dict(project, members=list(project.get("members") or []) + [row])
            events.append(act.activity("member_added", actor=actor, project=project,
                                       member={"userId": row["userId"], "email": row.get("email")}))
        return project

    # ================================================================== projects
    def list_projects(self, *, actor: Actor) -> list[dict]:
        return [self.project_out(p) for p in self.store.list_projects(actor.workspace_id)]

    def get_project(self, *, actor: Actor, project_id: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        return self.project_out(project, self.store.list_columns(actor.workspace_id, project["id"], scope=None))

    def create_project(self, *, actor: Actor, name: str, description: str | None = None,
                       template_id: str | None = None, column_names: list[str] | None = None,
                       cards_by_column: list[list[dict]] | None = None) -> dict:
        """Create a project with its template's columns (or `column_names`), the actor as first member;
        `cards_by_column` (from a plan) adds cards `{title, description?}` to the matching column."""
        if template_id is not None:
            template = TEMPLATES.get(template_id)
            if template is None:
                raise BadRequest(f"Unknown templateId '{template_id}'")
            column_names = [c["name"] for c in template["columns"]]
        ts = now()
        creator = self._actor_row(actor)
        project = {"id": new_id(), "orgId": actor.org_id, "workspaceId": actor.workspace_id, "name": name,
                   "description": description, "templateId": template_id, "members": [creator] if creator else [],
                   "createdBy": actor.user_id, "createdAt": ts, "updatedAt": ts}
        columns = [self._column_doc(project, n, i, None, ts) for i, n in enumerate(column_names or [])]
        cards = []
        for column, items in zip(columns, cards_by_column or []):
            for order, item in enumerate(items):
                cards.append(self._card_doc(actor, project, column, order, ts, title=item["title"],
                                            description=item.get("description")))
        with unit_of_work(self.client) as s:
            self.store.insert_project(project, session=s)
            self.store.insert_columns(columns, session=s)
            self.store.insert_cards(cards, session=s)
            events = [act.project_event("created", actor=actor, project=project)]
            events += [act.activity("card_created", actor=actor, project=project, card=c) for c in cards]
            self.outbox.add_many(events, session=s)
        return self.project_out(project, columns)

    def update_project(self, *, actor: Actor, project_id: str, data: dict) -> dict:
        project = self.get_project_or_404(actor, project_id)
        changes = {k: v for k, v in data.items() if k in ("name", "description")}
        if not changes:
            return self.project_out(project)
        with unit_of_work(self.client) as s:
            project = self.store.update_project(actor.workspace_id, project["id"], changes | {"updatedAt": now()},
                                                session=s)
            self.outbox.add(act.project_event("updated", actor=actor, project=project), session=s)
        return self.project_out(project)

    def delete_project(self, *, actor: Actor, project_id: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        if actor.ws_role != "admin":
            raise Forbidden("Workspace admin role required to delete a project")
        with unit_of_work(self.client) as s:
            self.store.delete_project_cascade(actor.workspace_id, project["id"], session=s)
            schedule_attachment_deletions(self.db, project_id=project["id"], workspace_id=actor.workspace_id, session=s)
            self.outbox.add(act.project_event("deleted", actor=actor, project=project), session=s)
        return {"ok": True}

    # ================================================================== project members
    def list_members(self, *, actor: Actor, project_id: str) -> list[dict]:
        project = self.get_project_or_404(actor, project_id)
        return [self.member_out(m) for m in project.get("members") or []]

    def add_member(self, *, actor: Actor, project_id: str, email: str) -> dict:
        """Add a workspace member by email. Someone who is not a workspace member → 404 (like an unknown
        user: never reveal whether an email has an account); already a project member → 409."""
        project = self.get_project_or_404(actor, project_id)
        info = self._workspace_member(actor, email=email.strip().lower())
        if not info:
            raise NotFound("No member of this workspace has that email")
        if info["userId"] in act.member_ids(project):
            raise Conflict("Already a member of this project")
        row = self._member_row(info["userId"], info.get("email"), info.get("name"))
        with unit_of_work(self.client) as s:
            if not self.store.add_project_member(actor.workspace_id, project["id"], row, now(), session=s):
                raise Conflict("Already a member of this project")
            project = dict(project, members=list(project.get("members") or []) + [row])
            self.outbox.add(act.activity("member_added", actor=actor, project=project,
                                         member={"userId": row["userId"], "email": row["email"]}), session=s)
        return self.member_out(row)

    def remove_member(self, *, actor: Actor, project_id: str, user_id: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        row = next((m for m in project.get("members") or [] if m["userId"] == user_id), None)
        if row is None:
            raise NotFound("Not a member of this project")
        with unit_of_work(self.client) as s:
            if not self.store.remove_project_member(actor.workspace_id, project["id"], user_id, now(), session=s):
                raise NotFound("Not a member of this project")
            project = dict(project, members=[m for m in project.get("members") or [] if m["userId"] != user_id])
            self.outbox.add(act.activity("member_removed", actor=actor, project=project,
                                         member={"userId": user_id, "email": row.get("email")}), session=s)
        return {"ok": True}

    # ================================================================== columns
    @staticmethod
    def _column_doc(project: dict, name: str, order: int, scope_id, ts) -> dict:
        return {"id": new_id(), "orgId": project.get("orgId"), "workspaceId": project["workspaceId"],
                "projectId": project["id"], "scopeId": scope_id, "name": name, "order": order,
                "createdAt": ts, "updatedAt": ts}

    def _scope_filter(self, actor: Actor, project: dict, scope_id):
        """`?scopeId=`: absent → every board, `null`/`main` → the main board, an id → that scope (404 if unknown)."""
        if scope_id is None:
            return ...
        if scope_id in ("", "null", "none", "main"):
            return None
        self.get_scope_or_404(actor, project, scope_id)
        return scope_id

    def list_columns(self, *, actor: Actor, project_id: str, scope_id: str | None = None) -> list[dict]:
        project = self.get_project_or_404(actor, project_id)
        scope = self._scope_filter(actor, project, scope_id)
        columns = self.store.list_columns(actor.workspace_id, project["id"], scope=scope)
        if scope is ...:   # main board first, then each scope's columns, each by order
            columns.sort(key=lambda c: (c.get("scopeId") is not None, c.get("scopeId") or "", c["order"]))
        return [self.column_out(c) for c in columns]

    def create_column(self, *, actor: Actor, project_id: str, name: str, scope_id: str | None = None,
                      order: int | None = None) -> dict:
        """Appended, or inserted at `order` (the columns from there on shift right)."""
        project = self.get_project_or_404(actor, project_id)
        if scope_id is not None:
            self.get_scope_or_404(actor, project, scope_id)

        def work(s):
            self.store.lock_board(project["id"], session=s)
            count = self.store.count_columns(project["id"], scope_id, session=s)
            position = count if order is None else min(order, count)
            if position < count:
                self.store.shift_columns(project["id"], scope_id, start=position, delta=1, session=s)
            return self.store.insert_column(self._column_doc(project, name, position, scope_id, now()), session=s)

        return self.column_out(self.transaction(work))

    def update_column(self, *, actor: Actor, project_id: str, column_id: str, data: dict) -> dict:
        project = self.get_project_or_404(actor, project_id)
        column = self.get_column_or_404(actor, project, column_id)
        changes = {"updatedAt": now()}
        if "name" in data:
            changes["name"] = data["name"]
        def work(s):
            fields = dict(changes)
            if "order" in data:
                self.store.lock_board(project["id"], session=s)
                fresh = self.store.get_column(actor.workspace_id, project["id"], column["id"], session=s)
                if fresh is None:
                    raise NotFound("Column not found")
                scope_id = fresh.get("scopeId")
                count = self.store.count_columns(project["id"], scope_id, session=s)
                old, new = fresh["order"], min(data["order"], count - 1)
                if new > old:
                    self.store.shift_columns(project["id"], scope_id, start=old + 1, end=new + 1, delta=-1, session=s)
                elif new < old:
                    self.store.shift_columns(project["id"], scope_id, start=new, end=old, delta=1, session=s)
                fields["order"] = new
            return self.store.update_column(actor.workspace_id, column["id"], fields, session=s)

        return self.column_out(self.transaction(work))

    def delete_column(self, *, actor: Actor, project_id: str, column_id: str) -> dict:
        project = self.get_project_or_404(actor, project_id)
        column = self.get_column_or_404(actor, project, column_id)
        def work(s):
            self.store.lock_board(project["id"], session=s)
            fresh = self.store.get_column(actor.workspace_id, project["id"], column["id"], session=s)
            if fresh is None:
                raise NotFound("Column not found")
            if self.store.column_size(column["id"], session=s):
                raise Conflict("The column still holds cards: move or delete them first")
            self.store.delete_column(actor.workspace_id, column["id"], session=s)
            self.store.shift_columns(project["id"], fresh.get("scopeId"), start=fresh["order"] + 1, delta=-1,
                                     session=s)

        self.transaction(work)
        return {"ok": True}

    # ================================================================== cards
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
        skip = 0
        if cursor:
            if not cursor.isdigit():
                raise BadRequest("Invalid cursor")
            skip = int(cursor)
        cards = self.store.list_cards(actor.workspace_id, project["id"], archived=archived, scope=scope,
                                      column_id=column_id, skip=skip, limit=(limit + 1) if limit else None)
        next_cursor = None
        if limit and len(cards) > limit:
            cards = cards[:limit]
            next_cursor = str(skip + limit)
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

    # ================================================================== comments
    def list_comments(self, *, actor: Actor, project_id: str, card_id: str, limit=None, cursor=None):
        project = self.get_project_or_404(actor, project_id)
        card = self.get_card_or_404(actor, project, card_id)
        skip = 0
        if cursor:
            if not cursor.isdigit():
                raise BadRequest("Invalid cursor")
            skip = int(cursor)
        comments = self.store.list_comments(actor.workspace_id, card["id"], skip=skip,
                                            limit=(limit + 1) if limit else None)
        next_cursor = None
        if limit and len(comments) > limit:
            comments, next_cursor = comments[:limit], str(skip + limit)
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

    # ================================================================== identity's events (worker)
    def purge_tenant(self, *, workspace_id: str | None = None, org_id: str | None = None) -> None:
        """Delete every boards record of a workspace or an org, and queue their attachments' objects.
        Idempotent: a second run finds nothing left."""
        scope = {"workspace_id": workspace_id} if workspace_id else {"org_id": org_id}
        with unit_of_work(self.client) as s:
            schedule_attachment_deletions(self.db, session=s, **scope)
            self.store.delete_tenant(session=s, **scope)

    def refresh_user(self, *, user: dict) -> None:
        """A user changed their name or email: project member lists show the new ones."""
        with unit_of_work(self.client) as s:
            self.store.rename_member(user, session=s)

    def forget_member(self, *, workspace_id: str, user_id: str) -> None:
        """A user left the workspace: unassign them from its cards and drop them from its projects."""
        ts = now()
        with unit_of_work(self.client) as s:
            self.store.update_cards({"workspaceId": workspace_id, "assigneeId": user_id},
                                    {"$set": {"assigneeId": None, "updatedAt": ts}}, session=s)
            for project in self.store.projects_with_member(workspace_id, user_id, session=s):
                self.store.remove_project_member(workspace_id, project["id"], user_id, ts, session=s)
