"""Metrics and request logs for every process (README "Metrics" and "Logs").

Web processes (gunicorn, the gateway included) call `instrument_app(app, service)`; it records each
request — a histogram of its latency by method, route (the URL rule, never the raw path) and status
— the SSE streams open, and, with ACCESS_LOG set, one JSON log line per request with its request id
and trace id. Prometheus reads them at `/metrics` on METRICS_PORT only: deploy/gunicorn.conf.py
binds that second port next to the service's own, so `/metrics` is never on the public port (the
gateway's 3001 answers 404 for it) and the port is open only to what the network lets in (in
Kubernetes the monitoring namespace, NetworkPolicy `metrics-from-monitoring`; compose publishes
nothing). With METRICS_TOKEN set, a scrape must also bring `Authorization: Bearer <token>`.
gunicorn's processes share their figures through prometheus-client's multiprocess mode (the
directory is made by gunicorn.conf.py).

Workers call `serve_worker_metrics(worker)`: the same registry on METRICS_PORT from a small HTTP
listener thread that blocks in accept() (no timer: it costs nothing at rest), plus what is read at
scrape time, never polled: the outbox backlog (one count), and per durable consumer the events not
yet delivered (lag), delivered but unacknowledged, and redelivered (one JetStream request each).
Counters of redeliveries and dead letters are kept as they happen.

METRICS_PORT unset or 0: nothing listens and nothing is exported (the default; the test stack
gives each process a free port).
"""
from __future__ import annotations

import hmac
import logging
import os
import re
import time

from .asyncweb import PORT_KEY, ClosingBody
from .logs import request_id_var

log = logging.getLogger(__name__)
access_log = logging.getLogger("access")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_metrics = None   # the process's metric objects, made on first use (after the fork)
_value_class_set = False


def metrics_port() -> int:
    try:
        return int(os.environ.get("METRICS_PORT") or 0)
    except ValueError:
        return 0


def _prometheus():
    """prometheus_client, with the value class matching this process (multiprocess under gunicorn:
    the module may have been imported before PROMETHEUS_MULTIPROC_DIR was set, by a fork server)."""
    global _value_class_set
    import prometheus_client
    from prometheus_client import values
    if not _value_class_set:   # once: two multiprocess value classes would map the same files twice
        values.ValueClass = values.get_value_class()
        _value_class_set = True
    return prometheus_client


class _Metrics:
    def __init__(self, service: str):
        p = _prometheus()
        self.service = service
        self.requests = p.Histogram("stellary_http_request_duration_seconds",
                                    "HTTP requests by route and status: latency (and rate, from _count)",
                                    ["service", "method", "route", "status"], buckets=BUCKETS)
        self.sse = p.Gauge("stellary_sse_streams_open", "Server-sent event streams open", ["service"],
                           multiprocess_mode="livesum")
        self.redeliveries = p.Counter("stellary_consumer_redeliveries", "Events delivered more than once",
                                      ["service", "consumer"])
        self.dead_letters = p.Counter("stellary_dead_letters", "Events parked on the dead-letter stream",
                                      ["service", "consumer"])
        self.handled = p.Counter("stellary_events_handled", "Events handled by the consumers",
                                 ["service", "consumer"])


def metrics(service: str) -> _Metrics:
    global _metrics
    if _metrics is None:
        _metrics = _Metrics(service)
    return _metrics


def registry():
    """What a scrape reads: every gunicorn process's files in multiprocess mode, else this process."""
    p = _prometheus()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        reg = p.CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
        return reg
    return p.REGISTRY


def authorized(header: str | None) -> bool:
    token = os.environ.get("METRICS_TOKEN")
    if not token:
        return True
    return hmac.compare_digest((header or "").encode(), f"Bearer {token}".encode())


def exposition(header: str | None) -> tuple[int, dict, bytes]:
    if not authorized(header):
        return 401, {"Content-Type": "text/plain", "WWW-Authenticate": "Bearer"}, b"metrics token required\n"
    p = _prometheus()
    return 200, {"Content-Type": p.CONTENT_TYPE_LATEST}, p.generate_latest(registry())


# ----------------------------------------------------------------------------------- web side

_STATIC_SEGMENT = re.compile(r"[a-z][a-z-]{0,39}")


def path_template(path: str) -> str:
    """A bounded label for a raw path (the gateway has no URL rules): ids become `{}`."""
    parts = [p if _STATIC_SEGMENT.fullmatch(p) else "{}" for p in path.strip("/").split("/") if p]
    return "/" + "/".join(parts)


