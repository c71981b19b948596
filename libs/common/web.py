"""The Flask side every service shares: the route decorator (validation + OpenAPI), the app base.

    api = Api("boards")

    @api.route("/orgs/<org>/workspaces/<ws>/projects", "POST", body=ProjectIn, response=ProjectOut,
               status=201, summary="Create a project")
    def create_project(org, ws, body):
        return service.create(caller=workspace_caller(org, ws), data=body)

The decorator parses the JSON body (400 on anything that is not a JSON object), loads it through
`body`, loads the query string through `query`, and serialises the handler's return value as
JSON with `status`. A handler may also return a Flask Response (downloads; Server-Sent Events, whose
route says `sse=sse_event(...)`: each event's schema). The document declares 400, 401, 403 and 404
with the error body on every operation; `errors=(409, 413)` adds the other statuses it answers.
"""
from __future__ import annotations

import logging
import re
import time
import uuid

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, Response, current_app, g, jsonify, request

from . import context, jsonio
from .errors import register_error_handlers
from .observability import instrument_app
from .schemas import load, schema

log = logging.getLogger(__name__)
_PARAM = re.compile(r"<(?:[a-z_]+:)?([A-Za-z_]+)>")
REQUEST_ID = "X-Request-Id"


class Api:
    def __init__(self, service: str):
        self.service = service
        self.routes: list[dict] = []

    def route(self, path: str, method: str = "GET", *, body=None, query=None, response=None,
              status: int = 200, summary: str = "", tags=None, public: bool = False, partial: bool = False,
              raw_body: bool = False, errors=(), sse: dict | None = None):
        # built once: a schema instance deep-copies its fields (libs/common/schemas.py `schema`)
        body_schema = schema(body) if isinstance(body, type) else body
        query_schema = schema(query) if isinstance(query, type) else query

        def decorator(fn):
            def view(**kwargs):
                if body_schema is not None:
                    raw = request.get_data(cache=True)  # whatever the Content-Type: a form is not JSON
                    payload = jsonio.loads(raw) if raw.strip() else {}  # `null` is not an object: 400
                    kwargs["body"] = load(body_schema, payload, partial=partial)
                if query_schema is not None:
                    kwargs["query"] = query_schema.load(request.args.to_dict())
                    jsonio.check_numbers(kwargs["query"])
                result = fn(**kwargs)
                if isinstance(result, Response):
                    return result
                response_obj = jsonify(result)
                response_obj.status_code = status
                return response_obj

            view.__name__ = f"{fn.__module__}.{fn.__name__}".replace(".", "_")
            view.__doc__ = fn.__doc__
            self.routes.append({"path": path, "method": method.upper(), "view": view, "body": body,
                                "query": query, "response": response, "status": status,
                                "summary": summary or (fn.__doc__ or "").strip().split("\n")[0],
                                "tags": tags or [self.service], "public": public, "raw_body": raw_body,
                                "errors": tuple(str(code) for code in errors), "sse": sse})
            return fn
        return decorator

    def register(self, app: Flask) -> None:
        for r in self.routes:
            app.add_url_rule(r["path"], endpoint=f'{r["view"].__name__}_{r["method"]}', view_func=r["view"],
                             methods=[r["method"]])

    def openapi(self, title: str | None = None) -> dict:
        spec = APISpec(title=title or f"Stellary {self.service}", version="1.0.0", openapi_version="3.0.3",
                       plugins=[MarshmallowPlugin()])
        spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
        paths: dict[str, dict] = {}
        for r in self.routes:
            oa_path = _PARAM.sub(r"{\1}", r["path"])
            op: dict = {"summary": r["summary"], "tags": r["tags"],
                        "responses": {str(r["status"]): {"description": "OK"}}}
            params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                      for n in _PARAM.findall(r["path"])]
            if r["query"] is not None:
                params.append({"in": "query", "schema": r["query"]})
            if params:
                op["parameters"] = params
            if r["body"] is not None:
                op["requestBody"] = {"required": True, "content": {"application/json": {"schema": r["body"]}}}
            elif r["raw_body"]:
                op["requestBody"] = {"content": {"multipart/form-data": {"schema": {
                    "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}}}
            if r["response"] is not None:
                op["responses"][str(r["status"])]["content"] = {"application/json": {"schema": r["response"]}}
            elif r["sse"] is not None:
                op["responses"][str(r["status"])]["content"] = {"text/event-stream": {"schema": r["sse"]}}
            if not r["public"]:
                op["security"] = [{"bearer": []}]
            for code in ("400", "401", "403", "404", *r["errors"]):
                op["responses"].setdefault(code, {"$ref": "#/components/responses/Error"})
            paths.setdefault(oa_path, {})[r["method"].lower()] = op
        for oa_path, ops in paths.items():
            spec.path(path=oa_path, operations=ops)
        doc = spec.to_dict()
        doc.setdefault("components", {}).setdefault("responses", {})["Error"] = {
            "description": "Error body",
            "content": {"application/json": {"schema": {"type": "object", "properties": {
                "statusCode": {"type": "integer"}, "message": {"type": "string"}, "error": {"type": "string"},
                "details": {"type": "object", "description": "what failed, e.g. a 400's field errors"}},
                "required": ["statusCode", "message", "error"]}}}}
        return doc


def sse_event(events: dict[str, str]) -> dict:
    """The schema of each event of a `text/event-stream` response (OpenAPI 3.0: `schema` describes one
    event, as {event, data, id?, retry?}); `events` maps each event name to what its `data` holds."""
    return {"type": "object", "required": ["event", "data"], "properties": {
        "event": {"type": "string", "enum": list(events)},
        "data": {"type": "string", "description": "; ".join(f"{name}: {what}" for name, what in events.items())},
        "id": {"type": "string", "description": "the stream cursor: send it back as Last-Event-ID to resume"},
        "retry": {"type": "integer"}}}


def create_service_app(name: str, settings, api: Api | None = None, *, client=None, worker: bool = True,
                       ready_checks=None, health_checks=None) -> Flask:
    """A Flask app with the common plumbing and the probes every service answers:

    - `/live`: the process answers (no dependency);
    - `/ready`: what must be up for this process to take traffic: the database (`client`) and
      `ready_checks()` ({component: bool});
    - `/health`: the system view the gateway reports: /ready's checks, the worker's heartbeat
      (`<name>-worker`, when the service has a `worker`) and `health_checks()`.
    """
    from .bus import worker_up
    from .mongo import mongo_up

    def ready():
        checks = {"mongo": mongo_up(client)} if client is not None else {}
        if ready_checks is not None and all(checks.values()):
            checks |= ready_checks()
        return checks

    def health():
        checks = ready()
        if worker and client is not None:
            checks[f"{name}-worker"] = worker_up(client[settings.mongo_db], name)
        if health_checks is not None:
            checks |= health_checks()
        return checks

    app = Flask(name)
    jsonio.install(app)
    app.config["INTERNAL_TOKEN_SECRET"] = settings.internal_token_secret
    app.config["JSON_SORT_KEYS"] = False
    app.json.compact = True
    app.config["SETTINGS"] = settings
    register_error_handlers(app)

    @app.before_request
    def _context():
        g.started = time.perf_counter()
        g.request_id = request.headers.get(REQUEST_ID) or uuid.uuid4().hex
        context.load_caller()

    @app.after_request
    def _headers(response):
        response.headers[REQUEST_ID] = g.get("request_id", "")
        return response

    instrument_app(app, name)   # metrics on METRICS_PORT, access log, request id in the logs

    def _report(check):
        checks = check() if check else {}
        ok = all(checks.values())
        body = {"status": "ok" if ok else "degraded", "service": name,
                "components": {k: ("up" if v else "down") for k, v in checks.items()}}
        return jsonify(body), (200 if ok else 503)

    @app.get("/health")
    def _health():
        return _report(health)

    @app.get("/ready")
    def _ready():
        return _report(ready)

    @app.get("/live")
    def _live():
        """The process answers (a liveness probe must not depend on the database)."""
        return jsonify({"status": "ok", "service": name})

    if api is not None:
        api.register(app)
        doc_cache = {}

        @app.get("/openapi.json")
        def _openapi():
            if "doc" not in doc_cache:
                doc_cache["doc"] = api.openapi()
            return jsonify(doc_cache["doc"])

    return app


def settings() :
    return current_app.config["SETTINGS"]
