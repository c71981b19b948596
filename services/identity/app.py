"""create_app(): the identity HTTP process."""
from libs.common.bus import Outbox, SyncNats
from libs.common.logs import configure_logging
from libs.common.mongo import connect, ensure_in_background
from libs.common.telemetry import setup_telemetry
from libs.common.web import create_service_app

from . import routes  # noqa: F401 - registers every endpoint on `api`
from .api import api
from .mail import build_mailer
from .passwords import Passwords
from .service import IdentityServices
from .settings import Settings


def build_services(settings: Settings, client, name: str = "identity") -> IdentityServices:
    db = client[settings.mongo_db]
    return IdentityServices(db=db, client=client, outbox=Outbox(db, bus=SyncNats(settings.nats_url, name)),
                            settings=settings,
                            passwords=Passwords(settings.password_time_cost, settings.password_memory_kib,
                                                settings.password_concurrency),
                            mailer=build_mailer(settings))


def create_app(config: dict | None = None):
    settings = Settings(config)
    configure_logging("identity", settings.log_level)
    client = connect(settings.mongo_uri, "identity")
    services = build_services(settings, client)
    ensure_in_background(services.ensure_indexes, "identity")

    app = create_service_app("identity", settings, api, client=client)
    app.extensions["identity"] = services
    setup_telemetry("identity", app)
    return app
