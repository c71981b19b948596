"""The webhooks worker: fans the bus's events out to endpoints, sends deliveries (dispatcher.py),
prunes history, deletes what identity deletes. Subscriptions are declared in events.py."""
from libs.common.bus import Outbox, SyncNats, Worker
from libs.common.kit import worker_main
from libs.common.mongo import connect, ensure_in_background

from . import events
from .app import ensure_indexes
from .delivery import Deliverer
from .dispatcher import Dispatcher
from .fanout import Fanout
from .sender import HttpSender
from .settings import Settings
from .storage import Stores


def build_worker(config: dict | None = None) -> Worker:
    settings = Settings(config)
    client = connect(settings.mongo_uri, "webhooks-worker")
    db = client[settings.mongo_db]
    bus = SyncNats(settings.nats_url, "webhooks-worker")
    stores, outbox = Stores(db), Outbox(db, bus=bus)
    ensure_in_background(lambda: ensure_indexes(stores, outbox), "webhooks-worker")
    sender = HttpSender(timeout_s=settings.timeout_s, allow_private=settings.allow_private_targets,
                        max_connections=max(settings.senders, 1) * 2)
    dispatcher = Dispatcher(stores=stores, deliverer=Deliverer(stores=stores, sender=sender, settings=settings),
                            settings=settings)

    def on_new(count: int) -> None:
        dispatcher.wake()
        bus.publish(events.WAKE_SUBJECT, {"count": count})   # the other workers' dispatchers

    fanout = Fanout(stores=stores, on_new=on_new, bus=bus)
    worker = Worker("webhooks", settings, db)
    events.register(worker, stores=stores, fanout=fanout, settings=settings)
    bus.subscribe(events.WAKE_SUBJECT, dispatcher.wake)
    worker.alongside(dispatcher.start, dispatcher.stop)
    return worker


def main() -> None:
    worker_main("webhooks", build_worker)


if __name__ == "__main__":
    main()
