"""create_app(): the boards HTTP process."""
from libs.common.bus import Outbox, SyncNats
from libs.common.logs import configure_logging
from libs.common.mongo import connect, ensure_in_background
from libs.common.telemetry import setup_telemetry
from libs.common.web import create_service_app

from . import (
    attachments,
    routes,  # noqa: F401 - registers every endpoint on `api`
    storage,
)
from .api import api
from .context import Boards
from .service import BoardsService
from .settings import Settings
from .storage import BoardsStore


def build_context(settings: Settings, client, name: str) -> Boards:
    db = client[settings.mongo_db]
    bus = SyncNats(settings.nats_url, name)
    ctx = Boards(settings=settings, client=client, db=db, outbox=Outbox(db, bus=bus), bus=bus)
    ctx.services = BoardsService(store=BoardsStore(db), outbox=ctx.outbox, client=client, bus=ctx.bus, db=db)
    attachments.setup(ctx)
    return ctx


def ensure_indexes(ctx: Boards) -> None:
    storage.ensure_indexes(ctx.db)
    attachments.ensure_indexes(ctx.db)
    ctx.outbox.ensure_indexes()
    ctx.ready = True


def create_app(config: dict | None = None):
    settings = Settings(config)
    configure_logging("boards", settings.log_level)
    client = connect(settings.mongo_uri, "boards")
    ctx = build_context(settings, client, "boards")
    ensure_in_background(lambda: ensure_indexes(ctx), "boards")

    def schema():   # collections exist before any transaction
        return {"schema": ctx.ready}

    def s3():
        objects = ctx.objects
        return {"s3": objects.healthy()} if objects is not None else {}

    # An S3 outage degrades /health (attachments fail with 503) but keeps the boards API in
    # rotation: /ready leaves S3 out.
    app = create_service_app("boards", settings, api, client=client, ready_checks=schema, health_checks=s3)
    app.extensions["boards"] = ctx
    setup_telemetry("boards", app)
    return app
