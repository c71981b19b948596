"""The service kit: what every service's worker.py and app.py are made of, so a new service is a
few declarations (see docs/CONTRACTS.md "Building a service").

    # worker.py
    def build_worker(config=None) -> Worker:
        settings = Settings(config)
        client = connect(settings.mongo_uri, "pilotage-worker")
        worker = Worker("pilotage", settings, client[settings.mongo_db])
        on_tenant_deleted(worker, store.purge)        # identity's org / workspace deletions
        worker.consume("BOARDS", on_card, subjects=["boards.card.>"])
        worker.command("get_state", get_state)
        worker.every(3600, purge_old)
        return worker

    def main():
        worker_main("pilotage", build_worker)

    # app.py: create_service_app(name, settings, api, client=client) gives /live, /ready (the
    # database) and /health (the database and the worker's heartbeat).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

log = logging.getLogger(__name__)
TENANT_SUBJECTS = ["identity.org.deleted", "identity.workspace.deleted"]


@dataclass(frozen=True)
class Tenant:
    """What identity deleted: the workspaces whose data go, and whether the whole org goes too
    (then org-level records — `orgId` without a workspace — go as well)."""

    org_id: str | None
    workspace_ids: list[str] = field(default_factory=list)
    whole_org: bool = False


def tenant_of(envelope: dict) -> Tenant | None:
    """The Tenant an `identity.org.deleted` / `identity.workspace.deleted` event names, else None."""
    data = envelope.get("data") or {}
    kind = envelope.get("type")
    if kind == "identity.org.deleted" and isinstance(data.get("orgId"), str):
        ids = [w for w in data.get("workspaceIds") or [] if isinstance(w, str)]
        return Tenant(org_id=data["orgId"], workspace_ids=ids, whole_org=True)
    if kind == "identity.workspace.deleted" and isinstance(data.get("workspaceId"), str):
        return Tenant(org_id=data.get("orgId"), workspace_ids=[data["workspaceId"]])
    return None


def on_tenant_deleted(worker, purge) -> None:
    """Call `purge(tenant)` for every org or workspace identity deletes (idempotent: purging twice
    deletes nothing the second time). `purge` returns what it removed, for the log."""

    def handle(envelope: dict) -> None:
        tenant = tenant_of(envelope)
        if tenant is None:
            return
        removed = purge(tenant)
        log.info("%s: %s deleted (org %s, workspaces %s): removed %s", worker.service,
                 "org" if tenant.whole_org else "workspace", tenant.org_id, tenant.workspace_ids, removed)

    worker.consume("IDENTITY", handle, subjects=TENANT_SUBJECTS)


def worker_main(service: str, build_worker) -> None:
    """The body of every `python -m services.<name>.worker`: logs, traces, then run until SIGTERM."""
    from .logs import configure_logging
    from .telemetry import setup_telemetry

    configure_logging(f"{service}-worker")
    setup_telemetry(f"{service}-worker")
    build_worker().run()
