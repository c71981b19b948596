"""The gateway's own behaviour, end to end: errors, routing, limits, CORS, request ids, health, OpenAPI,
the internal caller token, and its caches (membership and PAT) following identity's events."""
import http.client
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from libs.common.context import Caller, sign_caller
from tests.support import assert_error, register, team, wait_until

# The shared contract tool, when ../shared lies beside the checkout (tests/test_contract_coverage.py
# checks the same against the repository's own docs/endpoints.tsv in any case).
CONTRACT_TOOL = Path(__file__).resolve().parents[3] / "shared" / "tools" / "contract-coverage"


def raw_get(base, path, headers=None):
    """GET with the path sent exactly as written (requests would normalise dot segments)."""
    url = urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.putrequest("GET", path, skip_accept_encoding=True)
    for key, value in (headers or {}).items():
        conn.putheader(key, value)
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, resp.getheader("Content-Type"), body


# ---------------------------------------------------------------- errors and routing
def test_unknown_path_is_404_json(base, alice):
    for client in (alice, alice.with_token(None)):
        r = client.get("/definitely/not/a/route")
        assert_error(r, 404)
        assert r.headers["Content-Type"].startswith("application/json")
    assert_error(alice.post("/organizations/x/y/z", json={}), 404)


def test_a_service_not_running_is_503_json(stack, monkeypatch, alice):
    # a gateway for which only identity runs (the shared stack may run more services)
    for key in ("JWT_SECRET", "INTERNAL_TOKEN_SECRET", "NATS_URL", "MONGO_URI", "IDENTITY_URL"):
        monkeypatch.setenv(key, stack.env[key])
    monkeypatch.setenv("GATEWAY_SERVICES", "identity")
    from gateway.app import create_app

    app = create_app()
    try:
        r = app.test_client().get(alice.W + "/agents", headers={"Authorization": f"Bearer {alice.token}"})
        assert r.status_code == 503 and r.json["statusCode"] == 503 and "agents" in r.json["message"]
        assert r.headers["Content-Type"].startswith("application/json")
    finally:
        app.extensions["bus"].close()
    if "agents" not in stack.services:  # and the same through the real gateway
        r = alice.get(alice.W + "/agents")
        assert assert_error(r, 503)["message"] and "<html" not in r.text.lower()


def test_guard_runs_before_routing_to_a_missing_service(base, alice, bob):
    # a stranger learns nothing about the workspace, even when its service is down
    assert_error(bob.get(alice.W + "/agents"), 404)
    assert_error(requests.get(base + alice.W + "/agents", timeout=30), 401)


def test_internal_endpoints_are_not_routed(base, alice):
    for path in ("/internal/principal?userId=" + alice.user_id, "/internal/pat"):
        assert_error(alice.get(path), 404)
    assert_error(alice.post("/internal/pat", json={"hash": "0" * 64}), 404)


@pytest.mark.parametrize("suffix", ["/members/..", "/members/%2e%2e", "/members/.%2e/..%2F..%2F..%2Finternal%2Fpat",
                                    "/agents/../../../../../internal/principal", "/members/./x"])
def test_dot_segments_are_refused(base, alice, suffix):
    status, ctype, body = raw_get(base, alice.W + suffix, {"Authorization": f"Bearer {alice.token}"})
    assert status == 404 and ctype.startswith("application/json"), (status, body)


def test_dot_segments_cannot_reach_another_services_internals(base, alice):
    status, _, body = raw_get(base, "/notifications/../internal/principal", {"Authorization": f"Bearer {alice.token}"})
    assert status == 404, body


