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

import asyncio
import logging
import os
import threading
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


def workers_in_web(env=None) -> bool:
    """WORKERS_IN_WEB=true (`make up`, deploy/dev.env): each service's bus worker runs on a thread of
    its web process instead of a process of its own — one Python interpreter less per service on a
    laptop (~20–40 MiB each). Compose and Kubernetes run them apart (scaled and restarted alone)."""
    return ((env if env is not None else os.environ).get("WORKERS_IN_WEB") or "").strip().lower() in {"1", "true", "yes", "on"}


class EmbeddedWorker:
    """A service's Worker (libs/common/bus.py) on an asyncio loop in a daemon thread of this process:
    the same consumers, relay, commands, periodic jobs and heartbeat as `python -m
    services.<name>.worker`, started after the web process forks (gunicorn's post_worker_init) and
    stopped before it exits. Its metrics go to the web process's registry (no listener of its own)."""

    def __init__(self, service: str, build_worker):
        self.service = service
        self.build_worker = build_worker
        self.worker = None
        self.thread: threading.Thread | None = None
        self.started = threading.Event()
        self.error: BaseException | None = None

    def start(self, timeout: float = 30.0) -> "EmbeddedWorker":
        self.thread = threading.Thread(target=self._run, name=f"{self.service}-worker", daemon=True)
        self.thread.start()
        if not self.started.wait(timeout):
            log.warning("%s: the embedded worker is not up after %.0f s (still trying)", self.service, timeout)
        return self

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - logged; /health shows the missing heartbeat
            self.error = exc
            log.exception("%s: the embedded worker stopped", self.service)
        finally:
            self.started.set()

    async def _main(self) -> None:
        worker = self.worker = self.build_worker()
        worker.stop = asyncio.Event()
        worker.metrics_server = False          # no listener: the web process serves /metrics
        try:
            await worker.start()
        finally:
            self.started.set()
        await worker.stop.wait()
        await worker.shutdown()

    def stop(self, timeout: float = 10.0) -> None:
        worker, thread = self.worker, self.thread
        if thread is None or not thread.is_alive():
            return
        if worker is not None and worker.loop is not None and worker.stop is not None:
            worker.loop.call_soon_threadsafe(worker.stop.set)
        thread.join(timeout)


def embed_worker(service: str) -> EmbeddedWorker | None:
    """Start `services.<service>.worker.build_worker()` in this process when WORKERS_IN_WEB is on and
    the service has a worker; None otherwise (the gateway, or WORKERS_IN_WEB off)."""
    if not workers_in_web():
        return None
    import importlib
    try:
        module = importlib.import_module(f"services.{service}.worker")
    except ModuleNotFoundError:
        return None
    build = getattr(module, "build_worker", None)
    if build is None:
        return None
    log.info("%s: running its worker in this web process (WORKERS_IN_WEB)", service)
    return EmbeddedWorker(service, build).start()
