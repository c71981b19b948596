"""Who acts on boards, and the activity events boards publishes (docs/CONTRACTS.md, "boards activity").

Every event is self-contained: the project, its member ids after the change, the card summary,
before/after changes, column names on moves. Consumers (notifications, automations, pilotage)
never call back to render them.

    boards.card.moved  data = {"activity": "card_moved", "project": {"id", "name"},
                               "projectMemberIds": [...], "card": {...},
                               "meta": {"fromColumn": "To Do", "toColumn": "Done",
                                        "fromColumnId": "...", "toColumnId": "..."}}
"""
from __future__ import annotations

from dataclasses import dataclass

from libs.common.bus import event
from libs.common.context import Caller
from libs.common.mongo import iso

SUBJECTS = {
    "card_created": "boards.card.created",
    "card_updated": "boards.card.updated",
    "card_moved": "boards.card.moved",
    "card_archived": "boards.card.archived",
    "card_deleted": "boards.card.deleted",
    "card_assigned": "boards.card.assigned",
    "comment_added": "boards.comment.added",
    "member_added": "boards.member.added",
    "member_removed": "boards.member.removed",
}


# Keys of a command's `actor` that boards copies into the actor of the events it publishes.
PASSED_THROUGH = ("ruleId", "chain")


@dataclass(frozen=True)
class Actor:
    """The caller of a request or the `actor` of a command, inside one workspace."""

    user_id: str | None
    workspace_id: str
    org_id: str | None = None
    via: str = "user"
    name: str = ""
    email: str = ""
    ws_role: str | None = None
    # What an automation's command adds to its actor ({"ruleId", "chain": {id, depth, path}}): boards
    # passes it through untouched into the events the command causes, so the automations service can
    # follow a chain of rules and stop its loops (docs/CONTRACTS.md, automations).
    extra: tuple = ()

    @classmethod
    def from_caller(cls, caller: Caller) -> "Actor":
        return cls(user_id=caller.user_id, workspace_id=caller.workspace_id, org_id=caller.org_id, via=caller.via,
                   name=caller.name or "", email=caller.email or "", ws_role=caller.ws_role)

    @classmethod
    def from_command(cls, payload: dict) -> "Actor":
        actor = payload.get("actor") or {}
        if not isinstance(actor, dict):
            raise ValueError("actor must be an object")
        extra = tuple((k, actor[k]) for k in PASSED_THROUGH if actor.get(k) is not None)
        return cls(user_id=actor.get("userId"), workspace_id=payload["workspaceId"], org_id=payload.get("orgId"),
                   via=actor.get("via") or "system", extra=extra)

    def envelope_actor(self) -> dict:
        return {"userId": self.user_id, "via": self.via} | dict(self.extra)


def card_summary(card: dict) -> dict:
    return {"id": card["id"], "title": card["title"], "projectId": card["projectId"], "columnId": card["columnId"],
            "scopeId": card.get("scopeId"), "priority": card.get("priority"), "assigneeId": card.get("assigneeId"),
            "archived": card.get("archived", False), "dueDate": iso(card.get("dueDate")),
            "labelIds": list(card.get("labelIds") or [])}


def member_ids(project: dict) -> list[str]:
    return [m["userId"] for m in project.get("members") or []]


def envelope(subject: str, data: dict, *, actor: Actor, project: dict) -> dict:
    return event(subject, data, actor=actor.envelope_actor(), org_id=project.get("orgId"),
                 workspace_id=project["workspaceId"], project_id=project["id"])


def activity(kind: str, *, actor: Actor, project: dict, card: dict | None = None, **extra) -> dict:
    """The envelope of one activity (`kind` in SUBJECTS); `extra` adds changes/meta/comment/member…"""
    data = {"activity": kind, "project": {"id": project["id"], "name": project["name"]},
            "projectMemberIds": member_ids(project), "card": card_summary(card) if card else None}
    data.update(extra)
    return envelope(SUBJECTS[kind], data, actor=actor, project=project)


def project_event(verb: str, *, actor: Actor, project: dict) -> dict:
    data = {"project": {"id": project["id"], "name": project["name"], "description": project.get("description"),
                        "workspaceId": project["workspaceId"], "orgId": project.get("orgId")},
            "projectMemberIds": member_ids(project)}
    return envelope(f"boards.project.{verb}", data, actor=actor, project=project)


def checklist_completed(*, actor: Actor, project: dict, card: dict) -> dict:
    data = {"card": card_summary(card), "project": {"id": project["id"], "name": project["name"]},
            "projectMemberIds": member_ids(project)}
    return envelope("boards.checklist.completed", data, actor=actor, project=project)
