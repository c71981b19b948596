"""What webhooks consumes and announces — every subscription of the worker is declared here.

Consumed (durable pull consumer "webhooks" per stream, shared by every worker replica; the fan-out is
idempotent by itself: a delivery's id derives from (event id, endpoint id)):
    BOARDS       boards.card.created|updated|moved|archived|deleted|assigned, boards.comment.added,
                 boards.member.added|removed (the nine activities), boards.checklist.completed
    PILOTAGE     pilotage.action.proposed|applied, pilotage.document.submitted|reviewed
    AGENTS       agents.mission.updated, agents.proposal.created
    AUTOMATIONS  automations.run.failed
                 -> one delivery per enabled endpoint of the event's workspace subscribed to its type
                    (catalog.py), e.g. boards.card.moved -> `card_moved`:
                    {"id": "<event id>", "type": "card_moved", "timestamp": "<occurredAt>",
                     "workspaceId": "…", "data": {"activity": "card_moved", "project": {…}, "card": {…},
                                                  "meta": {"fromColumn": "To Do", …}, "actor": {…},
                                                  "projectId": "…"}}
    IDENTITY     identity.org.deleted, identity.workspace.deleted -> their endpoints and deliveries go

Announced (NATS core, not persisted): `live.webhooks.due` {} after new deliveries are recorded, so
every worker's dispatcher looks at once (each also finds them by its due-query, later).
Nothing is published to a stream: no other service acts on webhook changes.
"""
from __future__ import annotations

import logging

from libs.common.kit import on_tenant_deleted
from libs.common.mongo import now_ms

from .catalog import SUBJECTS
from .fanout import Fanout

log = logging.getLogger(__name__)
WAKE_SUBJECT = "live.webhooks.due"


def register(worker, *, stores, fanout: Fanout, settings) -> None:
    """Every subscription and periodic job of the webhooks worker, in one place."""
    def on_event(envelope: dict) -> None:
        fanout.handle(envelope)

    for stream, subjects in SUBJECTS.items():
        worker.consume(stream, on_event, subjects=list(subjects), idempotent=True)

    def purge_tenant(tenant) -> list[dict]:
        removed = [stores.delete_tenant({"workspaceId": ws_id}) for ws_id in tenant.workspace_ids]
        if tenant.whole_org and tenant.org_id:
            removed.append(stores.delete_tenant({"orgId": tenant.org_id}))
        return removed

    def prune() -> None:
        """Terminal deliveries past the retention, and beyond each endpoint's newest N (indexed)."""
        removed, cutoff = 0, now_ms() - settings.retention_days * 86400_000
        for endpoint_id in stores.endpoints.ids():
            removed += stores.deliveries.prune_older(endpoint_id, cutoff)
            removed += stores.deliveries.prune_beyond(endpoint_id, settings.keep_per_endpoint)
        if removed:
            log.info("pruned %d old webhook deliveries", removed)

    on_tenant_deleted(worker, purge_tenant)
    worker.every(600, prune)
