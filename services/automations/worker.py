"""The automations worker: evaluates rules on boards' events, runs the due-date scheduler, relays
the outbox, deletes what identity / boards delete. Subscriptions are declared in events.py."""
from libs.common.bus import SyncNats, Worker
from libs.common.logs import configure_logging
from libs.common.mongo import connect, ensure_in_background
from libs.common.telemetry import setup_telemetry

from . import events
from .app import ensure_indexes, make_outbox
from .execution import Executor
from .scheduler import Scheduler
from .settings import Settings
from .storage import Stores


def build_worker(config: dict | None = None) -> tuple[Worker, Scheduler]:
    settings = Settings(config)
    client = connect(settings.mongo_uri, "automations-worker")
    db = client[settings.mongo_db]
    bus = SyncNats(settings.nats_url, "automations-worker")
    stores, outbox = Stores(db), make_outbox(db, bus)
    ensure_in_background(lambda: ensure_indexes(stores, outbox), "automations-worker")
    executor = Executor(stores=stores, outbox=outbox, client=client, bus=bus, settings=settings)
    scheduler = Scheduler(stores=stores, executor=executor, bus=bus, settings=settings)
    worker = Worker("automations", settings, db)
    events.register(worker, stores=stores, executor=executor, scheduler=scheduler, settings=settings)
    return worker, scheduler


def main() -> None:
    configure_logging("automations-worker")
    setup_telemetry("automations-worker")
    worker, scheduler = build_worker()
    scheduler.start()
    try:
        worker.run()
    finally:
        scheduler.stop()


if __name__ == "__main__":
    main()
