"""create_app(): the identity HTTP process."""
from libs.common.bus import Outbox, SyncNats
from libs.common.logs import configure_logging
from libs.common.mongo import connect, ensure_in_background
from libs.common.telemetry import setup_telemetry
from libs.common.web import create_service_app

from .mail import build_mailer
from .passwords import Passwords
from .routes import api
from .service import IdentityService
from .settings import Settings
from .storage import IdentityStore


def build_service(settings: Settings, client, name: str = "identity") -> IdentityService:
    db = client[settings.mongo_db]
    store = IdentityStore(db)
    outbox = Outbox(db, bus=SyncNats(settings.nats_url, name))
    return IdentityService(store=store, outbox=outbox, client=client, settings=settings,
                           passwords=Passwords(settings.password_time_cost, settings.password_memory_kib,
                                               settings.password_concurrency),
                           mailer=build_mailer(settings))


def create_app(config: dict | None = None):
    settings = Settings(config)
    configure_logging("identity", settings.log_level)
    client = connect(settings.mongo_uri, "identity")
    service = build_service(settings, client)

    def setup():
        service.store.ensure_indexes()
        service.outbox.ensure_indexes()

    ensure_in_background(setup, "identity")

    app = create_service_app("identity", settings, api, client=client)
    app.extensions["identity"] = service
    setup_telemetry("identity", app)
    return app
