"""create_app(): the boards HTTP process."""
from libs.common.bus import Outbox, SyncNats, worker_up
from libs.common.logs import configure_logging
from libs.common.mongo import connect, ensure_in_background, mongo_up
from libs.common.telemetry import setup_telemetry
from libs.common.web import create_service_app

from . import attachments, storage
from . import routes  # noqa: F401 - registers every endpoint on `api`
from .api import api
from .context import Boards
from .service import BoardsService
from .settings import Settings
from .storage import BoardsStore


def build_context(settings: Settings, client, name: str) -> Boards:
    db = client[settings.mongo_db]
    ctx = Boards(settings=settings, client=client, db=db, outbox=Outbox(db), bus=SyncNats(settings.nats_url, name))
    ctx.extras["service"] = BoardsService(store=BoardsStore(db), outbox=ctx.outbox, client=client, bus=ctx.bus, db=db)
    attachments.setup(ctx)
    return ctx


def ensure_indexes(ctx: Boards) -> None:
    storage.ensure_indexes(ctx.db)
    attachments.ensure_indexes(ctx.db)
    ctx.outbox.ensure_indexes()
    ctx.extras["ready"] = True


def create_app(config: dict | None = None):
    settings = Settings(config)
    configure_logging("boards", settings.log_level)
    client = connect(settings.mongo_uri, "boards")
    ctx = build_context(settings, client, "boards")
    ensure_in_background(lambda: ensure_indexes(ctx), "boards")

    def ready():
        checks = {"mongo": mongo_up(client)}
        if checks["mongo"]:
            checks["schema"] = bool(ctx.extras.get("ready"))   # collections exist before any transaction
        return checks

    def health():
        checks = ready() | {"boards-worker": worker_up(ctx.db, "boards")}
        objects = ctx.extras.get("objects")
        if objects is not None:
            checks["s3"] = objects.healthy()
        return checks

    # An S3 outage degrades /health (attachments fail with 503) but keeps the boards API in
    # rotation: /ready leaves S3 out.
    app = create_service_app("boards", settings, api, health=health, ready=ready)
    app.extensions["boards"] = ctx
    setup_telemetry("boards", app)
    return app
