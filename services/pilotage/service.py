"""Pilotage domain logic: missions, priorities, todos, decisions, active docs, proposed actions
and the state. Documents (the knowledge base and its review workflow) live in documents.py.

Roles (API.md §3): any workspace member reads; writes (create / PATCH / DELETE, propose) need the
pilotage role `reviewer` or `owner`; so do review and apply; changing the cycle needs `owner`.
Every write other services must hear about records its event in the outbox in the same unit of work.
Methods return stored rows: the handlers dump them through their routes' response schemas, the events,
actions' results and commands through the same ones (`responses.render`).
"""
from __future__ import annotations

from datetime import timedelta

from marshmallow import ValidationError

from libs.common.context import Caller, require_pilotage
from libs.common.errors import (
    ApiError,
    BadRequest,
    Conflict,
    NotFound,
    validation_message,
)
from libs.common.mongo import is_id, iso, new_id, now, unit_of_work
from libs.common.schemas import load

from . import events, schemas
from .actions import EXECUTORS
from .responses import render
from .state import build_state

# collection -> the entity's name (event subjects, `data` keys, messages)
ENTITY = {
    "missions": "mission",
    "priorities": "priority",
    "todos": "todo",
    "decisions": "decision",
    "docs": "doc",
    "actions": "action",
}
def error_record(exc: ApiError) -> dict:
    """What `error` records on an action whose apply was refused."""
    return {"statusCode": exc.status, "message": exc.message, "at": iso(now())}


