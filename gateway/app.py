"""The gateway: the only public port. Authenticates, runs the guard chain, checks PAT scopes,
forwards the resolved caller to the owning service and streams the answer back.

    client -> [request id, CORS, body limit] -> [bearer: JWT locally | PAT via identity (cached)]
           -> [org -> workspace guard (cached)] -> [PAT scope] -> [rate limit] -> service
"""
from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import urllib3
from flask import Flask, Response, g, jsonify, request

from libs.common import asyncweb
from libs.common.bus import SyncNats
from libs.common.context import HEADER as CALLER_HEADER
from libs.common import jsonio
from libs.common.context import VIA_HEADER, verify_via
from libs.common.errors import (BadRequest, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable,
                                TooManyRequests, error_body, is_body_error, register_error_handlers)
from libs.common.logs import configure_logging
from libs.common.observability import instrument_app, path_template
from libs.common.telemetry import attach_or_start, detach, inject_headers, setup_telemetry

from . import openapi_merge, routing
from .auth import Authenticator
from .settings import Settings
from .streams import StreamSlots, Upstream, UpstreamError, is_stream

log = logging.getLogger(__name__)
# RFC 3986 pchar minus what quote() keeps anyway, plus "/"
PATH_SAFE = "/:@!$&'()*+,;="
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "host", "content-length", "authorization"}
# The caller's trace headers are replaced by the gateway span's (two `traceparent`s would be joined
# into one invalid value upstream and break the trace).
TRACE_HEADERS = {"traceparent", "tracestate"}
EXPOSED = ("X-Request-Id, X-Next-Cursor, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, "
           "Content-Disposition, ETag, Mcp-Session-Id")


class RateLimiter:
    """A token bucket per key, per gateway process: `limit` requests a minute, refilled continuously
    (no burst at a minute boundary, unlike fixed windows)."""

    def __init__(self):
        self.buckets: dict = {}
        self.lock = threading.Lock()

    def hit(self, key: str, limit: int) -> tuple[bool, int, int, int]:
        """-> (allowed, remaining, seconds until full, seconds until the next request is allowed)."""
        now = time.monotonic()
        rate = limit / 60.0
        with self.lock:
            if len(self.buckets) > 100_000:
                self.buckets.clear()
            tokens, last = self.buckets.get(key, (float(limit), now))
            tokens = min(float(limit), tokens + (now - last) * rate)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self.buckets[key] = (tokens, now)
        reset = math.ceil((limit - tokens) / rate)
        retry = 0 if allowed else math.ceil((1 - tokens) / rate)
        return allowed, int(tokens), reset, retry


class LimitedStream:
    """Reads a request body through, raising once more than `limit` bytes came in."""

    def __init__(self, stream, limit: int):
        self.stream, self.limit, self.seen = stream, limit, 0

    def read(self, size=-1):
        try:
            chunk = self.stream.read(size if size and size > 0 else 65536)
        except Exception as exc:  # noqa: BLE001 - gunicorn's chunk parser: a malformed body
            if is_body_error(exc):
                raise BadRequest("Malformed or incomplete request body") from None
            raise
        self.seen += len(chunk)
        if self.seen > self.limit:
            raise PayloadTooLarge("Request body too large")
        return chunk

    def read_all(self) -> bytes:
        parts = []
        while chunk := self.read(65536):
            parts.append(chunk)
        return b"".join(parts)


# A GET may be retried once on a dropped keep-alive connection; nothing else is retried.
RETRY_GET = urllib3.Retry(total=1, read=0, status=0, redirect=0)
NO_RETRY = urllib3.Retry(total=0, read=0, status=0, redirect=0)
STREAM_TIMEOUT = urllib3.Timeout(connect=2, read=None)


# Never taken from a client: the gateway sets the caller itself, and reads the via marker.
INTERNAL_HEADERS = {CALLER_HEADER.lower(), VIA_HEADER.lower()}
DISCARD_MAX_BYTES = 32 * 1024 * 1024  # beyond this a refused body is not read: the connection closes


