"""Endpoints CRUD, validation, roles and tenant isolation (API.md §6 "Webhooks")."""
from __future__ import annotations

import base64

from tests.support import assert_error

from ..catalog import EVENT_TYPES
from .conftest import MISSING, make_webhook


def test_create_shows_the_secret_once_and_lists_without_it(owner, receiver):
    created = make_webhook(owner, receiver.url, description="CI bridge")
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"][len("whsec_"):])) >= 24
    assert created["events"] == list(EVENT_TYPES) and created["enabled"] is True
    assert created["disabledReason"] is None and created["description"] == "CI bridge"
    listed = owner.get(owner.W + "/webhooks").json()
    assert [w["id"] for w in listed] == [created["id"]]
    got = owner.get(f"{owner.W}/webhooks/{created['id']}").json()
    assert "secret" not in listed[0] and "secret" not in got
    assert got["url"] == receiver.url


def test_patch_and_delete(owner, receiver):
    hook = make_webhook(owner, receiver.url, events=["card_moved"])
    r = owner.patch(f"{owner.W}/webhooks/{hook['id']}", json={"events": ["card_created", "comment_added"],
                                                              "description": "two", "enabled": False})
    assert r.status_code == 200, r.text
    assert r.json()["events"] == ["card_created", "comment_added"] and r.json()["enabled"] is False
    assert r.json()["description"] == "two"
    assert owner.delete(f"{owner.W}/webhooks/{hook['id']}").json() == {"ok": True}
    assert_error(owner.get(f"{owner.W}/webhooks/{hook['id']}"), 404)
    assert_error(owner.get(f"{owner.W}/webhooks/{hook['id']}/deliveries"), 404)


def test_validation(owner, receiver):
    W = owner.W + "/webhooks"
    assert_error(owner.post(W, json={}), 400)
    assert_error(owner.post(W, json={"url": "ftp://example.com/x"}), 400, "http")
    assert_error(owner.post(W, json={"url": "not a url"}), 400)
    assert_error(owner.post(W, json={"url": "http://user:pw@example.com/"}), 400, "credentials")
    assert_error(owner.post(W, json={"url": receiver.url, "events": ["card_flipped"]}), 400)
    assert_error(owner.post(W, json={"url": receiver.url, "events": []}), 400)
    assert_error(owner.post(W, json={"url": receiver.url, "events": ["card_moved", "card_moved"]}), 400)
    assert_error(owner.post(W, json={"url": receiver.url, "secret": "mine"}), 400)
    assert_error(owner.post(W, data="{", headers={"content-type": "application/json"}), 400)
    hook = make_webhook(owner, receiver.url)
    assert_error(owner.patch(f"{W}/{hook['id']}", json={"url": "gopher://x"}), 400)
    assert_error(owner.patch(f"{W}/{hook['id']}", json={"enabled": "maybe"}), 400)
    assert_error(owner.get(f"{W}/{hook['id']}/deliveries", params={"limit": 0}), 400)
    assert_error(owner.get(f"{W}/{hook['id']}/deliveries", params={"cursor": "%%%"}), 400)
    assert_error(owner.get(f"{W}/not-an-id"), 404)
    assert_error(owner.post(f"{W}/{hook['id']}/deliveries/not-an-id/redeliver"), 404)
    assert_error(owner.post(f"{W}/{hook['id']}/deliveries/{MISSING}/redeliver"), 404)


def test_members_who_are_not_admins_get_403(owner, member, receiver):
    hook = make_webhook(owner, receiver.url)
    W = member.W + "/webhooks"
    assert_error(member.get(W), 403)
    assert_error(member.post(W, json={"url": receiver.url}), 403)
    assert_error(member.get(f"{W}/{hook['id']}"), 403)
    assert_error(member.post(f"{W}/{hook['id']}/rotate-secret"), 403)
    assert_error(member.delete(f"{W}/{hook['id']}"), 403)