class PilotageService:
    def __init__(self, *, store, outbox, client, bus, settings):
        self.store = store
        self.outbox = outbox
        self.client = client
        self.bus = bus
        self.settings = settings

    # ------------------------------------------------------------------ shared plumbing
    def get_or_raise(self, name: str, caller: Caller, entity_id: str, *, session=None) -> dict:
        row = self.store.get(name, caller.workspace_id, entity_id, session=session) if is_id(entity_id) else None
        if row is None:
            raise NotFound(f"{ENTITY[name].capitalize()} not found")
        return row

    def _new(self, caller: Caller, data: dict) -> dict:
        stamp = now()
        return {"_id": new_id(), "orgId": caller.org_id, "workspaceId": caller.workspace_id, **data,
                "createdAt": stamp, "updatedAt": stamp}

    def _publish(self, subject: str, data: dict, caller: Caller, session) -> None:
        events.publish(self.outbox, subject, data, caller=caller, session=session)

    def _check_links(self, caller: Caller, data: dict, *, session=None) -> None:
        """A link to a mission / priority that is not in the workspace → 400."""
        for field, name in (("missionId", "missions"), ("priorityId", "priorities")):
            value = data.get(field)
            if value is not None and not self.store.exists(name, caller.workspace_id, value, session=session):
                raise BadRequest(f"{field}: no such {ENTITY[name]} in this workspace",
                                 details={field: [f"Unknown {ENTITY[name]}."]})

    def _insert(self, name: str, caller: Caller, data: dict, *, session=None) -> dict:
        doc = self._new(caller, data | {"createdBy": caller.user_id})
        created = self.store.insert(name, doc, session=session)
        self._publish(f"pilotage.{ENTITY[name]}.created", {ENTITY[name]: render(name, created)}, caller, session)
        return created

    def _patch(self, name: str, caller: Caller, current: dict, changes: dict, *, session=None) -> dict:
        if not changes:
            return current
        updated = self.store.update(name, caller.workspace_id, current["id"], changes, session=session)
        if updated is None:
            raise NotFound(f"{ENTITY[name].capitalize()} not found")
        diff = events.changes_between(current, updated, changes.keys())
        self._publish(f"pilotage.{ENTITY[name]}.updated", {ENTITY[name]: render(name, updated), "changes": diff},
                      caller, session)
        return updated

    # ------------------------------------------------------------------ generic CRUD
    def create(self, name: str, *, caller: Caller, data: dict) -> dict:
        require_pilotage(caller, "reviewer")
        with unit_of_work(self.client) as s:
            self._check_links(caller, data, session=s)
            return self._insert(name, caller, data, session=s)

    def get(self, name: str, *, caller: Caller, entity_id: str) -> dict:
        return self.get_or_raise(name, caller, entity_id)

    def list(self, name: str, *, caller: Caller, filters: dict | None = None, limit: int | None = None,
             cursor: str | None = None) -> tuple[list[dict], str | None]:
        """(rows, next cursor or None), in creation order."""
        filters = {k: v for k, v in (filters or {}).items() if v is not None}
        return self.store.page(name, caller.workspace_id, filters=filters, limit=limit, cursor=cursor)

    def update(self, name: str, *, caller: Caller, entity_id: str, data: dict) -> dict:
        current = self.get_or_raise(name, caller, entity_id)
        require_pilotage(caller, "reviewer")
        if name == "missions":
            return self.update_mission(caller=caller, mission=current, data=data)
        if name == "actions":
            return self.update_action(caller=caller, action=current, data=data)
        with unit_of_work(self.client) as s:
            self._check_links(caller, data, session=s)
            return self._patch(name, caller, current, data, session=s)

    def delete(self, name: str, *, caller: Caller, entity_id: str) -> dict:
        current = self.get_or_raise(name, caller, entity_id)
        require_pilotage(caller, "reviewer")
        with unit_of_work(self.client) as s:
            if not self.store.delete(name, caller.workspace_id, entity_id, session=s):
                raise NotFound(f"{ENTITY[name].capitalize()} not found")
            # Deleting a mission or priority unlinks what pointed at it (todos, decisions stay).
            if name == "missions":
                for linked in ("todos", "decisions"):
                    self._unlink(caller, linked, "missionId", entity_id, s)
            elif name == "priorities":
                self._unlink(caller, "todos", "priorityId", entity_id, s)
            self._publish(f"pilotage.{ENTITY[name]}.deleted", {ENTITY[name]: render(name, current)}, caller, s)
        return {"ok": True}

    def _unlink(self, caller: Caller, name: str, field: str, value: str, session) -> None:
        ids = self.store.unlink(name, caller.workspace_id, field, value, session=session)
        for row in self.store.find_by_ids(name, caller.workspace_id, ids, session=session):
            self._publish(f"pilotage.{ENTITY[name]}.updated",
                          {ENTITY[name]: render(name, row), "changes": {field: {"before": value, "after": None}}},
                          caller, session)

    # ------------------------------------------------------------------ missions
    @staticmethod
    def mission_changes(mission: dict, data: dict) -> dict:
        """The fields to set: `blocked` needs a reason (400), leaving `blocked` clears it."""
        changes = dict(data)
        status = data.get("status", mission.get("status"))
        if status == "blocked":
            reason = data["blockedReason"] if "blockedReason" in data else mission.get("blockedReason")
            if not reason:
                raise BadRequest("blockedReason: a blocked mission needs a blockedReason",
                                 details={"blockedReason": ["Required when status is blocked."]})
            changes["blockedReason"] = reason
        else:
            if data.get("blockedReason"):
                raise BadRequest("blockedReason: only a blocked mission has a blockedReason",
                                 details={"blockedReason": ["Only allowed when status is blocked."]})
            changes["blockedReason"] = None
        return {k: v for k, v in changes.items() if mission.get(k) != v or k in data}

    def update_mission(self, *, caller: Caller, mission: dict, data: dict, session=None) -> dict:
        changes = self.mission_changes(mission, data)
        if session is not None:
            return self._patch("missions", caller, mission, changes, session=session)
        with unit_of_work(self.client) as s:
            return self._patch("missions", caller, mission, changes, session=s)

    # ------------------------------------------------------------------ state
    def state(self, *, caller: Caller, profile=None, intent=None, detail_level=None) -> dict:
        return self.state_for(workspace_id=caller.workspace_id, role=caller.pilotage_role or "viewer",
                              profile=profile, intent=intent, detail_level=detail_level)

    def state_for(self, *, workspace_id: str, role: str | None, profile=None, intent=None, detail_level=None) -> dict:
        if not is_id(workspace_id):
            raise NotFound("Workspace not found")
        return build_state(self.store, workspace_id=workspace_id, role=role, profile=profile, intent=intent,
                           detail_level=detail_level, default_cycle=self.settings.default_cycle)

    def set_cycle(self, *, caller: Caller, cycle: str) -> dict:
        require_pilotage(caller, "owner")
        with unit_of_work(self.client) as s:
            self.store.set_settings(caller.workspace_id, caller.org_id, {"cycle": cycle}, session=s)
            self._publish("pilotage.cycle.updated", {"cycle": cycle}, caller, s)
        return self.state(caller=caller)

    # ------------------------------------------------------------------ proposed actions
    def propose(self, *, caller: Caller, data: dict) -> dict:
        require_pilotage(caller, "reviewer")
        return self._propose(caller, data)

    def _propose(self, caller: Caller, data: dict) -> dict:
        row = {"actionType": data["actionType"], "explanation": data["explanation"],
               "payload": data.get("payload") or {}, "status": "suggested", "reason": None, "result": None,
               "error": None, "proposedBy": {"userId": caller.user_id, "via": caller.via},
               "reviewedBy": None, "reviewedAt": None, "appliedBy": None, "appliedAt": None, "applyingAt": None}
        with unit_of_work(self.client) as s:
            created = self.store.insert("actions", self._new(caller, row), session=s)
            self._publish("pilotage.action.proposed", {"action": render("actions", created)}, caller, s)
        return created

    def propose_from_command(self, payload: dict) -> dict:
        """cmd.pilotage.propose_action — how an agent proposes without going through HTTP."""
        actor = payload.get("actor") or {}
        caller = Caller(user_id=actor.get("userId") or "system", via=actor.get("via") or "agent",
                        org={"id": payload.get("orgId")}, ws={"id": payload["workspaceId"]})
        data = load(schemas.ActionIn(), {k: payload.get(k) for k in ("actionType", "explanation", "payload")
                                         if k in payload})
        return render("actions", self._propose(caller, data))

    def update_action(self, *, caller: Caller, action: dict, data: dict) -> dict:
        """PATCH: only a `suggested` action may still be edited (409 otherwise)."""
        if action["status"] != "suggested":
            raise Conflict(f"Only a suggested action can be edited (status: {action['status']})")
        if "payload" in data and data["payload"] is None:
            data["payload"] = {}
        with unit_of_work(self.client) as s:
            return self._patch("actions", caller, action, data, session=s)

    def review(self, *, caller: Caller, action_id: str, approved: bool, reason: str | None) -> dict:
        action = self.get_or_raise("actions", caller, action_id)
        require_pilotage(caller, "reviewer")
        if action["status"] != "suggested":
            raise Conflict(f"Only a suggested action can be reviewed (status: {action['status']})")
        changes = {"status": "approved" if approved else "rejected", "reason": reason or None,
                   "reviewedBy": caller.user_id, "reviewedAt": now()}
        with unit_of_work(self.client) as s:
            updated = self.store.update("actions", caller.workspace_id, action_id, changes,
                                        expect={"status": "suggested"}, session=s)
            if updated is None:
                raise Conflict("The action was reviewed concurrently")
            self._publish("pilotage.action.reviewed", {"action": render("actions", updated)}, caller, s)
        return updated

    def apply(self, *, caller: Caller, action_id: str) -> dict:
        """Perform an approved action through the service that owns its target.

        Success → status `applied`, `result` = what the owner returned. Refusal (e.g. boards' 404
        for a deleted card, 400 for a bad payload) → the action stays `approved`, `error` records
        {statusCode, message, at}, and the caller receives that same error.
        """
        action = self.get_or_raise("actions", caller, action_id)
        require_pilotage(caller, "reviewer")
        if action["status"] != "approved":
            raise Conflict(f"Only an approved action can be applied (status: {action['status']})")
        executor = EXECUTORS.get(action["actionType"])
        if executor is None:
            raise Conflict(f"Action type '{action['actionType']}' cannot be applied "
                           f"(known: {', '.join(sorted(EXECUTORS))})")
        stale = now() - timedelta(seconds=self.settings.apply_claim_seconds)
        if self.store.claim_action(caller.workspace_id, action_id, stale) is None:
            raise Conflict("The action is being applied or is no longer approved")
        try:
            try:
                payload = load(executor.schema(), action.get("payload") or {})
            except ValidationError as exc:
                raise BadRequest(f"payload: {validation_message(exc.normalized_messages())}",
                                 details=exc.normalized_messages()) from exc
            if executor.local:
                with unit_of_work(self.client) as s:
                    result = executor.run(self, caller, payload, session=s)
                    return self._mark_applied(caller, action_id, result, s)
            result = executor.run(self, caller, payload, session=None)
            with unit_of_work(self.client) as s:
                return self._mark_applied(caller, action_id, result, s)
        except ApiError as exc:
            self.store.update("actions", caller.workspace_id, action_id,
                              {"error": error_record(exc), "applyingAt": None})
            raise
        except BaseException:
            self.store.update("actions", caller.workspace_id, action_id, {"applyingAt": None})
            raise

    def _mark_applied(self, caller: Caller, action_id: str, result, session) -> dict:
        updated = self.store.update("actions", caller.workspace_id, action_id,
                                    {"status": "applied", "result": result, "error": None,
                                     "appliedBy": caller.user_id, "appliedAt": now(), "applyingAt": None},
                                    expect={"status": "approved"}, session=session)
        if updated is None:
            raise Conflict("The action is no longer approved")
        self._publish("pilotage.action.applied", {"action": render("actions", updated)}, caller, session)
        return updated
