"""Failed-password throttling (issue 14): locks keyed by (account, client address) first, by the
account alone only far later and never for the addresses it logged in from; change-password
throttled like login. Client addresses come through an in-process gateway (its peer address is
what it forwards to identity as X-Forwarded-For)."""
import pytest

from tests.support import assert_error, register


def _refused(resp):
    """A Flask test response that is the 429 error body."""
    assert resp.status_code == 429 and resp.json["statusCode"] == 429 and resp.headers["Retry-After"], resp.json
    return resp


@pytest.fixture
def gateway(monkeypatch, stack):
    for key in ("JWT_SECRET", "INTERNAL_TOKEN_SECRET", "NATS_URL", "IDENTITY_URL", "GATEWAY_SERVICES"):
        monkeypatch.setenv(key, stack.env[key])
    from gateway.app import create_app
    app = create_app({"rate_limit_ip_auth_per_min": 0})
    yield app.test_client()
    app.extensions["bus"].close()


def _login(client, email, password, address):
    return client.post("/auth/login", json={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_a_stranger_locks_only_themself_out(base, gateway):
    owner = register(base)
    statuses = [_login(gateway, owner.email, "wrong-password", "203.0.113.7").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429], statuses
    _refused(_login(gateway, owner.email, owner.password, "203.0.113.7"))  # the right password too
    assert _login(gateway, owner.email, owner.password, "198.51.100.9").status_code == 200  # the owner, elsewhere


def test_a_distributed_guess_locks_the_account_except_where_it_logged_in(base, gateway):
    owner = register(base)
    assert _login(gateway, owner.email, owner.password, "192.0.2.1").status_code == 200
    for i in range(50):  # LOGIN_ACCOUNT_MAX_FAILURES: one failure from each of 50 addresses
        assert _login(gateway, owner.email, "wrong-password", f"198.18.0.{i + 1}").status_code == 401
    locked = _refused(_login(gateway, owner.email, owner.password, "198.18.1.1"))
    assert int(locked.headers["Retry-After"]) >= 1
    assert _login(gateway, owner.email, owner.password, "192.0.2.1").status_code == 200  # a known address


def test_change_password_is_throttled_like_login(base, gateway):
    user = register(base)
    body = {"currentPassword": "wrong-password", "newPassword": "another-pass-456"}
    statuses = [user.post("/auth/change-password", json=body).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429], statuses
    right = {"currentPassword": user.password, "newPassword": "another-pass-456"}
    assert_error(user.post("/auth/change-password", json=right), 429)  # the right one too, from there
    elsewhere = gateway.post("/auth/change-password", json=right, headers={"Authorization": f"Bearer {user.token}"},
                             environ_base={"REMOTE_ADDR": "198.51.100.20"})
    assert elsewhere.status_code == 200, elsewhere.json
