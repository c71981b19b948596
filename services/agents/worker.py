"""The agents worker: runs missions (runner.py), recovers those whose worker died, relays the outbox,
deletes what identity deletes. Subscriptions are declared in events.py."""
from libs.common.bus import Outbox, SyncNats, Worker
from libs.common.kit import worker_main
from libs.common.mongo import connect, ensure_in_background

from . import events
from .app import ensure_indexes
from .journal import Journal
from .llm import build_llm
from .runner import Runner
from .settings import Settings
from .storage import Stores


def build_worker(config: dict | None = None) -> Worker:
    settings = Settings(config)
    client = connect(settings.mongo_uri, "agents-worker")
    db = client[settings.mongo_db]
    bus = SyncNats(settings.nats_url, "agents-worker")
    stores, outbox = Stores(db), Outbox(db, bus=bus)
    ensure_in_background(lambda: ensure_indexes(stores, outbox), "agents-worker")
    journal = Journal(stores=stores, outbox=outbox, client=client, announce=bus.publish)
    runner = Runner(stores=stores, journal=journal, bus=bus, llm=build_llm(settings), settings=settings)
    worker = Worker("agents", settings, db)
    events.register(worker, stores=stores, runner=runner, settings=settings)
    worker.alongside(runner.start, runner.stop)
    return worker


def main() -> None:
    worker_main("agents", build_worker)


if __name__ == "__main__":
    main()
