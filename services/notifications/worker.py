"""The notifications worker: turns boards activity events into notifications, forgets deleted
orgs/workspaces, purges expired notifications. Subscriptions are declared in events.py."""
from __future__ import annotations

import asyncio
import logging

from libs.common.bus import Worker, dumps
from libs.common.logs import configure_logging
from libs.common.mongo import connect, ensure_in_background
from libs.common.telemetry import setup_telemetry

from . import events
from .app import build_service
from .settings import Settings

log = logging.getLogger(__name__)


class NotificationsWorker(Worker):
    """The common Worker plus a thread-safe, fire-and-forget core publish for the handlers."""

    loop = None

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        await super().start()

    def announce(self, subject: str, payload: dict) -> None:
        nc, loop = self.nc, self.loop
        if nc is None or loop is None or not nc.is_connected:
            return  # the streams' safety poll will find the rows
        try:
            asyncio.run_coroutine_threadsafe(nc.publish(subject, dumps(payload)), loop)
        except RuntimeError:  # loop closing
            pass


def build_worker(config: dict | None = None) -> NotificationsWorker:
    settings = Settings(config)
    client = connect(settings.mongo_uri, "notifications-worker")
    service = build_service(settings, client)
    ensure_in_background(lambda: service.store.ensure_indexes(settings.retention_days), "notifications-worker")
    worker = NotificationsWorker("notifications", settings, client[settings.mongo_db])
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
    configure_logging("notifications-worker")
    setup_telemetry("notifications-worker")
    build_worker().run()


if __name__ == "__main__":
    main()
