"""Auth endpoints through the gateway: register, login, me, profile, password change, throttling."""
import time

import jwt
import pytest
import requests

from tests.support import assert_error, register, service_db, unique_email, wait_until


def test_register_returns_token_and_user_and_personal_space(base):
    email = unique_email()
    c = register(base, email=email, name="Jane Doe")
    assert c.user == {"id": c.user_id, "email": email, "name": "Jane Doe"}
    me = c.get("/auth/me")
    assert me.status_code == 200
    assert me.json() == {"user": {"id": c.user_id, "email": email, "name": "Jane Doe", "pilotageRole": "owner"}}
    orgs = c.get("/organizations").json()
    assert len(orgs) == 1 and orgs[0]["isPersonal"] and orgs[0]["myRole"] == "owner"
    ws = c.get(c.W).json()
    assert ws["isPersonal"] is True and ws["myRole"] == "admin" and ws["myPilotageRole"] == "owner"


# ---------------------------------------------------------------- register
def _register(base, **body):
    return requests.post(base + "/auth/register", json=body, timeout=30)


@pytest.mark.parametrize("password,status", [("a" * 7, 400), ("a" * 8, 201), ("a" * 128, 201), ("a" * 129, 400)])
def test_register_password_length_limits(base, password, status):
    r = _register(base, email=unique_email(), password=password)
    if status == 400:
        assert_error(r, 400, "password")
    else:
        assert r.status_code == 201, r.text


@pytest.mark.parametrize("name,status", [("n" * 100, 201), ("n" * 101, 400)])
def test_register_name_at_most_100(base, name, status):
    r = _register(base, email=unique_email(), password="secure-pass-123", name=name)
    if status == 400:
        assert_error(r, 400, "name")
    else:
        assert r.status_code == 201 and r.json()["user"]["name"] == name


def test_register_name_is_optional(base):
    r = _register(base, email=unique_email(), password="secure-pass-123")
    assert r.status_code == 201, r.text
    assert set(r.json()) == {"access_token", "user"}


@pytest.mark.parametrize("body,field", [
    ({"password": "secure-pass-123"}, "email"),
    ({"email": "EMAIL"}, "password"),
    ({"email": "not-an-email", "password": "secure-pass-123"}, "email"),
    ({"email": 42, "password": "secure-pass-123"}, "email"),
    ({"email": "EMAIL", "password": 12345678}, "password"),
    ({"email": "EMAIL", "password": "secure-pass-123", "name": ["x"]}, "name"),
    ({"email": "EMAIL", "password": "secure-pass-123", "role": "admin"}, "role"),
])
def test_register_validation_errors_are_400_json(base, body, field):
    body = {k: (unique_email() if v == "EMAIL" else v) for k, v in body.items()}
    err = assert_error(_register(base, **body), 400, field)
    assert field in err["details"]


@pytest.mark.parametrize("data", ["{not json", "[1, 2]", '"text"', "null", ""])
def test_register_body_not_a_json_object_is_400(base, data):
    r = requests.post(base + "/auth/register", data=data, headers={"Content-Type": "application/json"}, timeout=30)
    assert_error(r, 400)
    assert r.headers["Content-Type"].startswith("application/json")


def test_register_duplicate_email_is_409_case_insensitive(base):
    email = unique_email()
    register(base, email=email)
    assert_error(_register(base, email=email, password="secure-pass-123"), 409)
    assert_error(_register(base, email=email.upper(), password="secure-pass-123"), 409)


def test_register_stores_email_lowercased(base):
    email = unique_email("MiXeD").replace("mixed", "MiXeD")
    r = _register(base, email=email, password="secure-pass-123")
    assert r.status_code == 201, r.text
    assert r.json()["user"]["email"] == email.lower()


# ---------------------------------------------------------------- login
def _login(base, email, password):
    return requests.post(base + "/auth/login", json={"email": email, "password": password}, timeout=30)