@pytest.mark.parametrize("segment", ["%3F%20x", "a%25zz", "%5C_%3B", "%C3%A9t%C3%A9", "%F0%9F%93%8B", "%C2%80%FF"])
def test_an_escaped_segment_reaches_the_service_as_one_segment(base, alice, segment):
    """`%3F`, `%25`, `;` or non-ASCII inside an id: forwarded inside its segment (quoted again), so the
    service answers 404 for the unknown id, on the plain path (POST) and on the streamed one (GET
    …/stream and attachments, relayed on the event loop) — not 405 for a cut path nor 500."""
    auth = {"Authorization": f"Bearer {alice.token}"}
    project = alice.post(alice.W + "/projects", json={"name": "Escapes"}).json()["id"]
    paths = [f"{alice.W}/missions/{segment}/stream",
             f"{alice.W}/projects/{project}/cards/{segment}/attachments/{segment}",
             f"{alice.W}/projects/{segment}/cards/{segment}"]
    for path in paths:
        status, ctype, body = raw_get(base, path, auth)
        assert status == 404 and ctype.startswith("application/json"), (path, status, body)
    url = urlparse(base)
    for path, body in ((f"{alice.W}/projects/{segment}/cards/{segment}/checklist", b'{"title": "x"}'),
                       (f"{alice.W}/project-drafts/{segment}/refine",
                        b'{"answers": [{"questionId": "q", "answer": "a"}]}')):
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        conn.request("POST", path, body=body,
                     headers=auth | {"Content-Type": "application/json"})
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        assert resp.status == 404, (path, resp.status, body)


def test_method_not_allowed_is_json(alice):
    assert_error(alice.put(alice.W, json={}), 405)


# ---------------------------------------------------------------- limits
def test_body_over_the_limit_is_413_json(base, alice):
    big = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    assert_error(requests.post(base + "/auth/register", data=big, headers={"Content-Type": "application/json"},
                               timeout=30), 413)

    def chunks():
        for _ in range(20):
            yield b"x" * 65536
    # on one keep-alive connection: the 413 always arrives, and the connection stays usable
    for _ in range(5):
        assert_error(alice.patch("/auth/me", data=big, headers={"Content-Type": "application/json"}), 413)
        assert alice.get("/auth/me").status_code == 200
        assert_error(alice.patch("/auth/me", data=chunks(), headers={"Content-Type": "application/json"}), 413)
        assert alice.get("/auth/me").status_code == 200
    # just under the limit goes through (and fails validation instead)
    ok_size = b'{"name": "' + b"x" * 1000 + b'"}'
    assert_error(alice.patch("/auth/me", data=ok_size, headers={"Content-Type": "application/json"}), 400, "name")


# ---------------------------------------------------------------- CORS and request ids
def test_cors_preflight_and_allow_origin(base, alice):
    r = requests.options(base + "/auth/me", headers={"Origin": "https://app.example.com",
                                                     "Access-Control-Request-Method": "PATCH",
                                                     "Access-Control-Request-Headers": "Authorization, Content-Type"},
                         timeout=30)
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] in ("*", "https://app.example.com")
    assert "PATCH" in r.headers["Access-Control-Allow-Methods"]
    assert "authorization" in r.headers["Access-Control-Allow-Headers"].lower()
    for resp in (alice.get("/auth/me", headers={"Origin": "https://app.example.com"}),
                 requests.get(base + "/auth/me", headers={"Origin": "https://app.example.com"}, timeout=30)):
        assert resp.headers["Access-Control-Allow-Origin"] in ("*", "https://app.example.com")
        assert {"X-Request-Id", "ETag", "X-Next-Cursor"} <= {h.strip() for h in resp.headers["Access-Control-Expose-Headers"].split(",")}


def test_request_id_is_echoed_or_generated(base, alice):
    rid = f"test-{uuid.uuid4().hex}"
    assert alice.get("/auth/me", headers={"X-Request-Id": rid}).headers["X-Request-Id"] == rid
    assert requests.get(base + "/nope", headers={"X-Request-Id": rid}, timeout=30).headers["X-Request-Id"] == rid
    generated = {alice.get("/auth/me").headers["X-Request-Id"] for _ in range(3)}
    assert len(generated) == 3 and all(len(g) >= 16 for g in generated)
    assert requests.get(base + "/nope", timeout=30).headers["X-Request-Id"]


