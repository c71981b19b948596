"""Typed access to environment variables (12-factor). Each service's `settings.py` builds on these."""
from __future__ import annotations

import logging
import os
import re

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {value!r}") from exc


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return default if value in (None, "") else float(value)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def parse_duration(text: str) -> int:
    """'7d' -> 604800, '15m' -> 900, '3600' -> 3600 (seconds)."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 3600, 15m, 12h, 7d)")
    return int(match.group(1)) * _UNITS[match.group(2)]


def env_duration(name: str, default: str) -> int:
    return parse_duration(env_str(name, default))


def mask(value: str | None) -> str:
    """Render a secret for logs: never its value."""
    if not value:
        return "<unset>"
    return value[:2] + "…" if len(value) > 8 else "…"


class CommonSettings:
    """Settings every process reads. Services subclass and add their own."""

    service_name = "stellary"

    def __init__(self, overrides: dict | None = None):
        self.mongo_uri = env_str("MONGO_URI", "mongodb://127.0.0.1:27017")
        self.mongo_db_prefix = env_str("MONGO_DB_PREFIX", "stellary_")
        self.nats_url = env_str("NATS_URL", "nats://127.0.0.1:4222")
        self.internal_token_secret = env_str("INTERNAL_TOKEN_SECRET", "dev-internal-secret-change-me")
        self.internal_token_ttl = env_int("INTERNAL_TOKEN_TTL", 60)
        self.log_level = env_str("LOG_LEVEL", "INFO")
        self.otel_endpoint = env_str("OTEL_EXPORTER_OTLP_ENDPOINT")
        # The outbox sweeper (writers publish their own rows at commit; it catches what they left).
        self.outbox_sweep_s = env_float("OUTBOX_SWEEP_S", 1.0)
        self.outbox_sweep_max_s = env_float("OUTBOX_SWEEP_MAX_S", 10.0)
        self.outbox_sweep_grace_s = env_float("OUTBOX_SWEEP_GRACE_S", 2.0)
        self.processed_keep_s = env_duration("PROCESSED_KEEP", "1d")
        self.maintenance_interval_s = env_duration("BUS_MAINTENANCE_INTERVAL", "10m")
        self.consumer_max_deliver = env_int("CONSUMER_MAX_DELIVER", 5)
        self.load(overrides)
        for key, value in (overrides or {}).items():
            setattr(self, key, value)
        for var, value in (("INTERNAL_TOKEN_SECRET", self.internal_token_secret),
                           ("JWT_SECRET", getattr(self, "jwt_secret", None))):
            if value and value.startswith("dev-") and value.endswith("-change-me"):
                logging.getLogger(__name__).warning("%s is the development default: set it outside development", var)

    def load(self, overrides: dict | None) -> None:  # pragma: no cover - hook
        """Subclasses read their own variables here."""

    @property
    def mongo_db(self) -> str:
        return f"{self.mongo_db_prefix}{self.service_name}"
