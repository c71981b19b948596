"""Logs: every process of the test stack writes one JSON object per line, with its service and
level, and the request id and trace id of the request it serves; no secret it was given or that
went through it (the stack's signing keys, passwords, JWTs, API tokens, Authorization headers) is
ever written, even when a request fails. Greps every log of the session's stack (so everything the
suite did before this file ran is covered too)."""
import json
import secrets

import requests

from libs.common.logs import redact
from tests.support import Client, register, unique_email, wait_until


def _lines(stack):
    for name, text in stack.logs().items():
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield name, number, line


def _exercise_secrets(base) -> tuple[list[str], str, str]:
    """Register, log in, fail to log in, change a password, make and use an API token, send a
    forged bearer token: returns every secret that crossed the wire, a request id and a trace id."""
    password, wrong, new_password = (f"pw-{secrets.token_urlsafe(12)}" for _ in range(3))
    user = register(base, password=password)
    used = [password, wrong, new_password, user.token]
    r = requests.post(base + "/auth/login", json={"email": user.email, "password": password}, timeout=30)
    assert r.status_code == 200
    used.append(r.json()["access_token"])
    r = requests.post(base + "/auth/login", json={"email": user.email, "password": wrong}, timeout=30)
    assert r.status_code == 401
    r = user.post("/auth/change-password", json={"currentPassword": password, "newPassword": new_password})
    assert r.status_code in (200, 201), r.text
    used.append(r.json()["access_token"])
    user = user.with_token(r.json()["access_token"])   # the old tokens are revoked
    r = user.post("/api-tokens", json={"name": "log test", "scopes": ["projects:read"]})
    assert r.status_code == 201
    pat = r.json()["token"]
    used.append(pat)
    assert Client(base, pat).get(user.W + "/projects").status_code == 200
    assert Client(base, pat).get("/auth/me").status_code == 403
    forged = "eyJhbGciOiJIUzI1NiJ9." + secrets.token_urlsafe(24) + "." + secrets.token_urlsafe(24)
    used.append(forged)
    assert Client(base, forged).get("/auth/me").status_code == 401
    bogus_pat = "synth_" + secrets.token_urlsafe(24)
    used.append(bogus_pat)
    assert Client(base, bogus_pat).get(user.W + "/projects").status_code == 401
    # a body that is not JSON, with a password in it, on a public endpoint
    leaky = f"pw-{secrets.token_urlsafe(12)}"
    used.append(leaky)
    r = requests.post(base + "/auth/register", data=f'{{"email": "{unique_email()}", "password": "{leaky}"',
                      headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 400
    # one request whose ids the logs must carry
    request_id, trace_id = f"logtest-{secrets.token_hex(8)}", secrets.token_hex(16)
    r = user.get("/auth/me", headers={"X-Request-Id": request_id,
                                      "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})
    assert r.status_code == 200 and r.headers["X-Request-Id"] == request_id
    return used, request_id, trace_id


def test_no_secret_is_ever_logged_and_every_line_is_json(stack, base):
    used, request_id, trace_id = _exercise_secrets(base)
    secrets_used = used + [stack.env["JWT_SECRET"], stack.env["INTERNAL_TOKEN_SECRET"],
                           stack.env["S3_SECRET_KEY"]]

    def has_request_lines():
        found = {}
        for name, _, line in _lines(stack):
            if request_id in line:
                found[name] = json.loads(line)
        return found if {"gateway-web", "identity-web"} <= set(found) else None

    by_process = wait_until(has_request_lines, 15, message="the request's access lines")
    for name in ("gateway-web", "identity-web"):
        record = by_process[name]
        assert record["request_id"] == request_id and record["trace_id"] == trace_id, record
        assert record["service"] == name.removesuffix("-web") and record["level"] == "INFO"
        assert record["route"] and record["status"] == 200 and record["duration_ms"] >= 0

    processes = set()
    for name, number, line in _lines(stack):
        where = f"{name}.log:{number}"
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"{where} is not a JSON line: {line[:300]}") from None
        assert isinstance(record, dict) and {"ts", "level", "service", "msg"} <= set(record), where
        processes.add(name)
        for secret in secrets_used:
            assert secret not in line, f"{where} logs a secret ({secret[:4]}…): {line[:300]}"
        assert "Bearer ey" not in line and "Authorization: Bearer" not in line, where
    assert {"gateway-web", "identity-web", "identity-worker"} <= processes


def test_redaction_is_the_net_under_the_code():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    cases = {
        f"Authorization: Bearer {jwt}": jwt,
        "token synth_abcdefghijklmnop used": "synth_abcdefghijklmnop",
        '{"email": "a@b.c", "password": "hunter2-hunter2"}': "hunter2-hunter2",
        "login password=hunter2-hunter2&x=1": "hunter2-hunter2",
        "mongodb://stellary:s3cr3t-pass@mongo:27017/?replicaSet=rs0": "s3cr3t-pass",
        "client_secret: 'abcdef123456'": "abcdef123456",
        "raw value topsecret-value-123 here": "topsecret-value-123",
    }
    for text, secret in cases.items():
        out = redact(text, ["topsecret-value-123"])
        assert secret not in out and "[redacted]" in out, out
    assert redact("GET /orgs/acme/workspaces/main/projects 200 3.1ms", []) == "GET /orgs/acme/workspaces/main/projects 200 3.1ms"
