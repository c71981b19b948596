"""What the boards worker listens to and answers — every subscription of boards is declared here.

Consumed (stream IDENTITY, durable consumer "boards"; handlers are idempotent):
    identity.org.deleted        {orgId, slug, workspaceIds}  -> every boards record of the org is deleted
    identity.workspace.deleted  {workspaceId, orgId}         -> every boards record of the workspace is deleted
    identity.member.removed     {workspaceId, orgId, userId} -> unassigned from the workspace's cards,
                                                                dropped from its projects' members
    identity.user.updated       {user: {id, email, name}}    -> project member lists show the new name/email
    (attachments of deleted cards go to `attachments.service.schedule_deletions` in the same transaction)

Commands (cmd.boards.<verb>, queue group "boards"; every payload carries `workspaceId`, an id of another
workspace answers 404; `actor` = {userId, via} is the actor of the activity events they cause):
    get_card                 {workspaceId, cardId}                                   -> card
    get_cards                {workspaceId, cardIds}                                  -> [card] (unknown ids omitted)
    create_card              {workspaceId, projectId, columnId | columnName, title, description?, priority?,
                              startDate?, dueDate?, assigneeId?, actor}              -> card
    update_card              {workspaceId, cardId, changes: {...as PATCH card}, actor} -> card
    move_card                {workspaceId, cardId, targetColumn: id | name, order?, actor} -> card
    create_project_from_plan {workspaceId, orgId, name, description?,
                              phases: [{name, deliverables: [{title, description?}]}], actor}
                                                                                     -> project (with columns)
    project_summaries        {workspaceId}                                           -> portfolio rows
    add_comment              {workspaceId, cardId, content, actor}                   -> comment
    add_checklist_item       {workspaceId, cardId, title, done?, actor}              -> the item {_id, title, done, order}
    update_checklist_item    {workspaceId, cardId, itemId, changes: {title?, done?}, actor} -> the item
    project_refs             {workspaceId, projectId}  -> {id, name, memberIds, columns: [{id, name, order, scopeId}],
                                                           labels: [{id, name, color}]}
An `actor` may carry `ruleId` and `chain` (automations): they are copied into the events' actor.
A new command: a `Handlers` method that checks the payload, calls `self.service.<domain>.<verb>(...)`
(service.py lists the domains' services) and dumps the answer with that domain's response schema
(`<domain>/schemas.py`, the HTTP endpoint's), and its verb added to `register`.

Published (through the outbox, see activity.py and docs/CONTRACTS.md): boards.card.created|updated|moved|
archived|deleted|assigned, boards.comment.added, boards.member.added|removed, boards.project.created|updated|
deleted, boards.checklist.completed.
"""
from __future__ import annotations

import logging

from marshmallow import EXCLUDE, Schema, fields, validate

from libs.common.errors import BadRequest
from libs.common.kit import on_tenant_deleted
from libs.common.schemas import Name, load

from .activity import Actor, member_ids
from .cards.schemas import CardIn, CardOut, CardPatch
from .checklists.schemas import ChecklistAdd, ChecklistItemOut, ChecklistPatch
from .comments.schemas import CommentOut
from .projects.schemas import PortfolioRow, ProjectOut

log = logging.getLogger(__name__)
IDENTITY_SUBJECTS = ["identity.member.removed", "identity.user.updated"]
CARD, CARDS, COMMENT, ITEM = CardOut(), CardOut(many=True), CommentOut(), ChecklistItemOut()
PROJECT, PORTFOLIO = ProjectOut(), PortfolioRow(many=True)
CARD_FIELDS = ("title", "description", "priority", "startDate", "dueDate", "assigneeId", "checklist", "labelIds",
               "order")


class Lenient(Schema):
    """Plans come from another service (agents' drafts): keys boards does not use are ignored."""

    class Meta:
        unknown = EXCLUDE


class Deliverable(Lenient):
    title = Name(500, required=True)
    description = fields.String(validate=validate.Length(max=5000), allow_none=True, load_default=None)


class Phase(Lenient):
    name = Name(100, required=True)
    deliverables = fields.List(fields.Nested(Deliverable), validate=validate.Length(max=500), load_default=list)


class Plan(Lenient):
    name = Name(200, required=True)
    description = fields.String(validate=validate.Length(max=5000), allow_none=True, load_default=None)
    phases = fields.List(fields.Nested(Phase), validate=validate.Length(max=50), load_default=list)


def _require(payload: dict, *keys: str) -> None:
    if not isinstance(payload, dict):
        raise BadRequest("Command payload must be an object")
    missing = [k for k in keys if not payload.get(k)]
    if missing:
        raise BadRequest(f"Missing {', '.join(missing)}")


