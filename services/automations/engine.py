"""Pure rules of the engine: which triggers a boards event fires, what the conditions see, the chain.

Table-driven and free of I/O so that it can be read (and tested) at a glance.

| trigger               | fired by (boards event)                                                        |
|-----------------------|--------------------------------------------------------------------------------|
| task_created          | boards.card.created                                                            |
| task_added_to_board   | boards.card.created; boards.card.updated restoring an archived card            |
| task_moved            | boards.card.moved (the card changed column)                                    |
| task_status_changed   | boards.card.moved, boards.card.archived, boards.card.updated un-archiving      |
| task_assigned         | boards.card.assigned (a new, non-null assignee)                                |
| checklist_complete    | boards.checklist.completed (the last open item got checked)                    |
| due_date_reached      | the scheduler (scheduler.py), when a card's due date passes                    |
"""
from __future__ import annotations

CREATED = "boards.card.created"
UPDATED = "boards.card.updated"
MOVED = "boards.card.moved"
ARCHIVED = "boards.card.archived"
ASSIGNED = "boards.card.assigned"
CHECKLIST = "boards.checklist.completed"
DUE = "automations.due_date.reached"  # the scheduler's own (internal, never published) envelope type


def restored(envelope: dict) -> bool:
    change = ((envelope.get("data") or {}).get("changes") or {}).get("archived") or {}
    return change.get("before") is True and change.get("after") is False


def triggers_for(envelope: dict) -> list[str]:
    kind = envelope.get("type")
    if kind == CREATED:
        return ["task_created", "task_added_to_board"]
    if kind == MOVED:
        return ["task_moved", "task_status_changed"]
    if kind == ARCHIVED:
        return ["task_status_changed"]
    if kind == UPDATED and restored(envelope):
        return ["task_status_changed", "task_added_to_board"]
    if kind == ASSIGNED and (envelope.get("data") or {}).get("assigneeId"):
        return ["task_assigned"]
    if kind == CHECKLIST:
        return ["checklist_complete"]
    if kind == DUE:
        return ["due_date_reached"]
    return []


def facts(card: dict, *, from_column_id: str | None = None, to_column_id: str | None = None) -> dict:
    """What conditions are checked against: the card after the change, and the move's columns."""
    return {"card": card, "fromColumnId": from_column_id,
            "toColumnId": to_column_id if to_column_id is not None else card.get("columnId")}


def facts_of(envelope: dict) -> dict:
    data = envelope.get("data") or {}
    meta = data.get("meta") or {}
    return facts(data.get("card") or {}, from_column_id=meta.get("fromColumnId"),
                 to_column_id=meta.get("toColumnId"))


CHECKS = {
    "fromColumnId": lambda f, v: f["fromColumnId"] is not None and f["fromColumnId"] == v,
    "toColumnId": lambda f, v: f["toColumnId"] == v,
    "columnId": lambda f, v: f["card"].get("columnId") == v,
    "priority": lambda f, v: f["card"].get("priority") == v,
    "labelId": lambda f, v: v in (f["card"].get("labelIds") or []),
    "assigneeId": lambda f, v: f["card"].get("assigneeId") == v,
}


def check(conditions: dict, fact: dict) -> dict[str, bool]:
    """{condition: holds?} for each condition of a rule."""
    return {key: bool(CHECKS[key](fact, value)) for key, value in (conditions or {}).items() if key in CHECKS}


def chain_of(envelope: dict) -> dict:
    """The chain an event belongs to: the one its actor carries (a change an automation made), else a
    new chain started by this event. `path` lists the "ruleId:cardId" runs that led here."""
    actor = envelope.get("actor") or {}
    chain = actor.get("chain") if actor.get("via") == "automation" else None
    if isinstance(chain, dict) and chain.get("id") and isinstance(chain.get("depth"), int):
        path = [p for p in chain.get("path") or [] if isinstance(p, str)]
        return {"id": str(chain["id"]), "depth": chain["depth"], "path": path}
    return {"id": envelope["id"], "depth": 0, "path": []}


def run_key(rule_id: str, card_id: str | None) -> str:
    return f"{rule_id}:{card_id}"
