"""The pilotage worker: relays the outbox, deletes a workspace's / org's data when identity
deletes it, and answers cmd.pilotage.* (get_state, propose_action). Declared in events.py."""
from libs.common.bus import Worker
from libs.common.kit import worker_main
from libs.common.mongo import connect, ensure_in_background

from . import events
from .app import build_services, ensure_indexes
from .settings import Settings


def build_worker(config: dict | None = None) -> Worker:
    settings = Settings(config)
    client = connect(settings.mongo_uri, "pilotage-worker")
    pilotage, documents = build_services(settings, client, "pilotage-worker")
    ensure_in_background(lambda: ensure_indexes(pilotage), "pilotage-worker")
    worker = Worker("pilotage", settings, client[settings.mongo_db])
    events.register(worker, pilotage, documents)
    return worker


def main() -> None:
    worker_main("pilotage", build_worker)


if __name__ == "__main__":
    main()