class Handlers:
    """Each command: its payload checked, the domain service called, the answer dumped through the same
    response schema as the HTTP endpoint's. `service` is the BoardsService (service.py)."""

    def __init__(self, service):
        self.service = service

    # ---------------------------------------------------------------- identity events
    def on_identity(self, envelope: dict) -> None:
        """e.g. {"type": "identity.member.removed", "data": {"workspaceId": "…", "orgId": "…", "userId": "…"}}"""
        kind, data = envelope.get("type"), envelope.get("data") or {}
        if kind == "identity.member.removed" and data.get("workspaceId") and data.get("userId"):
            self.service.members.forget(workspace_id=data["workspaceId"], user_id=data["userId"])
        elif kind == "identity.user.updated" and (data.get("user") or {}).get("id"):
            self.service.members.refresh_user(user=data["user"])

    # ---------------------------------------------------------------- commands
    def _card(self, p: dict, actor: Actor) -> dict:
        return self.service.cards.read(actor=actor, project_id=None, card_id=p["cardId"])

    def get_card(self, p: dict) -> dict:
        _require(p, "workspaceId", "cardId")
        return CARD.dump(self._card(p, Actor.from_command(p)))

    def get_cards(self, p: dict) -> list[dict]:
        _require(p, "workspaceId")
        ids = p.get("cardIds") or []
        if not isinstance(ids, list):
            raise BadRequest("cardIds must be a list")
        return CARDS.dump(self.service.cards.list_by_ids(actor=Actor.from_command(p), card_ids=ids))

    def create_card(self, p: dict) -> dict:
        _require(p, "workspaceId", "projectId")
        if not p.get("columnId") and not p.get("columnName"):
            raise BadRequest("Give columnId or columnName")
        data = load(CardIn(), {k: p[k] for k in CARD_FIELDS if k in p})
        return CARD.dump(self.service.cards.create(actor=Actor.from_command(p), project_id=p["projectId"],
                                                   column_id=p.get("columnId"), column_name=p.get("columnName"),
                                                   data=data))

    def update_card(self, p: dict) -> dict:
        _require(p, "workspaceId", "cardId")
        data = load(CardPatch(), p.get("changes") or {})
        return CARD.dump(self.service.cards.update(actor=Actor.from_command(p), project_id=None, card_id=p["cardId"],
                                                   data=data))

    def move_card(self, p: dict) -> dict:
        _require(p, "workspaceId", "cardId", "targetColumn")
        order = p.get("order")
        if order is not None and (not isinstance(order, int) or isinstance(order, bool) or order < 0):
            raise BadRequest("order must be a non-negative integer")
        return CARD.dump(self.service.cards.move(actor=Actor.from_command(p), card_id=p["cardId"],
                                                 target_column=str(p["targetColumn"]), order=order))

    def create_project_from_plan(self, p: dict) -> dict:
        _require(p, "workspaceId")
        plan = load(Plan(), {k: p[k] for k in ("name", "description", "phases") if k in p})
        phases = plan["phases"]
        return PROJECT.dump(self.service.projects.create(
            actor=Actor.from_command(p), name=plan["name"], description=plan["description"],
            template_id=None if phases else "kanban", column_names=[ph["name"] for ph in phases] or None,
            cards_by_column=[ph["deliverables"] for ph in phases]))

    def add_comment(self, p: dict) -> dict:
        _require(p, "workspaceId", "cardId")
        content = p.get("content")
        if not isinstance(content, str) or not 1 <= len(content) <= 5000:
            raise BadRequest("content must be 1-5000 characters")
        actor = Actor.from_command(p)
        card = self._card(p, actor)
        return COMMENT.dump(self.service.comments.create(actor=actor, project_id=card["projectId"], card_id=card["id"],
                                                         content=content))

    def add_checklist_item(self, p: dict) -> dict:
        _require(p, "workspaceId", "cardId")
        data = load(ChecklistAdd(), {k: p[k] for k in ("title", "done") if k in p})
        actor = Actor.from_command(p)
        card = self._card(p, actor)
        return ITEM.dump(self.service.checklists.create(actor=actor, project_id=card["projectId"], card_id=card["id"],
                                                        title=data["title"], done=data["done"]))

    def update_checklist_item(self, p: dict) -> dict:
        _require(p, "workspaceId", "cardId", "itemId")
        data = load(ChecklistPatch(), p.get("changes") or {})
        actor = Actor.from_command(p)
        card = self._card(p, actor)
        return ITEM.dump(self.service.checklists.update(actor=actor, project_id=card["projectId"], card_id=card["id"],
                                                        item_id=str(p["itemId"]), data=data))

    def project_refs(self, p: dict) -> dict:
        _require(p, "workspaceId", "projectId")
        actor = Actor.from_command(p)
        project = self.service.projects.get_or_raise(actor=actor, project_id=p["projectId"])
        columns = self.service.columns.store.list(actor.workspace_id, project["id"])   # every board's, by order
        labels = self.service.labels.store.list(actor.workspace_id, project["id"])
        return {"id": project["id"], "name": project["name"], "memberIds": member_ids(project),
                "columns": [{"id": c["id"], "name": c["name"], "order": c["order"], "scopeId": c.get("scopeId")}
                            for c in columns],
                "labels": [{"id": x["id"], "name": x["name"], "color": x.get("color")} for x in labels]}

    def project_summaries(self, p: dict) -> list[dict]:
        _require(p, "workspaceId")
        return PORTFOLIO.dump(self.service.projects.portfolio(actor=Actor.from_command(p)))


def register(worker, ctx) -> None:
    handlers = Handlers(ctx.services)
    on_tenant_deleted(worker, handlers.service.projects.purge_tenant)
    worker.consume("IDENTITY", handlers.on_identity, subjects=IDENTITY_SUBJECTS)
    for verb in ("get_card", "get_cards", "create_card", "update_card", "move_card", "create_project_from_plan",
                 "project_summaries", "add_comment", "project_refs", "add_checklist_item", "update_checklist_item"):
        worker.command(verb, getattr(handlers, verb))
