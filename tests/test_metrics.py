"""Prometheus metrics: every web and worker process of the stack answers a scrape on its own
METRICS_PORT (never on the public port); requests are counted by route and status, SSE streams
open are gauged across gunicorn processes, and workers report their outbox backlog and consumer
lag, read at scrape time."""
import re

import pytest
import requests

from libs.common import observability
from tests.support import wait_until


def scrape(url: str) -> str:
    r = requests.get(url, timeout=10)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"].startswith("text/plain")
    return r.text


def value(text: str, name: str, **labels) -> float | None:
    """The sample `name{labels…}` (labels a subset of the sample's), summed over the others."""
    total, found = 0.0, False
    for m in re.finditer(rf"^{re.escape(name)}\{{([^}}]*)\}} (\S+)$", text, flags=re.M):
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if all(have.get(k) == v for k, v in labels.items()):
            total, found = total + float(m.group(2)), True
    return total if found else None


def test_every_process_answers_a_scrape_on_its_metrics_port(stack, alice):
    assert alice.get("/auth/me").status_code == 200
    for (name, kind), _port in stack.metrics_ports.items():
        if (name, kind) not in stack.procs:
            continue
        text = scrape(stack.metrics_url(name, kind))
        service = name if kind == "web" else f"{name}"
        if kind == "web":
            assert value(text, "stellary_http_request_duration_seconds_count", service=service) is not None, name
        else:
            assert value(text, "stellary_outbox_backlog", service=name) is not None, name


def test_requests_are_counted_by_route_and_status_on_the_gateway_and_the_service(stack, alice):
    before = scrape(stack.metrics_url("gateway"))
    route = "identity:/auth/me"
    n0 = value(before, "stellary_http_request_duration_seconds_count", route=route, status="200") or 0
    for _ in range(3):
        assert alice.get("/auth/me").status_code == 200
    assert alice.get("/auth/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    after = scrape(stack.metrics_url("gateway"))
    assert value(after, "stellary_http_request_duration_seconds_count", route=route, status="200") == n0 + 3
    assert value(after, "stellary_http_request_duration_seconds_count", route=route, status="401") >= 1
    # the latency histogram has its buckets, up to +Inf
    assert value(after, "stellary_http_request_duration_seconds_bucket", route=route, status="200", le="+Inf") == n0 + 3
    identity = scrape(stack.metrics_url("identity"))
    assert value(identity, "stellary_http_request_duration_seconds_count", route="/auth/me", status="200") >= 3


def test_metrics_are_not_on_the_public_port_and_the_metrics_port_serves_nothing_else(stack, base):
    assert requests.get(base + "/metrics", timeout=10).status_code == 404
    port = stack.metrics_ports[("gateway", "web")]
    assert requests.get(f"http://127.0.0.1:{port}/auth/me", timeout=10).status_code == 404
    assert requests.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 404
    worker = next(k for k in stack.metrics_ports if k[1] == "worker" and k in stack.procs)
    assert requests.get(stack.metrics_url(*worker).replace("/metrics", "/other"), timeout=10).status_code == 404


@pytest.mark.skipif("notifications" not in __import__("devtools.stack").stack.built_services(), reason="notifications not built")
def test_sse_streams_open_are_gauged_and_workers_report_consumer_lag(stack, alice):
    if "notifications" not in stack.services:
        pytest.skip("notifications not in this stack")

    def open_streams(name):
        return value(scrape(stack.metrics_url(name)), "stellary_sse_streams_open") or 0

    before = {n: open_streams(n) for n in ("gateway", "notifications")}
    with requests.get(alice.base + "/notifications/stream", headers=alice.headers(), stream=True, timeout=30) as r:
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/event-stream")
        for name in before:
            wait_until(lambda: open_streams(name) == before[name] + 1, 10, message=f"{name}: stream gauged")
    for name in before:   # the server notices the client left at its next write (a heartbeat at most)
        wait_until(lambda: open_streams(name) == before[name], 45, interval=1, message=f"{name}: stream closed")
    worker = scrape(stack.metrics_url("notifications", "worker"))
    consumers = re.findall(r'^stellary_consumer_lag\{consumer="([^"]+)"', worker, flags=re.M)
    assert consumers, "the notifications worker reports no consumer lag"
    for consumer in consumers:
        assert value(worker, "stellary_consumer_lag", consumer=consumer) >= 0
        assert value(worker, "stellary_consumer_ack_pending", consumer=consumer) >= 0


def test_a_metrics_token_guards_the_scrape(monkeypatch):
    monkeypatch.setenv("METRICS_TOKEN", "scrape-token-123456")
    assert observability.exposition(None)[0] == 401
    assert observability.exposition("Bearer wrong")[0] == 401
    status, headers, body = observability.exposition("Bearer scrape-token-123456")
    assert status == 200 and b"# HELP" in body
    monkeypatch.delenv("METRICS_TOKEN")
    assert observability.exposition(None)[0] == 200


def test_gateway_route_labels_are_bounded():
    assert observability.path_template("/orgs/acme-1/workspaces/main/projects/64b7f0c2a1b2c3d4e5f60718/cards") \
        == "/orgs/{}/workspaces/main/projects/{}/cards"
