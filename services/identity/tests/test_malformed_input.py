"""Every identity endpoint that takes a body, fed wrong types field by field and bodies that are not
JSON objects: always a JSON error (400, or the endpoint's own 4xx), never a 500, never HTML."""
import uuid

import pytest
import requests

from tests.support import register

BAD_VALUES = [None, 12, 1.5, True, [], {}, ["x"], "", "x" * 5000, "\u0000\ud7ff"]
BAD_BODIES = [("[]", "application/json"), ('"text"', "application/json"), ("5", "application/json"),
              ("null", "application/json"), ("{bad json", "application/json"), ("a=b", "application/x-www-form-urlencoded"),
              ("\xff\xfe", "application/json")]


@pytest.fixture(scope="module")
def actor(base):
    owner = register(base)
    other = register(base)
    inv = owner.post(owner.W + "/members/invite", json={"email": other.email}).json()
    assert other.post(f"/invitations/{inv['token']}/accept").status_code == 200
    return {"owner": owner, "other": other}


def endpoints(actor):
    o, other = actor["owner"], actor["other"]
    return [
        ("POST", "/auth/register", {"email": f"m-{uuid.uuid4().hex[:8]}@example.com", "password": "secure-pass-123",
                                    "name": "N"}, None),
        ("POST", "/auth/login", {"email": o.email, "password": "wrong-password"}, None),
        ("PATCH", "/auth/me", {"name": "Name"}, o),
        ("POST", "/auth/change-password", {"currentPassword": "wrong-password", "newPassword": "another-pass"}, o),
        ("POST", "/organizations", {"name": "Org", "slug": f"m-{uuid.uuid4().hex[:8]}"}, o),
        ("PATCH", f"/organizations/{o.org}", {"name": "Org", "slug": o.org}, o),
        ("POST", f"/organizations/{o.org}/members", {"email": other.email, "role": "member"}, o),
        ("PATCH", f"/organizations/{o.org}/members/{other.user_id}", {"role": "member"}, o),
        ("POST", f"/orgs/{o.org}/workspaces", {"name": "W", "slug": f"m-{uuid.uuid4().hex[:8]}"}, o),
        ("PATCH", o.W, {"name": "Personal", "slug": "personal"}, o),
        ("POST", o.W + "/members/invite", {"email": f"i-{uuid.uuid4().hex[:8]}@example.com", "role": "member",
                                           "pilotageRole": "viewer"}, o),
        ("PATCH", o.W + f"/members/{other.user_id}", {"role": "member", "pilotageRole": "viewer"}, o),
        ("POST", "/api-tokens", {"name": "T", "scopes": ["account:read"], "expiresAt": "2099-01-01"}, o),
    ]


def _send(base, method, path, client, **kw):
    headers = kw.pop("headers", {})
    if client is not None:
        headers["Authorization"] = f"Bearer {client.token}"
    return requests.request(method, base + path, headers=headers, timeout=30, **kw)


def _check(resp, what):
    assert resp.status_code < 500, (what, resp.status_code, resp.text[:300])
    assert resp.headers.get("Content-Type", "").startswith("application/json"), (what, resp.text[:300])
    if resp.status_code >= 400:
        body = resp.json()
        assert body["statusCode"] == resp.status_code and body["message"] and body["error"], (what, body)


def test_wrong_types_field_by_field(base, actor):
    for method, path, valid, client in endpoints(actor):
        for field in valid:
            for value in BAD_VALUES:
                body = dict(valid, **{field: value})
                r = _send(base, method, path, client, json=body)
                _check(r, (method, path, field, repr(value)[:30]))


def test_bodies_that_are_not_json_objects(base, actor):
    for method, path, _valid, client in endpoints(actor) + [("POST", "/invitations/nope/accept", None, actor["owner"])]:
        for data, ctype in BAD_BODIES:
            r = _send(base, method, path, client, data=data.encode("utf-8", "surrogatepass"),
                      headers={"Content-Type": ctype})
            _check(r, (method, path, data))
            # (a form body reaches the handler as no body at all: PATCH endpoints take it as a no-op)
            if path != "/invitations/nope/accept" and ctype == "application/json":
                assert r.status_code == 400, (method, path, data, r.status_code, r.text)


def test_the_actors_are_unharmed(actor):
    owner = actor["owner"]
    assert owner.get("/auth/me").status_code == 200
    assert owner.get(owner.W).json()["myRole"] == "admin"
