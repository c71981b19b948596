"""The private-target guard (API.md §6) with WEBHOOKS_ALLOW_PRIVATE_TARGETS=false, as compose and
Kubernetes run it: at creation (a webhooks app built in this process on the test stack's database,
called with a signed caller) and at every connection (the real sender against a local receiver)."""
from __future__ import annotations

import pytest

from libs.common.context import HEADER, Caller, sign_caller
from libs.common.mongo import new_id

from ..sender import HttpSender
from ..targets import blocked_address, check_url
from .receiver import Receiver


@pytest.fixture
def guarded_app(stack, monkeypatch):
    for key in ("MONGO_URI", "NATS_URL", "INTERNAL_TOKEN_SECRET", "MONGO_DB_PREFIX"):
        monkeypatch.setenv(key, stack.env[key])
    from ..app import create_app

    app = create_app({"allow_private_targets": False})
    caller = Caller(user_id=new_id(), org={"id": new_id(), "slug": "acme", "role": "owner"},
                    ws={"id": new_id(), "slug": "eng", "role": "admin", "pilotageRole": "owner"})
    client = app.test_client()
    token = sign_caller(caller, stack.env["INTERNAL_TOKEN_SECRET"])

    def post(path, **kw):
        return client.post("/orgs/acme/workspaces/eng/webhooks" + path, headers={HEADER: token}, **kw)

    def patch(path, **kw):
        return client.patch("/orgs/acme/workspaces/eng/webhooks" + path, headers={HEADER: token}, **kw)

    yield post, patch
    app.extensions["webhooks.bus"].close()   # its NATS connection (it announces endpoint changes)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]/hook", "https://10.1.2.3/x",
    "http://192.168.0.10/", "http://172.16.5.4/", "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://100.64.0.1/",
    "http://[fd00::1]/", "http://2130706433/",
])
def test_a_private_target_is_refused_at_creation(guarded_app, url):
    post, _ = guarded_app
    r = post("", json={"url": url})
    assert r.status_code == 400, r.get_data(as_text=True)
    body = r.get_json()
    assert body["statusCode"] == 400 and body["error"] and "public" in body["message"], body


def test_a_public_target_is_accepted_and_a_patch_to_a_private_one_refused(guarded_app):
    post, patch = guarded_app
    r = post("", json={"url": "https://93.184.216.34/hook"})   # an address literal: nothing to look up
    assert r.status_code == 201, r.get_data(as_text=True)
    hook = r.get_json()
    r = patch(f"/{hook['id']}", json={"url": "http://127.0.0.1/hook"})
    assert r.status_code == 400 and "loopback" in r.get_json()["message"]
    assert post("", json={"url": "http://does-not-exist.invalid/hook"}).status_code == 400


def test_blocked_addresses():
    for address in ("127.0.0.1", "10.0.0.1", "::1", "fe80::1", "169.254.1.1", "::ffff:10.0.0.1", "0.0.0.0",
                    "224.0.0.1", "100.100.0.1", "fc00::1"):
        assert blocked_address(address), address
    for address in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"):
        assert blocked_address(address) is None, address


def test_the_sender_refuses_a_private_address_at_connection_time():
    with Receiver() as rx:
        outcome = HttpSender(timeout_s=2, allow_private=False).post(rx.url, body=b"{}", headers={})
        assert outcome.status is None and "loopback" in outcome.error
        assert rx.requests == []


def test_a_name_rebound_to_a_private_address_after_creation_is_refused_at_delivery():
    answers = {"first": ["93.184.216.34"]}

    def resolver(host, port):   # the DNS of an attacker: public when checked, loopback when used
        assert host == "hooks.example.test"
        return answers.pop("first", None) or ["127.0.0.1"]

    with Receiver() as rx:
        url = f"http://hooks.example.test:{rx.server.server_address[1]}/hook"
        check_url(url, allow_private=False, resolver=resolver)       # creation: public, accepted
        outcome = HttpSender(timeout_s=2, allow_private=False, resolver=resolver).post(url, body=b"{}", headers={})
        assert outcome.status is None and "loopback" in outcome.error and rx.requests == []
        # allowed private targets: the sender connects to the very address it resolved
        allowed = HttpSender(timeout_s=2, allow_private=True, resolver=lambda h, p: ["127.0.0.1"])
        assert allowed.post(url, body=b"{}", headers={}).status == 200
        [req] = rx.wait(1)
        assert req.headers["host"].startswith("hooks.example.test")
