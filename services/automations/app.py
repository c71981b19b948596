"""create_app(): the automations HTTP process."""
import inspect

from libs.common.bus import Outbox, SyncNats, worker_up
from libs.common.logs import configure_logging
from libs.common.mongo import connect, ensure_in_background, mongo_up
from libs.common.telemetry import setup_telemetry
from libs.common.web import create_service_app

from .routes import api
from .service import AutomationsService
from .settings import Settings
from .storage import Stores


def make_outbox(db, bus) -> Outbox:
    """The outbox, publishing from this process when the common Outbox can (`bus=`)."""
    try:
        return Outbox(db, bus=bus)
    except TypeError:  # the polling relay's Outbox(db): the worker publishes
        return Outbox(db)


def ensure_indexes(stores: Stores, outbox: Outbox) -> None:
    stores.ensure_indexes()
    outbox.ensure_indexes()


def create_app(config: dict | None = None):
    settings = Settings(config)
    configure_logging("automations", settings.log_level)
    client = connect(settings.mongo_uri, "automations")
    db = client[settings.mongo_db]
    bus = SyncNats(settings.nats_url, "automations")
    stores, outbox = Stores(db), make_outbox(db, bus)
    ensure_in_background(lambda: ensure_indexes(stores, outbox), "automations")
    service = AutomationsService(stores=stores, bus=bus, settings=settings)
    app = _service_app(settings, client, db)
    app.extensions["automations"] = service
    setup_telemetry("automations", app)
    return app


def _service_app(settings, client, db):
    """/ready = the database; /health also wants the worker alive (rules run there)."""
    if "client" in inspect.signature(create_service_app).parameters:
        return create_service_app("automations", settings, api, client=client)

    def ready():
        return {"mongo": mongo_up(client)}

    def health():
        return ready() | {"automations-worker": worker_up(db, "automations")}

    return create_service_app("automations", settings, api, health=health, ready=ready)
