"""create_app(): the mcp HTTP process, an ASGI app (Starlette, from the SDK) served by uvicorn.

    gateway ──POST /mcp (X-Stellary-Caller + the caller's bearer)──▶ mcp ──REST, same bearer──▶ gateway

The gateway authenticates the bearer token (JWT or PAT) as for REST, then forwards /mcp here with
the signed caller and the bearer itself. A tool calls the gateway's REST API with that bearer and a
via marker (`X-Stellary-Via`, signed with INTERNAL_TOKEN_SECRET): the same guard chain, scopes and
isolation as the caller's own requests, and its changes carry `via: "mcp"`. Stateless Streamable
HTTP: no session lives in this process, so any replica answers any request.
"""
from __future__ import annotations

import contextlib
import logging

import anyio
import httpx
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from libs.common.context import HEADER as CALLER_HEADER
from libs.common.context import sign_via, verify_caller
from libs.common.errors import Unauthorized, error_body
from libs.common.logs import configure_logging
from libs.common.mongo import connect, ensure_in_background, mongo_up, now_ms
from libs.common.observability import AsgiMetrics, serve_process_metrics

from .bridge import STDIO_USER_AGENT
from .rest import Rest, ToolFailure
from .settings import Settings
from .storage import CallLog
from .tools import Session, build_server

log = logging.getLogger(__name__)
RECORD_QUEUE = 1000   # tool-call records waiting for the writer


class CallerGuard:
    """/mcp answers only requests the gateway forwarded (a valid X-Stellary-Caller)."""

    def __init__(self, app, secret: str):
        self.app, self.secret = app, secret

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            try:
                verify_caller(headers.get(CALLER_HEADER.lower(), ""), self.secret)
            except Unauthorized:
                response = JSONResponse(error_body(401, "Missing caller context: /mcp is reached through the gateway"),
                                        status_code=401)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(config: dict | None = None) -> Starlette:
    settings = Settings(config)
    configure_logging("mcp", settings.log_level)
    for noisy in ("httpx", "mcp.server.streamable_http", "mcp.server.streamable_http_manager"):
        logging.getLogger(noisy).setLevel(logging.WARNING)  # a line per REST call / per stateless request
    client = connect(settings.mongo_uri, "mcp")
    calls = CallLog(client[settings.mongo_db])
    ensure_in_background(lambda: calls.ensure_indexes(settings.call_retention_days), "mcp")
    state: dict = {}

    def session_for(headers) -> Session:
        try:
            caller = verify_caller(headers.get(CALLER_HEADER.lower(), ""), settings.internal_token_secret)
        except Unauthorized as err:
            raise ToolFailure(401, err.message) from err
        marker = sign_via(user_id=caller.user_id, via="mcp", secret=settings.internal_token_secret)
        rest = Rest(http=state["http"], base_url=settings.gateway_url, authorization=headers.get("authorization", ""),
                    via_marker=marker)
        relayed = headers.get("user-agent", "").startswith(STDIO_USER_AGENT)
        return Session(rest=rest, user_id=caller.user_id, token=caller.token_id or "jwt",
                       board_max_cards=settings.board_max_cards, transport="stdio" if relayed else "http")

    # Records go through a bounded queue to one writer (batches of what queued meanwhile): a call's
    # answer never waits for its record's insert; a full queue (the database stalled) slows callers.
    async def record(entry: dict) -> None:
        try:
            state["records"].send_nowait(entry)
        except anyio.WouldBlock:
            await state["records"].send(entry)

    async def write_records(queue, written: anyio.Event):
        try:
            async for entry in queue:
                batch = [entry]
                while len(batch) < 100:
                    try:
                        batch.append(queue.receive_nowait())
                    except anyio.WouldBlock:
                        break
                try:
                    await anyio.to_thread.run_sync(calls.record_many, batch)
                except Exception as exc:  # noqa: BLE001 - a lost record must not fail the calls it describes
                    log.warning("could not record %d tool calls: %s", len(batch), exc)
        finally:
            written.set()

    server = build_server(connect=session_for, record=record)
    server.streamable_http_app(stateless_http=True, transport_security=TransportSecuritySettings(
        enable_dns_rebinding_protection=False))  # only the gateway reaches it, with a bearer token
    mcp_endpoint = CallerGuard(StreamableHTTPASGIApp(server.session_manager), settings.internal_token_secret)

    async def prune_forever():
        await anyio.sleep(min(60, settings.prune_interval))  # not while the database may still be starting
        while True:
            try:
                cutoff = now_ms() - settings.call_retention_days * 86_400_000
                removed = await anyio.to_thread.run_sync(lambda: calls.prune(before_ms=cutoff))
                if removed:
                    log.info("pruned %d recorded calls older than %d days", removed, settings.call_retention_days)
            except Exception as exc:  # noqa: BLE001 - the database may be down: try again next time
                log.warning("could not prune recorded calls: %s", exc)
            await anyio.sleep(settings.prune_interval)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        async with httpx.AsyncClient(timeout=settings.upstream_timeout, limits=limits) as http:
            state["http"] = http
            state["records"], queue = anyio.create_memory_object_stream(max_buffer_size=RECORD_QUEUE)
            written = anyio.Event()
            async with server.session_manager.run(), anyio.create_task_group() as tasks:
                tasks.start_soon(prune_forever)
                tasks.start_soon(write_records, queue, written)
                yield
                state["records"].close()   # the writer stores what is queued, then ends
                with anyio.move_on_after(5):
                    await written.wait()
                tasks.cancel_scope.cancel()

    async def probe(request):
        up = await anyio.to_thread.run_sync(mongo_up, client)
        body = {"status": "ok" if up else "degraded", "service": "mcp", "components": {"mongo": "up" if up else "down"}}
        return JSONResponse(body, status_code=200 if up else 503)

    async def live(request):
        return JSONResponse({"status": "ok", "service": "mcp"})

    async def openapi(request):
        # /mcp speaks MCP, not REST: nothing to declare in the merged OpenAPI document.
        return JSONResponse({"openapi": "3.0.3", "info": {"title": "Stellary mcp", "version": "1.0.0"}, "paths": {}})

    routes = [Route("/live", live), Route("/ready", probe), Route("/health", probe),
              Route("/openapi.json", openapi), Route("/mcp", mcp_endpoint),
              Route("/mcp/", mcp_endpoint)]  # the gateway routes both: no redirect to here
    app = Starlette(routes=routes, lifespan=lifespan)
    # Prometheus (README "Metrics"): request figures, and a listener on METRICS_PORT when it is set
    app.add_middleware(AsgiMetrics, service="mcp", routes=[r.path for r in routes])
    serve_process_metrics("mcp")
    app.state.calls = calls
    return app
