"""OpenTelemetry: the caller's trace continues through the gateway, the service and the outbox
onto the NATS message (traceparent header and envelope); with spans exported, one trace holds the
gateway's request, the service's, the outbox publish and the consumer's handling of a card move
down to the notification it writes (spans received in memory by a local OTLP collector)."""
import asyncio
import gzip
import json
import secrets
import threading

import nats
import pytest
import requests

from tests.support import unique_email, wait_until


def test_traceparent_travels_from_http_request_to_the_published_event(stack, base):
    trace_id = secrets.token_hex(16)
    got, ready = [], threading.Event()
    done = threading.Event()

    async def listen():
        nc = await nats.connect(f"nats://127.0.0.1:{stack.infra.nats_port}")

        async def cb(msg):
            got.append((msg.headers or {}, json.loads(msg.data)))
        await nc.subscribe("identity.user.registered", cb=cb)
        ready.set()
        while not done.is_set():
            await asyncio.sleep(0.02)
        await nc.close()

    thread = threading.Thread(target=lambda: asyncio.run(listen()), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        email = unique_email("trace")
        r = requests.post(base + "/auth/register", json={"email": email, "password": "secure-pass-123"},
                          headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}, timeout=30)
        assert r.status_code == 201
        headers, env = wait_until(lambda: next((m for m in got if m[1]["data"]["user"]["email"] == email), None),
                                  10, message="registration event published")
    finally:
        done.set()
        thread.join(5)
    assert headers["Nats-Msg-Id"] == env["id"]
    assert env["traceparent"].split("-")[1] == trace_id
    assert headers["traceparent"].split("-")[1] == trace_id


# ------------------------------------------------------------------ one trace, end to end (spans)

class SpanReceiver:
    """An OTLP/HTTP collector in this process: every span the stack's processes export is kept in
    memory (the processes' own exporter speaks the real protocol to it)."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest, ExportTraceServiceResponse)
        self.spans: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                for resource in request.resource_spans:
                    attrs = {a.key: a.value.string_value for a in resource.resource.attributes}
                    for scope in resource.scope_spans:
                        for s in scope.spans:
                            receiver.spans.append({
                                "service": attrs.get("service.name"), "name": s.name, "kind": s.kind,
                                "trace_id": s.trace_id.hex(), "span_id": s.span_id.hex(),
                                "parent_id": s.parent_span_id.hex() or None,
                                "attributes": {a.key: a.value.string_value or a.value.int_value for a in s.attributes}})
                out = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def trace(self, trace_id: str) -> list[dict]:
        return [s for s in list(self.spans) if s["trace_id"] == trace_id]

    def close(self):
        self.server.shutdown()


@pytest.fixture(scope="module")
def traced_stack(tmp_path_factory):
    """Its own stack (identity, boards, notifications) exporting spans to a SpanReceiver."""
    from devtools.stack import Stack, built_services
    if not {"identity", "boards", "notifications"} <= set(built_services()):
        pytest.skip("needs identity, boards and notifications")
    receiver = SpanReceiver()
    stack = Stack.start(tmp_path_factory.mktemp("traced"), services=["identity", "boards", "notifications"],
                        extra_env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "100"})
    yield stack, receiver
    stack.stop()
    receiver.close()


def test_one_trace_from_the_gateway_through_boards_the_outbox_and_nats_to_the_notification(traced_stack):
    from opentelemetry.proto.trace.v1.trace_pb2 import Span
    from services.notifications.tests.support import wait_notifications
    from tests.support import register, team

    stack, receiver = traced_stack
    alice = register(stack.url, name="Alice")
    bob = team(stack.url, alice)
    project = alice.post(alice.W + "/projects", json={"name": "Traced", "templateId": "kanban"}).json()
    P = f"{alice.W}/projects/{project['id']}"
    assert alice.post(P + "/members", json={"email": bob.email}).status_code == 201
    todo, doing = project["columns"][0], project["columns"][1]
    card = alice.post(f"{P}/columns/{todo['id']}/cards", json={"title": "Trace me"}).json()
    wait_notifications(bob, 2)   # member_added, card_created

    trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
    r = alice.patch(f"{P}/cards/{card['id']}", json={"columnId": doing["id"]},
                    headers={"traceparent": f"00-{trace_id}-{client_span}-01"})
    assert r.status_code == 200, r.text
    moved = wait_notifications(bob, 3)[0]
    assert moved["activity"]["type"] == "card_moved" and moved["activity"]["cardId"] == card["id"]

    def complete():
        spans = receiver.trace(trace_id)
        consumer = [s for s in spans if s["service"] == "notifications-worker" and s["kind"] == Span.SPAN_KIND_CONSUMER
                    and s["name"] == "boards.card.moved process"]
        # every process exports on its own schedule: the gateway's span (ended when its response
        # was sent) may come after the consumer's
        gateway = any(s["service"] == "gateway" and s["kind"] == Span.SPAN_KIND_SERVER for s in spans)
        if gateway and consumer and any(s["parent_id"] == consumer[0]["span_id"] for s in spans):
            return spans
        return None

    spans = wait_until(complete, 20, interval=0.2, message="the whole trace exported")
    by_id = {s["span_id"]: s for s in spans}

    def one(service, kind, name=None):
        found = [s for s in spans if s["service"] == service and s["kind"] == kind and (name is None or s["name"] == name)]
        assert found, f"no {kind} span of {service} {name or ''} in {[(s['service'], s['name']) for s in spans]}"
        return found[0]

    gateway = one("gateway", Span.SPAN_KIND_SERVER)
    boards = one("boards", Span.SPAN_KIND_SERVER)
    publish = one("boards", Span.SPAN_KIND_PRODUCER, "boards.card.moved publish")
    consume = one("notifications-worker", Span.SPAN_KIND_CONSUMER, "boards.card.moved process")
    # the chain, each hop the child of the one before
    assert gateway["parent_id"] == client_span
    assert boards["parent_id"] == gateway["span_id"]
    assert publish["parent_id"] == boards["span_id"]          # the outbox row, written by the request
    assert consume["parent_id"] == publish["span_id"]         # the NATS message, handled by the worker
    assert consume["attributes"]["messaging.destination.name"] == "boards.card.moved"
    # the handler's own work (writing the notification) happens inside the consumer's span
    handled = [s for s in spans if s["parent_id"] == consume["span_id"]]
    assert handled and all(s["service"] == "notifications-worker" for s in handled)
    assert all(s["parent_id"] in by_id or s is gateway for s in spans), "a span outside the chain"
