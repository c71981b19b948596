"""One log format for every process: one JSON object per line and per event, on stderr.

    {"ts": "2026-12-02T04:15:04.123Z", "level": "INFO", "service": "boards", "pid": 42,
     "logger": "services.boards.routes", "msg": "...", "request_id": "…", "trace_id": "…"}

`request_id` is the X-Request-Id of the request being handled (web processes), `trace_id` the W3C
trace id of the request or NATS message being handled (telemetry.py); both are left out when there
is none. `exc` carries a traceback. Nothing secret is ever written: bearer tokens, JWTs, personal
access tokens, `password`/`secret`/`token`-like fields, URL credentials and the values of the
secret settings this process knows are replaced by `[redacted]` in the message and the traceback
(the code does not log them; this is the net under it). gunicorn's own lines go through the same
formatter (deploy/gunicorn.conf.py), and so do uncaught exceptions and warnings.
"""
from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
import threading
import time

# The request being handled (set by the web layer for the request's lifetime).
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# S3_ACCESS_KEY is an identifier (AWS's access key id), not a secret: the embedded stack's is
# "stellary", and redacting it blanked every database and bucket name in the logs.
SECRET_SETTINGS = ("JWT_SECRET", "INTERNAL_TOKEN_SECRET", "S3_SECRET_KEY", "METRICS_TOKEN",
                   "MONGO_URI", "SMTP_URL", "LLM_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY")
REDACTED = "[redacted]"
_PATTERNS = [
    # Authorization: Bearer <token> / Basic <credentials>, in any quoting
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 " + REDACTED),
    # JWTs (header.payload.signature, base64url of a JSON object)
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),
    # personal access tokens (services/identity: PAT_PREFIX)
    (re.compile(r"\bsynth_[A-Za-z0-9_-]{8,}"), REDACTED),
    # password=…, "secret": "…", token: …, api_key=…, authorization: …
    (re.compile(r"(?i)([\"']?\b[\w-]*(?:password|passwd|secret|token|api[_-]?key|authorization)[\"']?\s*[:=]\s*)"
                r"(\"[^\"]*\"|'[^']*'|[^\s,;&}\]]+)"), r"\1" + REDACTED),
    # credentials in URLs: scheme://user:pass@host
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+@"), r"\1" + REDACTED + "@"),
]


def _secret_values() -> list[str]:
    values = []
    for name in SECRET_SETTINGS:
        value = os.environ.get(name) or ""
        if len(value) >= 8:
            values.append(value)
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    for value in secrets if secrets is not None else _secret_values():
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _trace_id() -> str | None:
    telemetry = sys.modules.get("libs.common.telemetry")
    if telemetry is None:
        return None
    try:
        traceparent = telemetry.current_traceparent()
    except Exception:  # noqa: BLE001 - a log line must never fail on its context
        return None
    return traceparent.split("-")[1] if traceparent and traceparent.count("-") >= 3 else None


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str | None = None):
        super().__init__()
        self.service = service or os.environ.get("OTEL_SERVICE_NAME") or "stellary"
        self.secrets = _secret_values()

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string still gives a line
            message = f"{record.msg!r} {record.args!r}"
        out = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
               "level": record.levelname, "service": self.service, "pid": record.process,
               "logger": record.name, "msg": redact(message, self.secrets)}
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            out["request_id"] = request_id
        trace_id = _trace_id()
        if trace_id:
            out["trace_id"] = trace_id
        for key in ("method", "route", "path", "status", "duration_ms"):
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info), self.secrets)
        elif record.stack_info:
            out["exc"] = redact(self.formatStack(record.stack_info), self.secrets)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(name: str, level: str | None = None) -> None:
    """Idempotent: the root logger writes JSON lines to stderr for `name` (a service, `<service>-worker`,
    the gateway); uncaught exceptions (main thread and others) and warnings are logged the same way."""
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(name))
    for old in list(root.handlers):
        if not type(old).__module__.startswith("_pytest"):   # pytest's capture stays
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel((level or os.environ.get("LOG_LEVEL", "INFO")).upper())
    for own in ("uvicorn", "uvicorn.error", "uvicorn.access"):   # uvicorn's lines: JSON too (mcp)
        logger = logging.getLogger(own)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.propagate = True
    for noisy in ("nats", "botocore", "urllib3", "pymongo", "s3transfer", "boto3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    crash = logging.getLogger("uncaught")

    def excepthook(kind, value, tb):
        crash.critical("uncaught %s", kind.__name__, exc_info=(kind, value, tb))

    def thread_excepthook(args):
        if args.exc_type is SystemExit:
            return
        crash.error("uncaught %s in thread %s", args.exc_type.__name__,
                    getattr(args.thread, "name", "?"), exc_info=(args.exc_type, args.exc_value, args.exc_traceback))

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook


def gunicorn_logconfig(service: str) -> dict:
    """`logconfig_dict` for deploy/gunicorn.conf.py: the master's and workers' gunicorn lines as JSON."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter, "service": service}},
        "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"level": os.environ.get("LOG_LEVEL", "INFO").upper(), "handlers": ["json"]},
        "loggers": {"gunicorn.error": {"handlers": [], "propagate": True, "level": "INFO"},
                    # the app writes the access lines (ACCESS_LOG): it knows the route and request id
                    "gunicorn.access": {"handlers": [], "propagate": False, "level": "CRITICAL"}},
    }
