"""Per-IP limits on login/register use the client's address: X-Forwarded-For is believed only from
trusted proxies (addresses or CIDR ranges), walking the hops from the right. Also /ready and /live."""
import ipaddress

import pytest


def _gateway(monkeypatch, stack, **config):
    for key in ("JWT_SECRET", "INTERNAL_TOKEN_SECRET", "NATS_URL", "IDENTITY_URL", "GATEWAY_SERVICES"):
        monkeypatch.setenv(key, stack.env[key])
    from gateway.app import create_app
    app = create_app({"rate_limit_ip_auth_per_min": 2} | config)
    return app


def _login(client, xff=None, remote="10.1.2.3"):
    headers = {"X-Forwarded-For": xff} if xff else {}
    return client.post("/auth/login", json={"email": "nobody@example.com", "password": "x" * 8},
                       headers=headers, environ_base={"REMOTE_ADDR": remote})


@pytest.fixture
def proxied(monkeypatch, stack):
    app = _gateway(monkeypatch, stack, trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),))
    yield app.test_client()
    app.extensions["bus"].close()


def test_forwarded_client_behind_a_trusted_proxy_range_gets_its_own_limit(proxied):
    assert [_login(proxied, "203.0.113.7").status_code for _ in range(2)] == [401, 401]
    r = _login(proxied, "203.0.113.7")
    assert r.status_code == 429 and r.headers["Retry-After"] and r.json["statusCode"] == 429
    assert _login(proxied, "198.51.100.9").status_code == 401  # another client, another bucket
    # a client cannot dodge its limit by prepending a fake hop: the right-most untrusted hop counts
    assert _login(proxied, "1.2.3.4, 203.0.113.7").status_code == 429
    # hops added by further trusted proxies are skipped
    assert _login(proxied, "203.0.113.7, 10.9.9.9").status_code == 429


def test_forwarded_for_from_an_untrusted_peer_is_ignored(monkeypatch, stack):
    app = _gateway(monkeypatch, stack)
    client = app.test_client()
    try:
        codes = [_login(client, f"203.0.113.{i}", remote="192.0.2.50").status_code for i in range(3)]
        assert codes == [401, 401, 429]  # one peer, one bucket, whatever it claims
        assert app.test_client().get("/ready").json == {"status": "ok"}
    finally:
        app.extensions["bus"].close()


def test_services_answer_live_without_the_database(stack):
    import requests
    r = requests.get(stack.service_url("identity") + "/live", timeout=10)
    assert r.status_code == 200 and r.json()["service"] == "identity"
