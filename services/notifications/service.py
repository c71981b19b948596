"""Notifications: who hears about an activity, what they see, and reading them."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from libs.common.errors import BadRequest, NotFound
from libs.common.mongo import is_id, now
from libs.common.paging import decode_cursor, encode_cursor

from .storage import NotificationStore, notification_id

# The boards activity subjects (docs/CONTRACTS.md) and the activity type each one carries.
ACTIVITY_SUBJECTS = {
    "boards.card.created": "card_created",
    "boards.card.updated": "card_updated",
    "boards.card.moved": "card_moved",
    "boards.card.archived": "card_archived",
    "boards.card.deleted": "card_deleted",
    "boards.card.assigned": "card_assigned",
    "boards.comment.added": "comment_added",
    "boards.member.added": "member_added",
    "boards.member.removed": "member_removed",
}
COMMENT_EXCERPT = 280
MAX_LIMIT = 200
DEFAULT_LIMIT = 50


class BadEvent(ValueError):
    """An event whose shape breaks the contract: retried, then parked on the dead-letter subject."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise BadEvent(message)


def activity_type(envelope: dict) -> str:
    kind = ACTIVITY_SUBJECTS.get(envelope.get("type"))
    _require(kind is not None, f"not an activity subject: {envelope.get('type')!r}")
    return kind


def recipients(envelope: dict) -> list[str]:
    """Every project member but the actor; on card_assigned also the new assignee (even when
    not, or not yet, a project member). The actor never notifies themself.

    >>> recipients({"type": "boards.card.moved", "actor": {"userId": "a"},
    ...             "data": {"projectMemberIds": ["a", "b"]}})
    ['b']
    """
    kind = activity_type(envelope)
    data = envelope.get("data")
    _require(isinstance(data, dict), "data must be an object")
    members = data.get("projectMemberIds")
    _require(isinstance(members, list) and all(isinstance(m, str) for m in members),
             "data.projectMemberIds must be a list of user ids")
    actor_id = (envelope.get("actor") or {}).get("userId")
    users = list(dict.fromkeys(members))
    if kind == "card_assigned":
        assignee = data.get("assigneeId")
        _require(assignee is None or isinstance(assignee, str), "data.assigneeId must be a user id or null")
        if assignee and assignee not in users:
            users.append(assignee)
    return [u for u in users if u != actor_id and is_id(u)]


def _parse_time(value) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    return now()


def _meta(kind: str, data: dict) -> dict:
    if kind == "card_moved":
        meta = data.get("meta")
        _require(isinstance(meta, dict), "data.meta must be an object on card_moved")
        return {k: meta.get(k) for k in ("fromColumn", "toColumn", "fromColumnId", "toColumnId") if k in meta}
    if kind == "card_updated":
        changes = data.get("changes") or {}
        _require(isinstance(changes, dict), "data.changes must be an object")
        return {"changes": changes}
    if kind == "card_assigned":
        return {"assigneeId": data.get("assigneeId"), "previousAssigneeId": data.get("previousAssigneeId")}
    if kind == "comment_added":
        comment = data.get("comment") or {}
        _require(isinstance(comment, dict), "data.comment must be an object")
        content = comment.get("content") or ""
        return {"commentId": comment.get("id"), "content": content[:COMMENT_EXCERPT],
                "truncated": len(content) > COMMENT_EXCERPT}
    if kind in ("member_added", "member_removed"):
        member = data.get("member") or {}
        _require(isinstance(member, dict), "data.member must be an object")
        return {"userId": member.get("userId"), "email": member.get("email")}
    if kind == "card_created":
        card = data.get("card") or {}
        return {"columnId": card.get("columnId")} if card.get("columnId") else {}
    return {}


def build_activity(envelope: dict) -> dict:
    """The activity embedded in each notification: the reference's {type, actorId, meta, createdAt}
    plus the context a client needs to render and link it without another call."""
    kind = activity_type(envelope)
    data = envelope["data"]
    project = data.get("project") or {}
    card = data.get("card") or {}
    _require(isinstance(project, dict) and isinstance(card, dict), "data.project and data.card must be objects")
    actor = envelope.get("actor") or {}
    return {
        "type": kind,
        "actorId": actor.get("userId"),
        "actorVia": actor.get("via"),
        "meta": _meta(kind, data),
        "orgId": envelope.get("orgId"),
        "workspaceId": envelope.get("workspaceId"),
        "projectId": project.get("id") or envelope.get("projectId"),
        "projectName": project.get("name"),
        "cardId": card.get("id"),
        "cardTitle": card.get("title"),
        "eventId": envelope["id"],
        "createdAt": _parse_time(envelope.get("occurredAt")),
    }


class SeqClock:
    """Microseconds since the epoch, strictly increasing within the process."""

    def __init__(self):
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns() // 1000)
            return self._last


def parse_cursor(cursor: str | None) -> tuple[int, str] | None:
    after = decode_cursor(cursor, int, str)
    if after is not None and not is_id(after[1]):
        raise BadRequest("Invalid cursor")
    return after


def make_cursor(doc: dict) -> str:
    return encode_cursor(doc["seq"], doc["_id"])


