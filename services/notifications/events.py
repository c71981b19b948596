"""What notifications consumes (and the one thing it announces).

Consumes, as the durable pull consumer "notifications" (shared by every worker replica):
    BOARDS    boards.card.created|updated|moved|archived|deleted|assigned, boards.comment.added,
              boards.member.added|removed  -> one notification per recipient (service.recipients)
              e.g. {"id": "...", "type": "boards.card.moved", "actor": {"userId": "A", "via": "user"},
                    "orgId": "...", "workspaceId": "...", "projectId": "P",
                    "data": {"activity": "card_moved", "project": {"id": "P", "name": "Web"},
                             "projectMemberIds": ["A", "B"], "card": {"id": "C", "title": "Login"},
                             "meta": {"fromColumn": "To Do", "toColumn": "In Progress"}}}
    AUTOMATIONS automations.notification.requested {userIds, message, rule, project, card}
              -> one notification per user (activity type "automation": an automation's `notify` action)
    IDENTITY  identity.org.deleted {orgId, ...}, identity.workspace.deleted {workspaceId, ...}
              -> delete that org's / workspace's notifications
              identity.member.removed {workspaceId, orgId, userId}, identity.org_member.removed
              {orgId, userId, workspaceIds} -> delete that user's notifications of the workspace / org
              (what they can no longer see, they are no longer told about)
              identity.org_member.added {orgId, userId, role, orgSlug, orgName} -> a notification to the
              user someone else added (activity type "org_member_added": they may leave the org)
A handler that raises is retried (nak with back-off) up to CONSUMER_MAX_DELIVER deliveries, then the
message is parked on `dlq.notifications` and recorded in `dead_letters` (libs/common/bus.py).

Announces (NATS core, not persisted): `live.notifications.<userId>` {"ids": [...]} after storing
new notifications, to wake that user's open SSE streams (stream.py).
"""
from __future__ import annotations

import logging

from libs.common.kit import on_tenant_deleted

from .service import ACTIVITY_SUBJECTS, NotificationsService
from .schemas import notifications_out
from .stream import LIVE_SUBJECT

log = logging.getLogger(__name__)
IDENTITY_SUBJECTS = ["identity.member.removed", "identity.org_member.removed", "identity.org_member.added"]


def register(worker, service: NotificationsService, announce) -> None:
    """Declare every subscription of the service. `announce(subject, payload)` is a best-effort,
    thread-safe core publish."""

    def on_activity(envelope: dict) -> None:
        announce_new(service.record_activity(envelope=envelope))

    def on_automation(envelope: dict) -> None:
        announce_new(service.record_requested(envelope=envelope))

    def announce_new(created: list[dict]) -> None:
        """Wake the recipients' streams with the new rows themselves (the stream sends them without
        reading them back; a lost wake-up is caught by its safety poll)."""
        by_user: dict[str, list[dict]] = {}
        for doc in created:
            by_user.setdefault(doc["userId"], []).append(doc)
        for user_id, docs in by_user.items():
            rows = [row | {"seq": d["seq"]} for row, d in zip(notifications_out(docs), docs)]
            announce(f"{LIVE_SUBJECT}.{user_id}", {"ids": [d["_id"] for d in docs], "rows": rows})

    def on_identity(envelope: dict) -> None:
        data = envelope.get("data") or {}
        kind = envelope.get("type")
        if kind == "identity.member.removed":
            service.forget_member(user_id=data.get("userId"), workspace_id=data.get("workspaceId"))
        elif kind == "identity.org_member.removed":
            service.forget_member(user_id=data.get("userId"), org_id=data.get("orgId"))
        elif kind == "identity.org_member.added":
            announce_new(service.record_org_added(envelope=envelope))

    # Both handlers write notifications whose ids derive from the event id (a redelivery inserts
    # nothing): no processed-id bookkeeping needed.
    worker.consume("BOARDS", on_activity, subjects=sorted(ACTIVITY_SUBJECTS), idempotent=True)
    on_tenant_deleted(worker, service.purge_tenant)
    worker.consume("IDENTITY", on_identity, subjects=IDENTITY_SUBJECTS)
    worker.consume("AUTOMATIONS", on_automation, subjects=["automations.notification.requested"], idempotent=True)
