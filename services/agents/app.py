"""create_app(): the agents HTTP process."""
from libs.common import asyncweb
from libs.common.bus import Outbox, SyncNats
from libs.common.logs import configure_logging
from libs.common.mongo import connect, ensure_in_background
from libs.common.telemetry import setup_telemetry
from libs.common.web import create_service_app

from .drafts import DraftService
from .journal import LIVE_SUBJECT, Journal
from .llm import build_llm
from .routes import api
from .service import AgentsService
from .settings import Settings
from .storage import Stores
from .stream import LiveHub


def ensure_indexes(stores: Stores, outbox: Outbox) -> None:
    stores.ensure_indexes()
    outbox.ensure_indexes()


def create_app(config: dict | None = None):
    settings = Settings(config)
    configure_logging("agents", settings.log_level)
    client = connect(settings.mongo_uri, "agents")
    db = client[settings.mongo_db]
    bus = SyncNats(settings.nats_url, "agents")
    stores, outbox = Stores(db), Outbox(db, bus=bus)
    ensure_in_background(lambda: ensure_indexes(stores, outbox), "agents")
    live = LiveHub(stores.steps, stores.missions, poll_s=settings.stream_poll_ms / 1000)
    bus.subscribe(f"{LIVE_SUBJECT}.*", live.on_live)
    journal = Journal(stores=stores, outbox=outbox, client=client, announce=live.publisher(bus))
    app = create_service_app("agents", settings, api, client=client)
    app.extensions["agents"] = AgentsService(stores=stores, journal=journal, bus=bus, settings=settings)
    app.extensions["agents.drafts"] = DraftService(stores=stores, bus=bus, llm=build_llm(settings), settings=settings)
    app.extensions["agents.live"] = live
    setup_telemetry("agents", app)
    return app


def create_asgi(config: dict | None = None):
    """On an event loop (deploy/gunicorn.conf.py: the `asgi` worker): an open mission stream holds no thread."""
    return asyncweb.WsgiBridge(create_app(config))