class NotificationsService:
    def __init__(self, *, store: NotificationStore, settings):
        self.store = store
        self.settings = settings
        self.clock = SeqClock()

    # ---------------------------------------------------------------- from events
    def record_activity(self, *, envelope: dict) -> list[dict]:
        """Store one notification per recipient of a boards activity event; returns the new ones
        (none when the event was already handled)."""
        _require(isinstance(envelope.get("id"), str) and envelope["id"], "event without id")
        users = recipients(envelope)
        if not users:
            return []
        activity = build_activity(envelope)
        seq = self.clock.next()
        created = now()
        docs = [{"_id": notification_id(envelope["id"], user), "userId": user, "orgId": envelope.get("orgId"),
                 "workspaceId": envelope.get("workspaceId"), "projectId": activity["projectId"],
                 "eventId": envelope["id"], "seq": seq, "readAt": None, "activity": activity,
                 "createdAt": created} for user in users]
        return self.store.insert_many(docs)

    def record_requested(self, *, envelope: dict) -> list[dict]:
        """Store the notifications an automation's `notify` action asks for
        (`automations.notification.requested`, services/automations/events.py): one per user in
        `data.userIds`, activity type `automation`, the message in `meta`."""
        _require(isinstance(envelope.get("id"), str) and envelope["id"], "event without id")
        data = envelope.get("data")
        _require(isinstance(data, dict), "data must be an object")
        users = data.get("userIds")
        _require(isinstance(users, list) and all(isinstance(u, str) for u in users), "data.userIds must be a list")
        project, card, rule = data.get("project") or {}, data.get("card") or {}, data.get("rule") or {}
        actor = envelope.get("actor") or {}
        activity = {"type": "automation", "actorId": actor.get("userId"), "actorVia": actor.get("via"),
                    "meta": {"message": str(data.get("message") or "")[:1000], "ruleId": rule.get("id"),
                             "ruleName": rule.get("name")},
                    "orgId": envelope.get("orgId"), "workspaceId": envelope.get("workspaceId"),
                    "projectId": project.get("id") or envelope.get("projectId"), "projectName": project.get("name"),
                    "cardId": card.get("id"), "cardTitle": card.get("title"), "eventId": envelope["id"],
                    "createdAt": _parse_time(envelope.get("occurredAt"))}
        seq, created = self.clock.next(), now()
        docs = [{"_id": notification_id(envelope["id"], user), "userId": user, "orgId": envelope.get("orgId"),
                 "workspaceId": envelope.get("workspaceId"), "projectId": activity["projectId"],
                 "eventId": envelope["id"], "seq": seq, "readAt": None, "activity": activity,
                 "createdAt": created} for user in dict.fromkeys(users) if is_id(user)]
        return self.store.insert_many(docs)

    def record_org_added(self, *, envelope: dict) -> list[dict]:
        """Tell a user someone else added them to an organization (`identity.org_member.added`;
        joining by themself, e.g. accepting an invitation, tells nothing)."""
        _require(isinstance(envelope.get("id"), str) and envelope["id"], "event without id")
        data = envelope.get("data")
        _require(isinstance(data, dict), "data must be an object")
        user = data.get("userId")
        _require(is_id(user), "data.userId missing")
        actor = envelope.get("actor") or {}
        if actor.get("userId") == user:
            return []
        activity = {"type": "org_member_added", "actorId": actor.get("userId"), "actorVia": actor.get("via"),
                    "meta": {"orgId": data.get("orgId"), "orgSlug": data.get("orgSlug"),
                             "orgName": data.get("orgName"), "role": data.get("role")},
                    "orgId": data.get("orgId"), "workspaceId": None, "projectId": None, "projectName": None,
                    "cardId": None, "cardTitle": None, "eventId": envelope["id"],
                    "createdAt": _parse_time(envelope.get("occurredAt"))}
        doc = {"_id": notification_id(envelope["id"], user), "userId": user, "orgId": data.get("orgId"),
               "workspaceId": None, "projectId": None, "eventId": envelope["id"], "seq": self.clock.next(),
               "readAt": None, "activity": activity, "createdAt": now()}
        return self.store.insert_many([doc])

    def purge_tenant(self, tenant) -> int:
        """Forget the notifications of deleted workspaces (and of the whole org when it went)."""
        removed = sum(self.store.delete_for_workspace(ws_id) for ws_id in tenant.workspace_ids)
        if tenant.whole_org and tenant.org_id:
            removed += self.store.delete_for_org(tenant.org_id)
        return removed

    def forget_member(self, *, user_id: str, workspace_id: str | None = None, org_id: str | None = None) -> int:
        """A user who left a workspace (or a whole org) no longer sees what happened in it."""
        _require(is_id(user_id), "data.userId missing")
        _require(bool(workspace_id or org_id), "data.workspaceId or data.orgId missing")
        return self.store.delete_for_member(user_id=user_id, workspace_id=workspace_id, org_id=org_id)

    def purge_expired(self) -> int:
        return self.store.purge(before=now() - timedelta(days=self.settings.retention_days))

    # ---------------------------------------------------------------- for the caller
    def list(self, *, caller, limit: int = DEFAULT_LIMIT, unread_only: bool = False,
             cursor: str | None = None) -> tuple[list[dict], str | None]:
        """Newest first; returns (page of stored documents, next cursor or None)."""
        rows = self.store.list(user_id=caller.user_id, limit=limit + 1, unread_only=unread_only,
                               after=parse_cursor(cursor))
        next_cursor = make_cursor(rows[limit - 1]) if len(rows) > limit else None
        return rows[:limit], next_cursor

    def count(self, *, caller) -> dict:
        return {"count": self.store.count_unread(user_id=caller.user_id)}

    def read(self, *, caller, notification_id: str) -> dict:
        doc = self.store.mark_read(user_id=caller.user_id, notification_id=notification_id)
        if doc is None:
            raise NotFound("Notification not found")
        return doc

    def read_all(self, *, caller) -> dict:
        updated = self.store.mark_all_read(user_id=caller.user_id)
        self.store.prune_read(user_id=caller.user_id, keep=self.settings.keep_read)
        return {"ok": True, "updated": updated}
