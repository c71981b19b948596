"""Hostile JSON through the gateway (issue 14): 400s with the error body, never a 500."""
import requests

from tests.support import assert_error


def _raw(client, method, path, body: bytes):
    return client.request(method, path, data=body, headers={"Content-Type": "application/json"})


def test_deeply_nested_json_is_a_400(base, alice):
    r = requests.post(base + "/auth/login", data=b"[" * 1000, headers={"Content-Type": "application/json"},
                      timeout=30)
    assert_error(r, 400, "nested too deeply")
    deep = b'{"actionType": "create_todo", "explanation": "x", "payload": {"a": ' + b"[" * 900 + b"]" * 900 + b"}}"
    assert_error(_raw(alice, "POST", alice.W + "/pilotage/actions/propose", deep), 400, "nested too deeply")


def test_lone_surrogates_are_a_400(base, alice):
    r = requests.post(base + "/auth/register", data=b'{"email": "a\\ud800@x.io", "password": "secure-pass-123"}',
                      headers={"Content-Type": "application/json"}, timeout=30)
    assert_error(r, 400, "surrogate")
    assert_error(_raw(alice, "POST", alice.W + "/projects", b'{"name": "\\udc00"}'), 400, "surrogate")


def test_numbers_beyond_int64_nan_and_infinity_are_a_400(alice):
    project = alice.post(alice.W + "/projects", json={"name": "Numbers", "templateId": "kanban"}).json()
    P = f"{alice.W}/projects/{project['id']}"
    field = alice.post(P + "/custom-fields", json={"name": "Estimate", "type": "number"})
    assert field.status_code == 201, field.text
    column = alice.get(P + "/columns").json()[0]["id"]
    card = alice.post(f"{P}/columns/{column}/cards", json={"title": "c"}).json()["id"]
    url = f"{P}/cards/{card}/custom-fields"
    fid = field.json()["id"]
    for literal in (b"9223372036854775808", b"-9223372036854775809", b"NaN", b"Infinity", b"-Infinity", b"1e999"):
        assert_error(_raw(alice, "PATCH", url, b'{"values": {"' + fid.encode() + b'": ' + literal + b"}}"), 400)
    ok = _raw(alice, "PATCH", url, b'{"values": {"' + fid.encode() + b'": 9223372036854775807}}')
    assert ok.status_code == 200, ok.text
    assert_error(alice.get(f"{P}/cards", params={"limit": "9223372036854775808"}), 400)
    assert_error(alice.get("/notifications", params={"cursor": "9223372036854775808"}), 400)
