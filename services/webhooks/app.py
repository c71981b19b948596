"""create_app(): the webhooks HTTP process."""
from libs.common.bus import Outbox, SyncNats
from libs.common.logs import configure_logging
from libs.common.mongo import connect, ensure_in_background
from libs.common.telemetry import setup_telemetry
from libs.common.web import create_service_app

from .delivery import Deliverer
from .fanout import announce_endpoint_changes
from .routes import api
from .sender import HttpSender
from .service import WebhooksService
from .settings import Settings
from .storage import Stores


def ensure_indexes(stores: Stores, outbox: Outbox) -> None:
    stores.ensure_indexes()
    outbox.ensure_indexes()


def create_app(config: dict | None = None):
    settings = Settings(config)
    configure_logging("webhooks", settings.log_level)
    client = connect(settings.mongo_uri, "webhooks")
    db = client[settings.mongo_db]
    bus = SyncNats(settings.nats_url, "webhooks")
    stores, outbox = Stores(db), Outbox(db)
    announce_endpoint_changes(stores, bus)
    bus.start()   # connected before the first endpoint change, which it announces to the workers
    ensure_in_background(lambda: ensure_indexes(stores, outbox), "webhooks")
    sender = HttpSender(timeout_s=settings.timeout_s, allow_private=settings.allow_private_targets)
    service = WebhooksService(stores=stores, deliverer=Deliverer(stores=stores, sender=sender, settings=settings),
                              settings=settings)
    app = create_service_app("webhooks", settings, api, client=client)
    app.extensions["webhooks"] = service
    app.extensions["webhooks.bus"] = bus
    setup_telemetry("webhooks", app)
    return app
