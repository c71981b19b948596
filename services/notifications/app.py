"""create_app(): the notifications HTTP process."""
from libs.common import asyncweb
from libs.common.bus import SyncNats
from libs.common.logs import configure_logging
from libs.common.mongo import connect, ensure_in_background
from libs.common.telemetry import setup_telemetry
from libs.common.web import create_service_app

from .routes import api
from .service import NotificationsService
from .settings import Settings
from .storage import NotificationStore
from .stream import LIVE_SUBJECT, LiveHub


def build_service(settings: Settings, client) -> NotificationsService:
    return NotificationsService(store=NotificationStore(client[settings.mongo_db]), settings=settings)


def create_app(config: dict | None = None):
    settings = Settings(config)
    configure_logging("notifications", settings.log_level)
    client = connect(settings.mongo_uri, "notifications")
    service = build_service(settings, client)
    ensure_in_background(lambda: service.store.ensure_indexes(settings.retention_days), "notifications")

    # Wake-ups from the worker for the open SSE streams (see stream.py); best effort by design.
    live = LiveHub(service.store, poll_s=settings.stream_poll_ms / 1000)
    bus = SyncNats(settings.nats_url, "notifications")
    bus.subscribe(f"{LIVE_SUBJECT}.*", live.on_live)

    app = create_service_app("notifications", settings, api, client=client)
    app.extensions["notifications"] = service
    app.extensions["notifications_live"] = live
    app.extensions["bus"] = bus
    setup_telemetry("notifications", app)
    return app


def create_asgi(config: dict | None = None):
    """On an event loop (deploy/gunicorn.conf.py: the `asgi` worker): an open stream holds no thread."""
    return asyncweb.WsgiBridge(create_app(config))
