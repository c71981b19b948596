"""create_app(): the automations HTTP process."""
from libs.common.bus import Outbox, SyncNats
from libs.common.logs import configure_logging
from libs.common.mongo import connect, ensure_in_background
from libs.common.telemetry import setup_telemetry
from libs.common.web import create_service_app

from .execution import announce_rule_changes
from .routes import api
from .service import AutomationsService
from .settings import Settings
from .storage import Stores


def ensure_indexes(stores: Stores, outbox: Outbox) -> None:
    stores.ensure_indexes()
    outbox.ensure_indexes()


def create_app(config: dict | None = None):
    settings = Settings(config)
    configure_logging("automations", settings.log_level)
    client = connect(settings.mongo_uri, "automations")
    db = client[settings.mongo_db]
    bus = SyncNats(settings.nats_url, "automations")
    stores, outbox = Stores(db), Outbox(db, bus=bus)
    announce_rule_changes(stores, bus)
    bus.start()   # connected before the first rule change, which it announces to the workers
    ensure_in_background(lambda: ensure_indexes(stores, outbox), "automations")
    service = AutomationsService(stores=stores, bus=bus, settings=settings)
    app = create_service_app("automations", settings, api, client=client)
    app.extensions["automations"] = service
    setup_telemetry("automations", app)
    return app
