"""What `apply` does for each actionType. Cards belong to boards: their actions go through
boards' NATS commands (`cmd.boards.<verb>`, which raise boards' own error: 404 for a card that
is gone, 400 for a bad column…). Todos and missions are ours: those actions run locally, in the
same transaction that marks the action applied.

| actionType | payload | performed by | result |
|---|---|---|---|
| move_card | {cardId, targetColumn (column id or name), order?} | cmd.boards.move_card | {card} |
| create_card | {projectId, columnId or columnName, title, description?, priority?, startDate?, dueDate?, assigneeId?, checklist?, labelIds?} | cmd.boards.create_card | {card} |
| update_card | {cardId, changes: {…PATCH card fields}} (or the fields flat beside cardId) | cmd.boards.update_card | {card} |
| create_todo | {label, status?, missionId?, priorityId?} | pilotage | {todo} |
| update_mission_status | {missionId, status, blockedReason?} | pilotage | {mission} |
"""
from __future__ import annotations

from dataclasses import dataclass

from . import schemas
from .responses import render


@dataclass(frozen=True)
class Executor:
    schema: type
    run: callable
    local: bool


def _boards(service, caller, verb: str, body: dict):
    body = body | {"workspaceId": caller.workspace_id, "orgId": caller.org_id, "actor": caller.actor()}
    return service.bus.call("boards", verb, body, timeout=service.settings.command_timeout)


def move_card(service, caller, payload, session=None):
    body = {"cardId": payload["cardId"], "targetColumn": payload["targetColumn"]}
    if payload.get("order") is not None:
        body["order"] = payload["order"]
    return {"card": _boards(service, caller, "move_card", body)}


def create_card(service, caller, payload, session=None):
    return {"card": _boards(service, caller, "create_card", dict(payload))}


def update_card(service, caller, payload, session=None):
    body = {"cardId": payload["cardId"], "changes": payload["changes"]}
    return {"card": _boards(service, caller, "update_card", body)}


def create_todo(service, caller, payload, session=None):
    data = {k: payload.get(k) for k in ("label", "status", "missionId", "priorityId")}
    service._check_links(caller, data, session=session)
    return {"todo": render("todos", service._insert("todos", caller, data, session=session))}


def update_mission_status(service, caller, payload, session=None):
    mission = service.get_or_raise("missions", caller, payload["missionId"], session=session)
    data = {"status": payload["status"]}
    if payload.get("blockedReason") is not None:
        data["blockedReason"] = payload.get("blockedReason")
    return {"mission": render("missions", service.update_mission(caller=caller, mission=mission, data=data,
                                                                 session=session))}


EXECUTORS = {
    "move_card": Executor(schemas.MoveCardPayload, move_card, local=False),
    "create_card": Executor(schemas.CreateCardPayload, create_card, local=False),
    "update_card": Executor(schemas.UpdateCardPayload, update_card, local=False),
    "create_todo": Executor(schemas.TodoIn, create_todo, local=True),
    "update_mission_status": Executor(schemas.MissionStatusPayload, update_mission_status, local=True),
}