def test_login_returns_token_and_user_with_pilotage_role(base):
    c = register(base, name="Jane")
    r = _login(base, c.email.upper(), c.password)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"] == {"id": c.user_id, "email": c.email, "name": "Jane", "pilotageRole": "owner"}
    assert c.with_token(body["access_token"]).get("/auth/me").status_code == 200


def test_wrong_password_and_unknown_email_are_the_same_401(base):
    c = register(base)
    wrong = assert_error(_login(base, c.email, "not-the-password"), 401)
    unknown = assert_error(_login(base, unique_email(), "not-the-password"), 401)
    assert wrong == unknown


@pytest.mark.parametrize("body", [{}, {"email": "a@b.co"}, {"password": "x"}, {"email": "a@b.co", "password": 1},
                                  {"email": "a@b.co", "password": "secure-pass-123", "remember": True}])
def test_login_validation_is_400(base, body):
    assert_error(requests.post(base + "/auth/login", json=body, timeout=30), 400)


def test_login_bad_json_is_400(base):
    r = requests.post(base + "/auth/login", data="email=a&password=b",
                      headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30)
    assert_error(r, 400)


# ---------------------------------------------------------------- throttling (LOGIN_MAX_FAILURES=5, 30 s lock)
def test_repeated_failed_logins_lock_that_account_from_that_address(base, stack):
    victim, bystander = register(base), register(base)
    statuses = [_login(base, victim.email, "wrong-password").status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429, statuses
    locked = _login(base, victim.email, victim.password)  # the right password during the lock
    body = assert_error(locked, 429)
    assert 1 <= int(locked.headers["Retry-After"]) <= 30, locked.headers
    assert locked.headers["X-RateLimit-Remaining"] == "0"
    assert "password" not in body["message"].lower() or "attempts" in body["message"].lower()
    assert_error(_login(base, victim.email.upper(), victim.password), 429)  # same account, other spelling
    assert _login(base, bystander.email, bystander.password).status_code == 200
    assert victim.get("/auth/me").status_code == 200  # an existing session is not affected
    # When the lock is over the right password works again and the failure count starts afresh.
    service_db(stack).login_failures.update_one({"_id": f"login|{victim.email}|127.0.0.1"},
                                                {"$set": {"lockedUntilMs": 0}})
    time.sleep(0.01)
    assert _login(base, victim.email, victim.password).status_code == 200
    assert _login(base, victim.email, "wrong-password").status_code == 401


def test_unknown_emails_are_throttled_like_accounts(base):
    email = unique_email()
    statuses = [_login(base, email, "wrong-password").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]


# ---------------------------------------------------------------- tokens: 401s
def test_missing_malformed_and_foreign_tokens_are_401(base, stack):
    c = register(base)
    now = int(time.time())
    claims = {"sub": c.user_id, "pwv": 0, "typ": "access", "iat": now - 100, "exp": now - 10}
    expired = jwt.encode(claims, stack.env["JWT_SECRET"], algorithm="HS256")
    forged = jwt.encode(claims | {"exp": now + 600}, "another-secret-of-sufficient-length!", algorithm="HS256")
    unsigned = jwt.encode(claims | {"exp": now + 600}, None, algorithm="none")
    cases = {"no header": {}, "empty bearer": {"Authorization": "Bearer "},
             "basic": {"Authorization": "Basic dXNlcjpwYXNz"}, "garbage": {"Authorization": "Bearer abc.def.ghi"},
             "expired": {"Authorization": f"Bearer {expired}"}, "forged": {"Authorization": f"Bearer {forged}"},
             "alg none": {"Authorization": f"Bearer {unsigned}"},
             "unknown pat": {"Authorization": "Bearer synth_" + "x" * 43}}
    for label, headers in cases.items():
        r = requests.get(base + "/auth/me", headers=headers, timeout=30)
        assert r.status_code == 401, (label, r.text)
        assert_error(r, 401)
    assert "expired" in requests.get(base + "/auth/me", headers=cases["expired"], timeout=30).json()["message"].lower()


def test_a_jwt_works_for_its_lifetime(base, stack):
    c = register(base)
    now = int(time.time())
    fresh = jwt.encode({"sub": c.user_id, "pwv": 0, "typ": "access", "iat": now, "exp": now + 60},
                       stack.env["JWT_SECRET"], algorithm="HS256")
    assert c.with_token(fresh).get("/auth/me").status_code == 200


# ---------------------------------------------------------------- me
def test_patch_me_changes_the_name_within_limits(base):
    c = register(base, name="Before")
    r = c.patch("/auth/me", json={"name": "After"})
    assert r.status_code == 200 and r.json()["user"]["name"] == "After"
    assert c.get("/auth/me").json()["user"]["name"] == "After"
    assert c.patch("/auth/me", json={"name": "n" * 100}).status_code == 200
    assert_error(c.patch("/auth/me", json={"name": "n" * 101}), 400, "name")
    assert_error(c.patch("/auth/me", json={"name": 7}), 400, "name")
    assert_error(c.patch("/auth/me", json={"email": unique_email()}), 400, "email")
    assert_error(c.patch("/auth/me", json=["name"]), 400)
    assert_error(c.patch("/auth/me", data="{", headers={"Content-Type": "application/json"}), 400)
    assert c.get("/auth/me").json()["user"]["name"] == "n" * 100


def test_unsupported_method_is_405_json(base):
    c = register(base)
    assert_error(c.put("/auth/me", json={}), 405)
    assert_error(c.delete("/auth/me"), 405)


# ---------------------------------------------------------------- change password
def test_change_password_revokes_older_jwts_and_returns_a_new_one(base):
    c = register(base)
    second_session = _login(base, c.email, c.password).json()["access_token"]
    r = c.post("/auth/change-password", json={"currentPassword": c.password, "newPassword": "brand-new-pass"})
    assert r.status_code == 200, r.text
    fresh = r.json()["access_token"]
    # at once: the gateway forgets the caller's cached principal on their own write
    assert_error(c.get("/auth/me"), 401)
    wait_until(lambda: c.with_token(second_session).get("/auth/me").status_code == 401, timeout=1)
    assert_error(c.get(c.W), 401)
    assert c.with_token(fresh).get("/auth/me").status_code == 200
    assert c.with_token(fresh).get(c.W).status_code == 200
    assert_error(_login(base, c.email, c.password), 401)
    assert _login(base, c.email, "brand-new-pass").status_code == 200


def test_change_password_checks_the_current_one_and_the_limits(base):
    c = register(base)
    assert_error(c.post("/auth/change-password", json={"currentPassword": "wrong-one!", "newPassword": "whatever-1"}),
                 401)
    assert_error(c.post("/auth/change-password", json={"currentPassword": c.password, "newPassword": "short"}), 400)
    assert_error(c.post("/auth/change-password", json={"currentPassword": c.password, "newPassword": "x" * 129}),
                 400)
    assert_error(c.post("/auth/change-password", json={"newPassword": "whatever-1"}), 400, "currentPassword")
    assert_error(c.post("/auth/change-password", json={"currentPassword": c.password, "newPassword": "long-enough",
                                                       "confirm": "long-enough"}), 400)
    assert c.get("/auth/me").status_code == 200  # nothing changed
    ok = c.post("/auth/change-password", json={"currentPassword": c.password, "newPassword": "x" * 128})
    assert ok.status_code == 200


def test_concurrent_sign_ups_with_one_email_create_one_account(base):
    from concurrent.futures import ThreadPoolExecutor
    email = unique_email()
    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(lambda _: _register(base, email=email, password="secure-pass-123").status_code,
                                   range(6)))
    assert statuses == [201] + [409] * 5


def test_jwt_lifetime_defaults_to_seven_days(base):
    c = register(base)
    claims = jwt.decode(c.token, options={"verify_signature": False})
    assert claims["sub"] == c.user_id and claims["exp"] - claims["iat"] == 7 * 86400
    login = _login(base, c.email, c.password).json()["access_token"]
    claims = jwt.decode(login, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 7 * 86400
