"""create_app(): the pilotage HTTP process."""
from libs.common.bus import Outbox, SyncNats, worker_up
from libs.common.logs import configure_logging
from libs.common.mongo import connect, ensure_in_background, mongo_up
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
    outbox = Outbox(db)
    pilotage = PilotageService(store=store, outbox=outbox, client=client, bus=SyncNats(settings.nats_url, name),
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

    def ready():
        return {"mongo": mongo_up(client)}

    def health():  # the system view also wants the worker alive (outbox relay, consumers, commands)
        return ready() | {"pilotage-worker": worker_up(client[settings.mongo_db], "pilotage")}

    app = create_service_app("pilotage", settings, api, health=health, ready=ready)
    app.extensions["pilotage"] = pilotage
    app.extensions["pilotage.documents"] = documents
    setup_telemetry("pilotage", app)
    return app