# ---------------------------------------------------------------- health and OpenAPI
def test_health_reports_each_component(base):
    r = requests.get(base + "/health", timeout=30)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert {"gateway", "nats", "identity", "mongo"} <= set(body["components"])
    assert set(body["components"].values()) == {"up"}


def test_openapi_declares_every_identity_endpoint(base):
    doc = requests.get(base + "/openapi.json", timeout=30).json()
    assert doc["openapi"].startswith("3.")
    assert "/auth/register" in doc["paths"] and "/api-tokens/{token_id}" in doc["paths"]
    assert not any(p.startswith("/internal") for p in doc["paths"])
    assert "requestBody" in doc["paths"]["/auth/register"]["post"]
    if not CONTRACT_TOOL.exists():
        return
    run = subprocess.run([sys.executable, str(CONTRACT_TOOL), "--url", base, "--service", "identity"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "missing" not in run.stdout, run.stdout


# ---------------------------------------------------------------- the internal caller token
def test_services_refuse_requests_without_the_gateway_caller(stack, alice):
    identity = stack.service_url("identity")
    r = requests.get(identity + "/auth/me", headers={"Authorization": f"Bearer {alice.token}"}, timeout=30)
    assert_error(r, 401)
    forged = sign_caller(Caller(user_id=alice.user_id, email=alice.email), "not-the-internal-secret-but-32-bytes-long")
    assert_error(requests.get(identity + "/auth/me", headers={"X-Stellary-Caller": forged}, timeout=30), 401)
    genuine = sign_caller(Caller(user_id=alice.user_id, email=alice.email), stack.env["INTERNAL_TOKEN_SECRET"])
    r = requests.get(identity + "/auth/me", headers={"X-Stellary-Caller": genuine}, timeout=30)
    assert r.status_code == 200 and r.json()["user"]["id"] == alice.user_id
    expired = sign_caller(Caller(user_id=alice.user_id), stack.env["INTERNAL_TOKEN_SECRET"], ttl=-5)
    assert_error(requests.get(identity + "/auth/me", headers={"X-Stellary-Caller": expired}, timeout=30), 401)


def test_internal_endpoints_need_the_system_caller(stack, alice):
    identity = stack.service_url("identity")
    as_user = sign_caller(Caller(user_id=alice.user_id), stack.env["INTERNAL_TOKEN_SECRET"])
    r = requests.get(identity + "/internal/principal", params={"userId": alice.user_id},
                     headers={"X-Stellary-Caller": as_user}, timeout=30)
    assert_error(r, 403)
    assert_error(requests.get(identity + "/internal/principal", params={"userId": alice.user_id}, timeout=30), 401)


def test_a_client_cannot_smuggle_a_caller_header(stack, base, alice, bob):
    as_bob = sign_caller(Caller(user_id=bob.user_id, email=bob.email), stack.env["INTERNAL_TOKEN_SECRET"])
    r = alice.get("/auth/me", headers={"X-Stellary-Caller": as_bob})
    assert r.status_code == 200 and r.json()["user"]["id"] == alice.user_id
    assert_error(requests.get(base + "/auth/me", headers={"X-Stellary-Caller": as_bob}, timeout=30), 401)
    assert_error(requests.get(base + "/auth/me", headers={"x-stellary-caller": as_bob}, timeout=30), 401)


# ---------------------------------------------------------------- caches follow identity's events
def test_removed_workspace_member_loses_access_within_a_second(base, alice):
    bob = team(base, alice)
    gated = alice.W + "/agents"  # decided by the gateway alone: member -> routed (200/503), stranger -> 404
    assert bob.get(gated).status_code != 404
    assert bob.get(gated).status_code != 404  # now cached
    assert alice.delete(alice.W + f"/members/{bob.user_id}").status_code == 200
    wait_until(lambda: bob.get(gated).status_code == 404, timeout=1)
    assert_error(bob.get(alice.W), 404)


def test_org_member_removal_reaches_a_cached_pat_within_a_second(base, alice):
    bob = team(base, alice)
    tok = bob.post("/api-tokens", json={"name": "t", "scopes": ["pilotage:read"]}).json()["token"]
    pat = bob.with_token(tok)
    assert pat.get(alice.W + "/agents").status_code not in (401, 403, 404)  # cached membership
    assert alice.delete(f"/organizations/{alice.org}/members/{bob.user_id}").status_code == 200
    wait_until(lambda: pat.get(alice.W + "/agents").status_code == 404, timeout=1)


def test_new_member_is_let_in_at_once_after_a_cached_refusal(base, alice):
    bob = register(base)
    assert_error(bob.get(alice.W + "/agents"), 404)  # the refusal is cached by the gateway
    inv = alice.post(alice.W + "/members/invite", json={"email": bob.email}).json()
    assert bob.post(f"/invitations/{inv['token']}/accept").status_code == 200
    assert bob.get(alice.W + "/agents").status_code != 404  # the caller's own write dropped the refusal
    assert bob.get(alice.W).status_code == 200


def test_org_slug_change_reaches_the_gateway(base, alice):
    bob = team(base, alice)
    old = alice.org
    assert bob.get(f"/orgs/{old}/workspaces/{alice.ws}/agents").status_code != 404
    new = f"renamed-{uuid.uuid4().hex[:8]}"
    assert alice.patch(f"/organizations/{old}", json={"slug": new}).status_code == 200
    wait_until(lambda: bob.get(f"/orgs/{old}/workspaces/{alice.ws}/agents").status_code == 404, timeout=1)
    assert bob.get(f"/orgs/{new}/workspaces/{alice.ws}/agents").status_code != 404


# ---------------------------------------------------------------- an in-process gateway against the real stack
@pytest.fixture
def local_gateway(stack, monkeypatch):
    """A second gateway (Flask test client) on the same identity and NATS, with its own settings —
    lets a test read its cache counters and tighten its limits."""
    for key in ("JWT_SECRET", "INTERNAL_TOKEN_SECRET", "NATS_URL", "MONGO_URI", "IDENTITY_URL", "GATEWAY_SERVICES"):
        monkeypatch.setenv(key, stack.env[key])
    from gateway.app import create_app

    app = create_app({"rate_limit_token_per_min": 5})
    bus = app.extensions["bus"]
    wait_until(lambda: bus.connected, timeout=10)
    time.sleep(0.1)  # the first connection clears the caches (on_reconnect): let it pass
    yield app
    bus.close()


def test_warm_cache_makes_no_identity_round_trip(local_gateway, base):
    user = register(base)
    auth = local_gateway.extensions["auth"]
    client = local_gateway.test_client()
    headers = {"Authorization": f"Bearer {user.token}"}
    assert client.get(f"/organizations/{user.org}", headers=headers).status_code == 200
    before = dict(auth.stats)
    for _ in range(4):
        assert client.get(f"/organizations/{user.org}", headers=headers).status_code == 200
    assert auth.stats == before


def test_token_rate_limit_is_429_with_headers(local_gateway, base):
    user = register(base)
    client = local_gateway.test_client()
    headers = {"Authorization": f"Bearer {user.token}"}
    statuses = [client.get("/auth/me", headers=headers) for _ in range(6)]
    assert [r.status_code for r in statuses] == [200] * 5 + [429]
    limited = statuses[-1]
    assert limited.json["statusCode"] == 429
    assert int(limited.headers["Retry-After"]) >= 0 and limited.headers["X-RateLimit-Remaining"] == "0"
    assert "X-RateLimit-Reset" in limited.headers
    assert statuses[0].headers["X-RateLimit-Remaining"] == "4"


def settle(auth, quiet=0.3, timeout=5.0):
    """Wait until identity's events stopped arriving at this gateway (its generation holds still)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        seen = auth.generation
        time.sleep(quiet)
        if auth.generation == seen:
            return
    raise AssertionError("identity events keep arriving")


def test_identity_events_invalidate_only_what_they_concern(local_gateway, base):
    alice = register(base)
    bob = team(base, alice)
    auth = local_gateway.extensions["auth"]
    client = local_gateway.test_client()
    settle(auth)
    for who in (alice, bob):
        assert client.get(alice.W, headers={"Authorization": f"Bearer {who.token}"}).status_code == 200
    lookups = auth.stats["principal_lookups"]
    assert alice.patch(alice.W + f"/members/{bob.user_id}", json={"pilotageRole": "reviewer"}).status_code == 200
    # the event for bob drops bob's entry (the next request asks identity), not alice's
    wait_until(lambda: not any(k[0] == bob.user_id for k in list(auth.principals.data)), timeout=1)
    assert client.get(alice.W, headers={"Authorization": f"Bearer {alice.token}"}).status_code == 200
    assert auth.stats["principal_lookups"] == lookups
    r = client.get(alice.W, headers={"Authorization": f"Bearer {bob.token}"})
    assert r.json["myPilotageRole"] == "reviewer" and auth.stats["principal_lookups"] == lookups + 1


def test_sign_ups_and_new_workspaces_do_not_empty_the_cache(local_gateway, base):
    alice = register(base)
    auth = local_gateway.extensions["auth"]
    client = local_gateway.test_client()
    headers = {"Authorization": f"Bearer {alice.token}"}
    settle(auth)
    assert client.get(alice.W, headers=headers).status_code == 200
    lookups, generation = auth.stats["principal_lookups"], auth.generation
    newcomer = register(base)  # a personal org and workspace: org.created, workspace.created
    assert newcomer.post(f"/orgs/{newcomer.org}/workspaces", json={"name": "x", "slug": "x-ws"}).status_code == 201
    wait_until(lambda: auth.generation >= generation + 4, timeout=2)
    settle(auth)
    assert client.get(alice.W, headers=headers).status_code == 200
    assert auth.stats["principal_lookups"] == lookups


def test_a_cached_refusal_ends_when_the_org_appears(local_gateway, base):
    alice = register(base)
    auth = local_gateway.extensions["auth"]
    client = local_gateway.test_client()
    headers = {"Authorization": f"Bearer {alice.token}"}
    slug = f"later-{uuid.uuid4().hex[:8]}"
    assert client.get(f"/organizations/{slug}", headers=headers).status_code == 404  # cached refusal
    # created through the other gateway: this one learns it from the event alone
    assert alice.post("/organizations", json={"name": "Later", "slug": slug}).status_code == 201
    wait_until(lambda: client.get(f"/organizations/{slug}", headers=headers).status_code == 200, timeout=1)


@pytest.fixture
def gateway_without_identity(stack, monkeypatch):
    """A gateway whose identity service does not answer (nothing listens on its port)."""
    from devtools.infra import free_port
    for key in ("JWT_SECRET", "INTERNAL_TOKEN_SECRET", "NATS_URL", "MONGO_URI", "GATEWAY_SERVICES"):
        monkeypatch.setenv(key, stack.env[key])
    monkeypatch.setenv("IDENTITY_URL", f"http://127.0.0.1:{free_port()}")
    from gateway.app import create_app

    app = create_app()
    yield app
    app.extensions["bus"].close()


def test_identity_down_is_503_json_and_health_degraded(gateway_without_identity, base):
    user = register(base)  # through the real gateway; its JWT is valid for the other one too
    client = gateway_without_identity.test_client()
    r = client.get(f"/organizations/{user.org}", headers={"Authorization": f"Bearer {user.token}"})
    assert r.status_code == 503 and r.json["statusCode"] == 503 and "identity" in r.json["message"]
    r = client.post("/auth/login", json={"email": user.email, "password": user.password})
    assert r.status_code == 503 and r.json["error"] == "Service Unavailable"
    health = client.get("/health")
    assert health.status_code == 503
    assert health.json["status"] == "degraded" and health.json["components"]["identity"] == "down"
    assert health.json["components"]["gateway"] == "up"
