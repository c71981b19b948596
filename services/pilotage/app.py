"""create_app(): the pilotage HTTP process."""
from libs.common.bus import Outbox, SyncNats
from libs.common.logs import configure_logging
from libs.common.mongo import connect, ensure_in_background
from libs.common.telemetry import setup_telemetry
from libs.common.web import create_service_app

from .documents import DocumentService
from .routes import api
from .service import PilotageService
from .settings import Settings
from .storage import PilotageStore


def build_services(settings: Settings, client, name: str) -> tuple[PilotageService, DocumentService]:
    db = client[settings.mongo_db]
    store = PilotageStore(db)
    bus = SyncNats(settings.nats_url, name)
    outbox = Outbox(db, bus=bus)
    pilotage = PilotageService(store=store, outbox=outbox, client=client, bus=bus,
                               settings=settings)
    documents = DocumentService(store=store, outbox=outbox, client=client, settings=settings)
    return pilotage, documents


def ensure_indexes(service: PilotageService) -> None:
    service.store.ensure_indexes()
    service.outbox.ensure_indexes()


def create_app(config: dict | None = None):
    settings = Settings(config)
    configure_logging("pilotage", settings.log_level)
    client = connect(settings.mongo_uri, "pilotage")
    pilotage, documents = build_services(settings, client, "pilotage")
    ensure_in_background(lambda: ensure_indexes(pilotage), "pilotage")

    app = create_service_app("pilotage", settings, api, client=client)
    app.extensions["pilotage"] = pilotage
    app.extensions["pilotage.documents"] = documents
    setup_telemetry("pilotage", app)
    return app
