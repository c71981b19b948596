"""The automations worker: evaluates rules on boards' events, runs the due-date scheduler, relays
the outbox, deletes what identity / boards delete. Subscriptions are declared in events.py."""
from libs.common.bus import Outbox, SyncNats, Worker
from libs.common.kit import worker_main
from libs.common.mongo import connect, ensure_in_background

from . import events
from .app import ensure_indexes
from .execution import Executor
from .scheduler import Scheduler
from .settings import Settings
from .storage import Stores


def build_worker(config: dict | None = None) -> Worker:
    settings = Settings(config)
    client = connect(settings.mongo_uri, "automations-worker")
    db = client[settings.mongo_db]
    bus = SyncNats(settings.nats_url, "automations-worker")
    stores, outbox = Stores(db), Outbox(db, bus=bus)
    ensure_in_background(lambda: ensure_indexes(stores, outbox), "automations-worker")
    executor = Executor(stores=stores, outbox=outbox, client=client, bus=bus, settings=settings)
    scheduler = Scheduler(stores=stores, executor=executor, bus=bus, settings=settings)
    worker = Worker("automations", settings, db)
    events.register(worker, stores=stores, executor=executor, scheduler=scheduler, settings=settings)
    worker.alongside(scheduler.start, scheduler.stop)
    return worker


def main() -> None:
    worker_main("automations", build_worker)


if __name__ == "__main__":
    main()
