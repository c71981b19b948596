"""What automations consumes and publishes — every subscription of the worker is declared here.

Consumed (durable pull consumer "automations", shared by every worker replica; handlers idempotent):
    BOARDS    boards.card.created|updated|moved|archived|deleted|assigned, boards.checklist.completed
              -> the triggers of engine.py (rules evaluated, one trace per rule), and the due-date
                 schedule follows the card (created / dueDate changed / archived / restored / deleted)
              e.g. {"id": "…", "type": "boards.card.moved", "actor": {"userId": "A", "via": "user"},
                    "orgId": "…", "workspaceId": "…", "projectId": "P",
                    "data": {"activity": "card_moved", "project": {"id": "P", "name": "Web"},
                             "projectMemberIds": ["A"], "card": {"id": "C", "columnId": "…", …},
                             "meta": {"fromColumnId": "…", "toColumnId": "…", …}}}
              An event caused by a rule carries the rule's chain in its actor:
                    "actor": {"userId": "<rule author>", "via": "automation", "ruleId": "…",
                              "chain": {"id": "<first user event>", "depth": 1, "path": ["<rule>:<card>"]}}
              boards.project.deleted {project} -> the project's rules, traces and schedule are deleted
    IDENTITY  identity.org.deleted {orgId, workspaceIds}, identity.workspace.deleted {workspaceId}
              -> everything of that org / workspace is deleted

Published (through the outbox, stream AUTOMATIONS):
    automations.notification.requested {userIds, message, rule: {id, name}, project: {id, name},
                                        card: {id, title}}   -> notifications stores one per user
    automations.run.failed {ruleId, cardId, detail, traceId, chain, triggeredBy}

Commands called: cmd.boards.get_card | update_card | move_card | add_comment | project_refs,
cmd.identity.workspace_members (actions.py, service.py).
"""
from __future__ import annotations

import logging

from libs.common.kit import on_tenant_deleted

from . import engine
from .scheduler import to_ms

log = logging.getLogger(__name__)
BOARDS_SUBJECTS = ["boards.card.created", "boards.card.updated", "boards.card.moved", "boards.card.archived",
                   "boards.card.deleted", "boards.card.assigned", "boards.checklist.completed",
                   "boards.project.deleted"]


def follow_due_date(stores, scheduler, envelope: dict) -> None:
    """Keep the card's row in `due` in step with its due date."""
    kind, data = envelope.get("type"), envelope.get("data") or {}
    card = data.get("card") or {}
    if not card.get("id"):
        return
    changes = data.get("changes") or {}
    if kind in ("boards.card.deleted", "boards.card.archived"):
        stores.due.remove(card["id"])
        return
    if not (kind == "boards.card.created" or (kind == "boards.card.updated" and
                                              ("dueDate" in changes or engine.restored(envelope)))):
        return
    due_ms = to_ms(card.get("dueDate"))
    if due_ms is None or card.get("archived"):
        if kind != "boards.card.created":   # a new card has no row to remove: no command
            stores.due.remove(card["id"])
        return
    project = data.get("project") or {"id": envelope.get("projectId")}
    stores.due.put(card["id"], due_ms=due_ms, project=project, workspace_id=envelope.get("workspaceId"),
                   org_id=envelope.get("orgId"), member_ids=data.get("projectMemberIds") or [])
    scheduler.wake(due_ms)


def register(worker, *, stores, executor, scheduler, settings) -> None:
    """Every subscription and periodic job of the automations worker, in one place."""

    def on_boards(envelope: dict) -> None:
        if envelope.get("type") == "boards.project.deleted":
            project = (envelope.get("data") or {}).get("project") or {}
            project_id = envelope.get("projectId") or project.get("id")
            if project_id:
                log.info("project %s deleted: removed %s", project_id, stores.delete_tenant({"projectId": project_id}))
            return
        follow_due_date(stores, scheduler, envelope)
        executor.handle(envelope, engine.triggers_for(envelope))

    def purge_tenant(tenant) -> list[dict]:
        removed = [stores.delete_tenant({"workspaceId": ws_id}) for ws_id in tenant.workspace_ids]
        if tenant.whole_org and tenant.org_id:
            removed.append(stores.delete_tenant({"orgId": tenant.org_id}))
        return removed

    def prune() -> None:
        """Traces older than the retention, counters of past minutes (indexed deletes)."""
        from .storage import now_ms

        removed = stores.traces.prune(now_ms() - settings.trace_retention_days * 86400_000)
        stores.rate.prune(now_ms() - 120_000)
        if removed:
            log.info("pruned %d traces older than %d days", removed, settings.trace_retention_days)

    # Idempotent by itself (traces' ids derive from (event, rule); the schedule is keyed by card):
    # no processed-id bookkeeping, two database commands fewer per event.
    worker.consume("BOARDS", on_boards, subjects=BOARDS_SUBJECTS, idempotent=True)
    on_tenant_deleted(worker, purge_tenant)
    worker.every(600, prune)
