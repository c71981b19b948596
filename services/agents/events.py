"""What agents consumes and publishes — every subscription of the worker is declared here.

Consumed (durable pull consumers "agents", shared by every worker replica):
    AGENTS    agents.mission.queued {mission: {id}, reason: created|approved|rejected}
              -> the worker takes the mission if no live worker holds it (runner.py): runs it, or applies
                 what was approved and ends it. Idempotent by itself: the claim is a lease on the mission.
    IDENTITY  identity.org.deleted {orgId, workspaceIds}, identity.workspace.deleted {workspaceId}
              -> that org's / workspace's agents, missions, steps, proposals, drafts and counters are deleted

Published (through the outbox, stream AGENTS; consumed by webhooks as mission_updated / proposal_created):
    agents.mission.updated   {mission: {id, agentId, projectId, cardId, status, error, usage, createdBy},
                              previousStatus, reason}                 on every status change
    agents.proposal.created  {proposal: {id, missionId, agentId, kind, payload, preview, status},
                              mission: {id, agentId, cardId, projectId}}
    agents.mission.queued    the worker's own work item (above)
    Their actor: {userId: <the mission's creator>, via: "agent", agentId, missionId}.

Announced (NATS core, best effort): live.agents.missions.<missionId> {rows: [step]} — the SSE streams' wake-up.

Commands called: cmd.boards.get_card | project_refs | add_comment | update_card | move_card |
add_checklist_item | update_checklist_item | create_card | create_project_from_plan, cmd.pilotage.get_documents.
"""
from __future__ import annotations

from libs.common.kit import on_tenant_deleted


def register(worker, *, stores, runner, settings) -> None:
    """Every subscription and periodic job of the agents worker, in one place."""

    def purge_tenant(tenant) -> list[dict]:
        removed = [stores.delete_tenant({"workspaceId": ws_id}) for ws_id in tenant.workspace_ids]
        if tenant.whole_org and tenant.org_id:
            removed.append(stores.delete_tenant({"orgId": tenant.org_id}))
        return removed

    def prune_days() -> None:
        from datetime import datetime, timedelta, timezone

        stores.missions.prune_days((datetime.now(timezone.utc) - timedelta(days=2)).strftime("%Y%m%d"))

    def on_queued(envelope: dict) -> None:
        runner.on_queued(envelope)

    worker.consume("AGENTS", on_queued, subjects=["agents.mission.queued"], idempotent=True)
    on_tenant_deleted(worker, purge_tenant)
    worker.every(max(1.0, settings.run_lease_s / 3), runner.renew)
    worker.every(settings.recovery_interval_s, runner.recover)
    worker.every(3600, prune_days)
