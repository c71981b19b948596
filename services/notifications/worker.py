"""The notifications worker: turns boards activity events into notifications, forgets deleted
orgs/workspaces, purges expired notifications. Subscriptions are declared in events.py."""
from __future__ import annotations

import logging

from libs.common.bus import Worker
from libs.common.kit import worker_main
from libs.common.mongo import connect, ensure_in_background

from . import events
from .app import build_service
from .settings import Settings

log = logging.getLogger(__name__)


def build_worker(config: dict | None = None) -> Worker:
    settings = Settings(config)
    client = connect(settings.mongo_uri, "notifications-worker")
    service = build_service(settings, client)
    ensure_in_background(lambda: service.store.ensure_indexes(settings.retention_days), "notifications-worker")
    worker = Worker("notifications", settings, client[settings.mongo_db])
    events.register(worker, service, worker.announce)

    def purge_expired():
        removed = service.purge_expired()
        if removed:
            log.info("purged %d notifications older than %d days", removed, settings.retention_days)

    last_stats: dict = {}

    def log_stats():
        if worker.stats != last_stats:
            last_stats.update(worker.stats)
            log.info("stats %s", " ".join(f"{k}={v}" for k, v in worker.stats.items()))

    worker.every(settings.purge_interval, purge_expired)
    worker.every(settings.stats_interval, log_stats)
    return worker


def main() -> None:
    worker_main("notifications", build_worker)


if __name__ == "__main__":
    main()