def _discard_body(stream) -> None:
    seen = 0
    try:
        while seen < DISCARD_MAX_BYTES:
            chunk = stream.read(65536)
            if not chunk:
                return
            seen += len(chunk)
    except Exception:  # noqa: BLE001 - a client that went away or a broken chunk: nothing left to save
        return


def _has_dot_segment(path: str) -> bool:
    return any(segment in (".", "..") for segment in path.split("/"))


def create_app(config: dict | None = None) -> Flask:
    settings = Settings(config)
    configure_logging("gateway", settings.log_level)
    app = Flask("gateway")
    jsonio.install(app)  # request.get_json() here is the services' loader too
    register_error_handlers(app)

    @app.errorhandler(PayloadTooLarge)
    def _too_large(err: PayloadTooLarge):
        # Read the refused body (up to a bound) before answering. gunicorn drains at most 64 KB of
        # a body the app left unread and otherwise closes the keep-alive connection with data
        # still unread, which resets it: the client then loses this 413, or its next request.
        _discard_body(request.stream)
        response = jsonify(error_body(413, err.message))
        response.status_code = 413
        return response

    http = urllib3.PoolManager(num_pools=16, maxsize=128, block=False, retries=False)
    # streamed answers, when served on an event loop (create_asgi)
    streams_upstream = Upstream(head_timeout=settings.upstream_timeout)
    upstream_timeout = urllib3.Timeout(connect=2, read=settings.upstream_timeout)
    # Spans only when they are exported: instrumenting Flask costs the gateway ~0.3 ms of CPU a
    # request even with no exporter (measured with bench/gateway.py). Untraced, the gateway passes
    # the caller's valid trace headers on (or starts a trace when none came), so the service
    # continues that trace and every log line of the request has its id.
    traced = bool(settings.otel_endpoint)
    dropped_headers = HOP_BY_HOP | TRACE_HEADERS
    auth = Authenticator(settings, http)
    limiter = RateLimiter()
    stream_slots = StreamSlots(per_user=settings.streams_per_user, per_token=settings.streams_per_token)
    app.extensions["stream_slots"] = stream_slots
    bus = SyncNats(settings.nats_url, "gateway")
    bus.subscribe("identity.>", auth.on_identity_event)
    bus.on_reconnect.append(auth.clear)  # events may have been missed while disconnected
    app.extensions["auth"] = auth
    app.extensions["bus"] = bus
    openapi_cache: dict = {}

    def trusted(ip: str) -> bool:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in network for network in settings.trusted_proxies)

    def client_ip() -> str:
        """The client's address: the right-most X-Forwarded-For hop that is not a trusted proxy,
        when the request came from a trusted proxy; else the peer address."""
        remote = request.remote_addr or ""
        if not settings.trusted_proxies or not trusted(remote):
            return remote
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
        for hop in reversed(hops):
            if not trusted(hop):
                return hop
        return hops[0] if hops else remote

    def is_loopback(ip: str) -> bool:
        try:
            return ipaddress.ip_address(ip).is_loopback
        except ValueError:
            return False

    @app.before_request
    def _begin():
        g.request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
        g.rate_headers = {}
        if not traced:   # the caller's trace, or a new one: its id is in every log line and event
            g.trace_token = attach_or_start(request.headers)

    @app.teardown_request
    def _end(_exc):
        token = g.pop("trace_token", None)
        if token is not None:
            detach(token)

    @app.after_request
    def _finish(response):
        response.headers["X-Request-Id"] = g.get("request_id", "")
        origin = request.headers.get("Origin")
        if origin and settings.cors_origins:
            allowed = [o.strip() for o in settings.cors_origins.split(",")]
            if "*" in allowed or origin in allowed:
                response.headers["Access-Control-Allow-Origin"] = origin if "*" not in allowed else "*"
                response.headers["Access-Control-Expose-Headers"] = EXPOSED
                response.headers["Vary"] = "Origin"
        for key, value in g.get("rate_headers", {}).items():
            response.headers[key] = value
        return response

    def route_label(response) -> str:
        """The metrics' route: the gateway's own rule, else the owning service and the path with
        its ids as `{}`; a 404 keeps only the service (unknown paths must not make new series)."""
        rule = request.url_rule.rule if request.url_rule is not None else None
        if rule not in (None, "/", "/<path:path>"):
            return rule
        found = routing.match(request.path)
        if found is None:
            return "unmatched"
        if response.status_code == 404:
            return f"{found.rule.service}:not-found"
        return f"{found.rule.service}:{path_template(request.path)}"

    instrument_app(app, "gateway", route_of=route_label)

    @app.route("/ready", methods=["GET"])
    def ready():
        """The gateway process itself (a probe): whether the services are up is /health's business."""
        return jsonify({"status": "ok"})

    @app.route("/health", methods=["GET"])
    def health():
        components = {"gateway": "up", "nats": "up" if bus.connected else "down"}
        for name in settings.enabled_services:
            try:
                resp = http.request("GET", settings.service_urls[name] + "/health",
                                    timeout=urllib3.Timeout(connect=1, read=2), retries=False)
                body = jsonio.loads(resp.data or b"{}")
                components[name] = "up" if resp.status == 200 else "down"
                for dep, state in (body.get("components") or {}).items():
                    if components.get(dep) != "down":
                        components[dep] = state
            except (urllib3.exceptions.HTTPError, BadRequest):
                components[name] = "down"
        ok = all(v == "up" for v in components.values())
        return jsonify({"status": "ok" if ok else "degraded", "components": components}), (200 if ok else 503)

    docs_page = (Path(__file__).parent / "docs.html").read_bytes()

    @app.route("/docs", methods=["GET"])
    def docs():
        """A self-contained API reader of /openapi.json (no CDN: works offline)."""
        response = Response(docs_page, mimetype="text/html")
        response.headers["Content-Security-Policy"] = ("default-src 'none'; script-src 'unsafe-inline'; "
                                                       "style-src 'unsafe-inline'; connect-src 'self'")
        response.headers["Cache-Control"] = "no-cache"
        return response

    @app.route("/openapi.json", methods=["GET"])
    def openapi():
        cached = openapi_cache.get("doc")
        if cached and cached[0] > time.time():
            return jsonify(cached[1])
        doc = {"openapi": "3.0.3", "info": {"title": "Stellary API", "version": "1.0.0"},
               "servers": [{"url": "/"}], "paths": {}, "components": {"schemas": {}, "securitySchemes": {
                   "bearer": {"type": "http", "scheme": "bearer"}}, "responses": {}}}
        complete = True
        for name in settings.enabled_services:
            try:
                resp = http.request("GET", settings.service_urls[name] + "/openapi.json",
                                    timeout=urllib3.Timeout(connect=1, read=5), retries=False)
                part = jsonio.loads(resp.data, max_depth=256)
            except (urllib3.exceptions.HTTPError, BadRequest):
                complete = False
                continue
            openapi_merge.merge(doc, part, name)   # a component two services name alike stays two
        doc["paths"]["/health"] = {"get": {"summary": "Health of the gateway, services and infrastructure",
                                           "tags": ["gateway"], "responses": {"200": {"description": "all up"},
                                                                              "503": {"description": "degraded"}}}}
        openapi_cache["doc"] = (time.time() + (300 if complete else 5), doc)
        return jsonify(doc)

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
    @app.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
    def proxy(path):
        full_path = "/" + path
        method = request.method
        if method == "OPTIONS":
            return _preflight()
        found = routing.match(full_path)
        if found is None or _has_dot_segment(full_path):
            # Dot segments would be resolved by urllib3 after routing ("/notifications/../internal/x"
            # -> "/internal/x"): a path is forwarded only as the guard and scope checks saw it.
            raise NotFound(f"Cannot {method} {full_path}")
        rule = found.rule
        _check_body_size(full_path, method)
        caller_token = None
        if not rule.public:
            claims, pat = auth.authenticate(request.headers.get("Authorization"))
            if rule.jwt_only and pat is not None:
                raise Forbidden("API tokens cannot manage API tokens: use a JWT")
            principal = auth.principal(claims["sub"], found.org, found.ws)
            caller = auth.build_caller(claims, pat, principal, g.request_id)
            marker = request.headers.get(VIA_HEADER)
            if marker:  # a trusted internal client (mcp) labels the change; only the secret signs one
                caller = replace(caller, via=verify_via(marker, secret=settings.internal_token_secret,
                                                        user_id=caller.user_id))
            scope = found.required_scope(method)
            if pat is not None and scope and scope not in caller.scopes:
                raise Forbidden(f"Token lacks the '{scope}' scope")
            _rate_limit(f"tok:{caller.token_id or caller.user_id}", settings.rate_limit_token_per_min)
            caller_token = auth.signed_caller(caller)
        else:
            ip = client_ip()
            if settings.rate_limit_loopback or not is_loopback(ip):
                _rate_limit(f"ip:{ip}:{full_path}", settings.rate_limit_ip_auth_per_min)
        release = None
        if caller_token and is_stream(full_path, method):
            release = stream_slots.acquire(user_id=caller.user_id, token_id=caller.token_id)
        try:
            response = _forward(rule.service, full_path, caller_token, pass_bearer=rule.pass_bearer)
        except BaseException:
            if release:
                release()
            raise
        if release:
            # the client went away or the stream ended
            response.response = asyncweb.ClosingBody(response.response, release)
        if caller_token and rule.service == "identity" and method not in ("GET", "HEAD") and response.status_code < 400:
            _forget_written(caller, full_path, method)
        return response

    def _forget_written(caller, path: str, method: str) -> None:
        """Read-your-writes for the caller: their successful identity write invalidates what this
        gateway cached about them now, not one event relay later (other users follow the events)."""
        auth.forget_user(caller.user_id)
        parts = path.strip("/").split("/")
        if method == "DELETE" and len(parts) == 2 and parts[0] == "api-tokens":
            auth.forget_token(parts[1])

    def _preflight():
        response = Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = request.headers.get(
            "Access-Control-Request-Headers", "Authorization, Content-Type, Last-Event-ID")
        response.headers["Access-Control-Max-Age"] = "600"
        return response

    def _is_upload(path: str, method: str) -> bool:
        return method == "POST" and path.rstrip("/").endswith("/attachments")

    def _check_body_size(path: str, method: str) -> None:
        limit = settings.max_upload_bytes + 64 * 1024 if _is_upload(path, method) else settings.max_body_bytes
        length = request.content_length
        if length is not None and length > limit:
            raise PayloadTooLarge(f"Request body too large (limit {limit} bytes)")
        g.body_limit = limit

    def _rate_limit(key: str, limit: int) -> None:
        if limit <= 0:
            return
        ok, remaining, reset, retry = limiter.hit(key, limit)
        g.rate_headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining),
                          "X-RateLimit-Reset": str(reset)}
        if not ok:
            raise TooManyRequests("Rate limit exceeded", headers={"Retry-After": str(retry)} | g.rate_headers)

    def _forward(service: str, path: str, caller_token: str | None, pass_bearer: bool = False):
        if service not in settings.enabled_services:
            raise ServiceUnavailable(f"Service {service} is not available")
        # the path as routed and guarded, quoted again: a `%3F` or `%25` the client sent inside a
        # segment stays inside it, and the request line stays ASCII
        url = settings.service_urls[service] + quote(path, safe=PATH_SAFE)
        if request.query_string:
            url += "?" + request.query_string.decode("latin-1")
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in dropped_headers and k.lower() not in INTERNAL_HEADERS}
        if pass_bearer and caller_token:
            headers["Authorization"] = request.headers["Authorization"]
        headers["X-Request-Id"] = g.request_id
        headers["X-Forwarded-For"] = client_ip()
        if caller_token:
            headers[CALLER_HEADER] = caller_token
        # traced: the gateway span's; untraced: the caller's (when valid) or the one started in _begin
        headers = inject_headers(headers)
        body = None
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            if request.content_length is not None:
                headers["Content-Length"] = str(request.content_length)
                body = request.stream if request.content_length > 65536 else request.stream.read()
            elif request.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = LimitedStream(request.stream, g.body_limit)
                if _is_upload(path, request.method):
                    headers["Transfer-Encoding"] = "chunked"
                else:  # read (≤ MAX_BODY_BYTES) before forwarding: a refused body never reaches a service
                    body = body.read_all()
                    headers["Content-Length"] = str(len(body))
        streaming = request.method == "GET" and (path.endswith("/stream") or "/attachments/" in path
                                                 or service == "mcp")
        loop = asyncweb.loop_of(request.environ)
        if streaming and loop is not None:
            return _forward_on_loop(loop, service, url, headers)
        timeout = STREAM_TIMEOUT if streaming else upstream_timeout
        try:
            upstream = http.urlopen(request.method, url, body=body, headers=headers, preload_content=False,
                                    decode_content=False, redirect=False, timeout=timeout,
                                    retries=RETRY_GET if request.method == "GET" else NO_RETRY,
                                    chunked=headers.get("Transfer-Encoding") == "chunked")
        except PayloadTooLarge:
            raise
        except urllib3.exceptions.HTTPError as exc:
            log.warning("upstream %s failed for %s %s: %s", service, request.method, path, exc)
            raise ServiceUnavailable(f"Service {service} is unavailable") from exc
        out_headers = [(k, v) for k, v in upstream.headers.items()
                       if k.lower() not in HOP_BY_HOP and k.lower() != "x-request-id"]
        content_type = upstream.headers.get("Content-Type", "")
        if "text/event-stream" in content_type or upstream.headers.get("Transfer-Encoding", "").lower() == "chunked":
            def relay():
                try:
                    for chunk in upstream.read_chunked(decode_content=False) if upstream.chunked else upstream.stream(65536, decode_content=False):
                        yield chunk
                except urllib3.exceptions.HTTPError:
                    return
                finally:
                    upstream.release_conn()
            resp = Response(relay(), status=upstream.status, headers=out_headers, direct_passthrough=True)
            resp.headers["X-Accel-Buffering"] = "no"
            return resp
        length = upstream.headers.get("Content-Length")
        if length is not None and int(length) <= 256 * 1024:
            data = upstream.read(decode_content=False)
            upstream.release_conn()
            resp = Response(data, status=upstream.status, headers=out_headers)
            return resp

        def stream():
            try:
                yield from upstream.stream(65536, decode_content=False)
            finally:
                upstream.release_conn()
        resp = Response(stream(), status=upstream.status, headers=out_headers, direct_passthrough=True)
        if length is not None:
            resp.headers["Content-Length"] = length
        return resp

    def _forward_on_loop(loop, service: str, url: str, headers: dict):
        """A streamed GET under create_asgi(): opened and relayed on the event loop (gateway/streams.py)."""
        try:
            upstream = streams_upstream.open(loop, url, headers)
        except UpstreamError as exc:
            log.warning("upstream %s failed for GET %s: %s", service, request.path, exc)
            raise ServiceUnavailable(f"Service {service} is unavailable") from exc
        out_headers = [(k, v) for k, v in upstream.headers
                       if k.lower() not in HOP_BY_HOP and k.lower() != "x-request-id"]
        length = upstream.header("Content-Length")
        live = "text/event-stream" in (upstream.header("Content-Type") or "") or length is None
        if not live and int(length) <= 256 * 1024:
            return Response(asyncweb.call(loop, upstream.read()), status=upstream.status, headers=out_headers)
        resp = Response(upstream.body(loop), status=upstream.status, headers=out_headers, direct_passthrough=True)
        if live:
            resp.headers["X-Accel-Buffering"] = "no"
        else:
            resp.headers["Content-Length"] = length
        return resp

    setup_telemetry("gateway", app if traced else None)
    bus.start()
    return app


def create_asgi(config: dict | None = None):
    """The gateway on an event loop (deploy/gunicorn.conf.py: the `asgi` worker): streamed answers
    hold no thread (libs/common/asyncweb.py)."""
    return asyncweb.WsgiBridge(create_app(config))