def test_another_orgs_webhook_and_delivery_ids_are_404(owner, outsider, receiver):
    hook = make_webhook(owner, receiver.url)
    ping = owner.post(f"{owner.W}/webhooks/{hook['id']}/ping")
    assert ping.status_code == 200, ping.text
    delivery = ping.json()
    mine = make_webhook(outsider, receiver.url)
    # the owner's webhook id under the outsider's own workspace, and under the owner's path
    for W in (outsider.W, owner.W):
        base = f"{W}/webhooks/{hook['id']}"
        assert_error(outsider.get(base), 404)
        assert_error(outsider.patch(base, json={"enabled": False}), 404)
        assert_error(outsider.post(base + "/rotate-secret"), 404)
        assert_error(outsider.post(base + "/ping"), 404)
        assert_error(outsider.get(base + "/deliveries"), 404)
        assert_error(outsider.post(f"{base}/deliveries/{delivery['id']}/redeliver"), 404)
        assert_error(outsider.delete(base), 404)
    # the outsider's own webhook with the owner's delivery id
    assert_error(outsider.post(f"{outsider.W}/webhooks/{mine['id']}/deliveries/{delivery['id']}/redeliver"), 404)
    assert [w["id"] for w in outsider.get(outsider.W + "/webhooks").json()] == [mine["id"]]
    assert owner.get(f"{owner.W}/webhooks/{hook['id']}").json()["enabled"] is True


def test_pat_scopes(owner, receiver):
    hook = make_webhook(owner, receiver.url)

    def pat(*scopes):
        r = owner.post("/api-tokens", json={"name": "t", "scopes": list(scopes)})
        assert r.status_code == 201, r.text
        return owner.with_token(r.json()["token"])

    reader, writer, other = pat("projects:read"), pat("projects:read", "projects:write"), pat("pilotage:write")
    assert reader.get(owner.W + "/webhooks").status_code == 200
    assert reader.get(f"{owner.W}/webhooks/{hook['id']}/deliveries").status_code == 200
    assert_error(reader.post(owner.W + "/webhooks", json={"url": receiver.url}), 403)
    assert_error(reader.post(f"{owner.W}/webhooks/{hook['id']}/rotate-secret"), 403)
    assert_error(other.get(owner.W + "/webhooks"), 403)
    assert writer.post(f"{owner.W}/webhooks/{hook['id']}/ping").json()["status"] == "succeeded"


def test_deleting_a_workspace_or_an_org_deletes_their_webhooks_and_deliveries(stack, owner, receiver):
    from libs.common.mongo import new_id
    from tests.support import service_db, wait_until

    db = service_db(stack, "webhooks")
    org = owner.post("/organizations", json={"name": "Acme", "slug": f"acme-{new_id()[-8:]}"}).json()
    hooks = {}
    for slug in ("eng", "ops"):
        assert owner.post(f"/orgs/{org['slug']}/workspaces", json={"name": slug, "slug": slug}).status_code == 201
        W = f"/orgs/{org['slug']}/workspaces/{slug}"
        r = owner.post(W + "/webhooks", json={"url": receiver.url})
        assert r.status_code == 201, r.text
        hooks[slug] = r.json()["id"]
        assert owner.post(f"{W}/webhooks/{hooks[slug]}/ping").json()["status"] == "succeeded"
    mine = make_webhook(owner, receiver.url)

    def left(endpoint_id):
        return (db["endpoints"].count_documents({"_id": endpoint_id}),
                db["deliveries"].count_documents({"endpointId": endpoint_id}))

    assert left(hooks["eng"]) == (1, 1)
    assert owner.delete(f"/orgs/{org['slug']}/workspaces/eng").status_code == 200
    wait_until(lambda: left(hooks["eng"]) == (0, 0), message="the workspace's webhooks deleted")
    assert left(hooks["ops"]) == (1, 1)
    assert owner.delete(f"/organizations/{org['slug']}").status_code == 200
    wait_until(lambda: left(hooks["ops"]) == (0, 0), message="the org's webhooks deleted")
    assert left(mine["id"])[0] == 1
