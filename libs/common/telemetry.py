"""Tracing: W3C `traceparent` carried from HTTP requests onto NATS messages and outbox events, and
OpenTelemetry spans (a tracer provider per process, Flask and pymongo instrumentation) exported
over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set.

Without an exporter nothing of OpenTelemetry is imported (its SDK and instrumentations cost a few
MiB per process and CPU on every request and query): the incoming `traceparent` (and
`tracestate`) is kept in a context variable for the request or message being handled and passed on
unchanged, as a tracing-unaware hop does, so the caller's trace still reaches every event."""
from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import re
import secrets
from types import SimpleNamespace

log = logging.getLogger(__name__)
_configured = False
_otel = None  # the OpenTelemetry API modules, once spans are exported
# (traceparent, tracestate) of the request or message being handled, when no exporter is set
_carried: contextvars.ContextVar[tuple[str, str | None] | None] = contextvars.ContextVar("traceparent", default=None)
TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")


def exporting() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def setup_telemetry(service_name: str, app=None) -> None:
    """Idempotent per process; call from create_app (after fork) and from the worker."""
    if exporting():
        _setup_otel(service_name, app)
    elif app is not None and not getattr(app, "_otel", False):
        _carry_request_trace(app)
        app._otel = True


def _setup_otel(service_name: str, app) -> None:
    global _configured, _otel
    if not _configured:
        from opentelemetry import context, propagate, trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        log.info("telemetry: exporting spans to %s", os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
        trace.set_tracer_provider(provider)
        try:
            from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
            PymongoInstrumentor().instrument()
        except Exception as exc:  # noqa: BLE001 - instrumentation must never stop a service
            log.warning("telemetry: pymongo instrumentation unavailable: %s", exc)

        _otel = SimpleNamespace(context=context, propagate=propagate, trace=trace)
        _configured = True
    if app is not None and not getattr(app, "_otel", False):
        try:
            from opentelemetry.instrumentation.flask import FlaskInstrumentor
            FlaskInstrumentor().instrument_app(app, excluded_urls="health,ready")
            app._otel = True
        except Exception as exc:  # noqa: BLE001
            log.warning("telemetry: flask instrumentation unavailable: %s", exc)


def _carry_request_trace(app) -> None:
    """Untraced: the request's own trace headers are the current ones while it is handled."""
    from flask import request

    @app.before_request
    def _attach_trace():
        if "traceparent" in request.headers:
            request.environ["stellary.trace_token"] = attach_from_headers(request.headers)

    @app.teardown_request
    def _detach_trace(_exc):
        token = request.environ.pop("stellary.trace_token", None)
        if token is not None:
            detach(token)


def _valid(traceparent) -> str | None:
    """The header if it is a valid W3C traceparent (as OpenTelemetry's propagator checks it)."""
    if not isinstance(traceparent, str):
        return None
    value = traceparent.strip()
    m = TRACEPARENT.fullmatch(value)
    if not m:
        return None
    version, trace_id, span_id, _flags, rest = m.groups()
    if version == "ff" or (version == "00" and rest) or set(trace_id) == {"0"} or set(span_id) == {"0"}:
        return None
    return value


def _get(headers, name: str):
    """headers[name]: Flask's headers ignore case; a NATS message's are a plain dict."""
    value = headers.get(name)
    if value is None and isinstance(headers, dict):
        value = next((v for k, v in headers.items() if isinstance(k, str) and k.lower() == name), None)
    return value


def current_traceparent() -> str | None:
    if _otel is not None:
        carrier: dict = {}
        _otel.propagate.inject(carrier)
        return carrier.get("traceparent")
    carried = _carried.get()
    return carried[0] if carried else None


def inject_headers(headers: dict | None = None) -> dict:
    headers = dict(headers or {})
    if _otel is not None:
        _otel.propagate.inject(headers)
        return headers
    carried = _carried.get()
    if carried:
        headers["traceparent"] = carried[0]
        if carried[1]:
            headers["tracestate"] = carried[1]
    return headers


def attach_from_headers(headers: dict | None):
    """Make the trace carried by a NATS message (or request) current; returns a token for detach()."""
    if _otel is not None:
        return _otel.context.attach(_otel.propagate.extract(headers or {}))
    headers = headers or {}
    traceparent = _valid(_get(headers, "traceparent"))
    tracestate = _get(headers, "tracestate") if traceparent else None
    if not isinstance(tracestate, str) or len(tracestate) > 512:
        tracestate = None
    return _carried.set((traceparent, tracestate) if traceparent else None)


def attach_or_start(headers) -> contextvars.Token:
    """Untraced edge (the gateway): the caller's valid trace, else a new one, made current (so
    every log line and event of the request carries a trace id). Returns a token for detach()."""
    token = attach_from_headers(headers)
    if _carried.get() is None:
        _carried.reset(token)
        token = _carried.set((f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01", None))
    return token


def detach(token) -> None:
    if isinstance(token, contextvars.Token):
        try:
            _carried.reset(token)
        except ValueError:  # made in another context (a generator resumed elsewhere)
            _carried.set(None)
    elif _otel is not None:
        _otel.context.detach(token)


@contextlib.contextmanager
def span(name: str, *, kind: str = "internal", parent: dict | None = None, attributes: dict | None = None):
    """A span when spans are exported (else nothing): a child of the current context, or of the
    trace carried by `parent` (headers). `kind`: internal, producer, consumer, client, server."""
    if _otel is None:
        yield None
        return
    from opentelemetry.trace import SpanKind
    context = _otel.propagate.extract(parent) if parent is not None else None
    with tracer("stellary").start_as_current_span(name, context=context, kind=getattr(SpanKind, kind.upper()),
                                                  attributes=attributes or {}) as current:
        yield current


def tracer(name: str):
    """An OpenTelemetry tracer (a no-op one unless spans are exported)."""
    from opentelemetry import trace
    return trace.get_tracer(name)
