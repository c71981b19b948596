"""One log format for every process: time, level, process name, logger, message."""
import logging
import os


def configure_logging(name: str, level: str | None = None) -> None:
    logging.basicConfig(level=(level or os.environ.get("LOG_LEVEL", "INFO")).upper(),
                        format=f"%(asctime)s %(levelname)s {name}[%(process)d] %(name)s: %(message)s")
    for noisy in ("nats", "botocore", "urllib3", "pymongo"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