def instrument_app(app, service: str, *, route_of=None) -> None:
    """Request metrics, SSE gauge, access log and request-id logging for a Flask app. `route_of()`
    (given the response) names the route when Flask's URL rule does not (the gateway's catch-all)."""
    from flask import Response, g, request

    port = metrics_port()
    access = bool(os.environ.get("ACCESS_LOG"))
    m = metrics(service) if port else None

    def on_metrics_port() -> bool:
        if not port:
            return False
        local = request.environ.get(PORT_KEY)        # served by libs/common/asyncweb.py
        if local is not None:
            return local == port
        sock = request.environ.get("gunicorn.socket")
        try:
            return sock is not None and sock.getsockname()[1] == port
        except OSError:
            return False

    @app.before_request
    def _observe_begin():
        g.observe_started = time.perf_counter()
        g.observe_token = request_id_var.set(g.get("request_id"))
        if port and on_metrics_port():
            g.observe_skip = True
            if request.path != "/metrics" or request.method not in ("GET", "HEAD"):
                return Response("not found\n", status=404, mimetype="text/plain")
            status, headers, body = exposition(request.headers.get("Authorization"))
            return Response(body, status=status, headers=headers)
        return None

    @app.after_request
    def _observe_end(response):
        if g.get("observe_skip"):
            return response
        started = g.get("observe_started")
        elapsed = time.perf_counter() - started if started else 0.0
        if route_of is not None:
            route = route_of(response)
        else:
            route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        if m is not None:
            m.requests.labels(service, request.method, route, str(response.status_code)).observe(elapsed)
            if response.mimetype == "text/event-stream":
                gauge = m.sse.labels(service)
                gauge.inc()
                # not call_on_close: a direct_passthrough response (the gateway's relay) is handed
                # to the server as it is, and only its iterable is closed
                response.response = ClosingBody(response.response, gauge.dec)
        if access:
            access_log.info("%s %s %d %.1fms", request.method, request.path, response.status_code, elapsed * 1000,
                            extra={"method": request.method, "route": route, "path": request.path,
                                   "status": response.status_code, "duration_ms": round(elapsed * 1000, 2)})
        return response

    @app.teardown_request
    def _observe_teardown(_exc):
        token = g.pop("observe_token", None)
        if token is not None:
            try:
                request_id_var.reset(token)
            except ValueError:
                request_id_var.set(None)


# -------------------------------------------------------------------------------- worker side

class _WorkerCollector:
    """Read at scrape time: the outbox backlog and each durable consumer's state."""

    def __init__(self, worker):
        self.worker = worker

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        w = self.worker
        backlog = GaugeMetricFamily("stellary_outbox_backlog", "Outbox rows not yet published", labels=["service"])
        try:
            backlog.add_metric([w.service], float(w.outbox.col.estimated_document_count()))
        except Exception as exc:  # noqa: BLE001 - the database is down: no figure rather than a failed scrape
            log.debug("metrics: outbox count failed: %s", exc)
        yield backlog
        lag = GaugeMetricFamily("stellary_consumer_lag", "Events of the stream not yet delivered to the consumer",
                                labels=["service", "consumer"])
        pending = GaugeMetricFamily("stellary_consumer_ack_pending", "Events delivered, not yet acknowledged",
                                    labels=["service", "consumer"])
        redelivered = GaugeMetricFamily("stellary_consumer_redelivered", "Events being redelivered now",
                                        labels=["service", "consumer"])
        for key, info in w.consumer_infos(timeout=2.0).items():
            lag.add_metric([w.service, key], float(info.num_pending or 0))
            pending.add_metric([w.service, key], float(info.num_ack_pending or 0))
            redelivered.add_metric([w.service, key], float(info.num_redelivered or 0))
        yield lag
        yield pending
        yield redelivered


def serve_worker_metrics(worker, port: int | None = None):
    """Start the worker's metrics listener on METRICS_PORT (METRICS_HOST, default 127.0.0.1), or on
    `port` (0 = a free one). Returns the server (see `server_port`), or None when metrics are off."""
    return _serve(worker.service, port, collector=_WorkerCollector(worker))


def serve_process_metrics(service: str, port: int | None = None):
    """The same listener for a web process gunicorn does not run (mcp, under uvicorn: one process)."""
    return _serve(service, port)


def _serve(service: str, port: int | None, collector=None):
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    if port is None:        # from METRICS_PORT: unset or 0 = off
        port = metrics_port()
        if port <= 0:
            return None
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)   # one process: its own registry
    p = _prometheus()
    metrics(service)
    own = p.CollectorRegistry(auto_describe=False)   # this process's scrape-time figures
    if collector is not None:
        own.register(collector)

    def app(environ, start_response):
        if environ.get("PATH_INFO") not in ("/metrics", "/"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        if not authorized(environ.get("HTTP_AUTHORIZATION")):
            start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")])
            return [b"metrics token required\n"]
        start_response("200 OK", [("Content-Type", p.CONTENT_TYPE_LATEST)])
        return [p.generate_latest(p.REGISTRY) + p.generate_latest(own)]

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):   # scrapes are not events
            pass

    from prometheus_client.exposition import ThreadingWSGIServer
    host = os.environ.get("METRICS_HOST", "127.0.0.1")
    server = make_server(host, port, app, ThreadingWSGIServer, handler_class=Quiet)
    # poll_interval=None: the thread blocks in select() until a scrape arrives (no wake-ups at rest).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": None},
                              name="metrics", daemon=True)
    thread.start()
    log.info("%s: metrics on port %d", service, server.server_port)
    return server


class AsgiMetrics:
    """`instrument_app` for an ASGI app (mcp): request latency by route (one of `routes`, else
    "unmatched") and status, when METRICS_PORT is set; a pass-through otherwise."""

    def __init__(self, app, service: str, routes):
        self.app, self.service, self.routes = app, service, set(routes)
        self.m = metrics(service) if metrics_port() > 0 else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.m is None:
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), {"code": 500}

        async def sending(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)
        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope["path"] if scope["path"] in self.routes else "unmatched"
            self.m.requests.labels(self.service, scope["method"], route, str(status["code"])).observe(
                time.perf_counter() - started)
