"""The boards worker: relays the outbox, acts on identity's events, answers boards commands,
and runs the attachments jobs. Subscriptions and commands are declared in events.py."""
from libs.common.bus import Worker
from libs.common.kit import worker_main
from libs.common.mongo import connect, ensure_in_background

from . import attachments, events
from .app import build_context, ensure_indexes
from .settings import Settings


def build_worker(config: dict | None = None) -> Worker:
    settings = Settings(config)
    client = connect(settings.mongo_uri, "boards-worker")
    ctx = build_context(settings, client, "boards-worker")
    ensure_in_background(lambda: ensure_indexes(ctx), "boards-worker")
    worker = Worker("boards", settings, ctx.db)
    events.register(worker, ctx)
    attachments.register_jobs(worker, ctx)
    return worker


def main() -> None:
    worker_main("boards", build_worker)


if __name__ == "__main__":
    main()
