"""A bare Worker run as its own process by the bus fault tests (so that it can be SIGKILLed):

    python -m libs.common.tests.bus_worker <service> <stream>      # env: MONGO_URI, NATS_URL, MONGO_DB_PREFIX
"""
import sys

from libs.common import bus
from libs.common.bus import Worker
from libs.common.logs import configure_logging
from libs.common.mongo import connect
from libs.common.settings import CommonSettings


def main() -> None:
    service, stream = sys.argv[1], sys.argv[2]
    bus.STREAMS[stream] = f"{service}.>"

    class Settings(CommonSettings):
        service_name = service

    settings = Settings({"outbox_sweep_grace_s": 0.0, "outbox_sweep_s": 0.1, "outbox_sweep_max_s": 0.5})
    configure_logging(f"{service}-worker")
    Worker(service, settings, connect(settings.mongo_uri, service)[settings.mongo_db]).run()


if __name__ == "__main__":
    main()
