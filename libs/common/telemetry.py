"""OpenTelemetry: a tracer provider per process, Flask and pymongo instrumentation, and the
`traceparent` carried over NATS headers. Spans are exported over OTLP/HTTP only when
OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise tracing costs next to nothing (no exporter)."""
from __future__ import annotations

import logging
import os

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

log = logging.getLogger(__name__)
_configured = False


def setup_telemetry(service_name: str, app=None) -> None:
    """Idempotent per process; call from create_app (after fork) and from the worker."""
    global _configured
    if not _configured:
        provider = TracerProvider(resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)}))
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        if endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                OTLPSpanExporter,
            )
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
            log.info("telemetry: exporting spans to %s", endpoint)
        trace.set_tracer_provider(provider)
        try:
            from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
            PymongoInstrumentor().instrument()
        except Exception as exc:  # noqa: BLE001 - instrumentation must never stop a service
            log.warning("telemetry: pymongo instrumentation unavailable: %s", exc)
        _configured = True
    if app is not None and not getattr(app, "_otel", False):
        try:
            from opentelemetry.instrumentation.flask import FlaskInstrumentor
            FlaskInstrumentor().instrument_app(app, excluded_urls="health,ready")
            app._otel = True
        except Exception as exc:  # noqa: BLE001
            log.warning("telemetry: flask instrumentation unavailable: %s", exc)


def current_traceparent() -> str | None:
    carrier: dict = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def inject_headers(headers: dict | None = None) -> dict:
    headers = dict(headers or {})
    propagate.inject(headers)
    return headers


def attach_from_headers(headers: dict | None):
    """Make the span context carried by a NATS message current; returns a token for detach()."""
    ctx = propagate.extract(headers or {})
    return otel_context.attach(ctx)


def detach(token) -> None:
    otel_context.detach(token)


def tracer(name: str):
    return trace.get_tracer(name)
