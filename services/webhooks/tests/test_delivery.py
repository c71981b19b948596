"""Deliveries through the whole system: a card move reaches a local receiver signed per Standard
Webhooks (verified with the standardwebhooks package), retries, 410, rotation, ping, redeliver."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support import assert_error, wait_until

from .conftest import deliveries, make_card, make_webhook, move_card, of_type
from .receiver import Answer, Receiver


def test_a_card_move_arrives_signed_and_verifies(owner, project, receiver):
    hook = make_webhook(owner, receiver.url, events=["card_moved"])
    card = make_card(owner, project, title="Ship it")
    move_card(owner, project, card, 1)
    [req] = receiver.wait(1)
    payload = Webhook(hook["secret"]).verify(req.body, req.headers)
    assert payload["type"] == "card_moved" and payload["workspaceId"]
    assert req.headers["webhook-id"] == payload["id"]
    assert payload["data"]["card"]["id"] == card["id"]
    assert payload["data"]["meta"]["toColumn"] == project["columns"][1]["name"]
    assert set(payload) == {"id", "type", "timestamp", "workspaceId", "data"}
    assert req.headers["webhook-signature"].startswith("v1,")
    # a tampered body, another secret, a stale or missing timestamp: refused
    tampered = req.text.replace("Ship it", "Ship it now")
    with pytest.raises(WebhookVerificationError):
        Webhook(hook["secret"]).verify(tampered, req.headers)
    other = make_webhook(owner, receiver.url, events=["card_created"])
    with pytest.raises(WebhookVerificationError):
        Webhook(other["secret"]).verify(req.body, req.headers)
    stale = dict(req.headers, **{"webhook-timestamp": str(int(req.headers["webhook-timestamp"]) - 600)})
    with pytest.raises(WebhookVerificationError):
        Webhook(hook["secret"]).verify(req.body, stale)
    old = datetime.now(timezone.utc) - timedelta(minutes=10)
    resigned = dict(req.headers, **{"webhook-timestamp": str(int(old.timestamp())),
                                    "webhook-signature": Webhook(hook["secret"]).sign(req.headers["webhook-id"],
                                                                                      old, req.text)})
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(hook["secret"]).verify(req.body, resigned)
    # the card creation was not subscribed to by `hook`: one request only for it, and it succeeded
    rows = wait_until(lambda: [d for d in deliveries(owner, hook) if d["status"] == "succeeded"])
    assert [(d["eventType"], d["eventId"]) for d in rows] == [("card_moved", payload["id"])]
    assert rows[0]["attempts"][0]["statusCode"] == 200 and rows[0]["nextAttemptAt"] is None


def test_a_500_is_retried_and_the_retry_succeeds(owner, project):
    with Receiver(script=[500]) as rx:
        hook = make_webhook(owner, rx.url, events=["card_created"])
        make_card(owner, project)
        first = rx.wait(1)[0]
        retrying = wait_until(lambda: [d for d in deliveries(owner, hook) if d["status"] == "retrying"])[0]
        assert retrying["attempts"][0]["statusCode"] == 500 and retrying["nextAttemptAt"]
        second = rx.wait(2, timeout=20)[1]
        assert second.headers["webhook-id"] == first.headers["webhook-id"] and second.body == first.body
        Webhook(hook["secret"]).verify(second.body, second.headers)
        done = wait_until(lambda: [d for d in deliveries(owner, hook) if d["status"] == "succeeded"])[0]
        assert [a["statusCode"] for a in done["attempts"]] == [500, 200]
        assert done["attempts"][0]["error"] == "HTTP 500" and done["attempts"][1]["error"] is None


def test_a_410_disables_the_endpoint_at_once(owner, project):
    with Receiver(default=410) as rx:
        hook = make_webhook(owner, rx.url, events=["card_created"])
        make_card(owner, project)
        rx.wait(1)
        gone = wait_until(lambda: (lambda w: w if not w["enabled"] else None)(
            owner.get(f"{owner.W}/webhooks/{hook['id']}").json()))
        assert "410" in gone["disabledReason"]
        [d] = wait_until(lambda: [d for d in deliveries(owner, hook) if d["status"] == "failed"])
        assert d["attempts"][-1]["statusCode"] == 410 and d["nextAttemptAt"] is None
        # disabled: the next events make no delivery; enabling clears the reason
        with Receiver() as live:
            other = make_webhook(owner, live.url, events=["card_created"])
            make_card(owner, project)
            live.wait(1)
        assert len(rx.requests) == 1 and len(deliveries(owner, hook)) == 1
        enabled = owner.patch(f"{owner.W}/webhooks/{hook['id']}", json={"enabled": True}).json()
        assert enabled["enabled"] is True and enabled["disabledReason"] is None
        owner.delete(f"{owner.W}/webhooks/{other['id']}")


def test_rotation_signs_with_both_secrets_for_the_overlap(owner, project, receiver):
    hook = make_webhook(owner, receiver.url, events=["card_created"])
    rotated = owner.post(f"{owner.W}/webhooks/{hook['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new.startswith("whsec_") and new != hook["secret"] and set(rotated.json()) == {"secret"}
    make_card(owner, project)
    [req] = receiver.wait(1)
    assert len(req.headers["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(req.body, req.headers)["type"] == "card_created"
    assert Webhook(hook["secret"]).verify(req.body, req.headers)["type"] == "card_created"
    # each signature alone is the one of its secret
    first, second = req.headers["webhook-signature"].split(" ")
    Webhook(new).verify(req.body, dict(req.headers, **{"webhook-signature": first}))
    Webhook(hook["secret"]).verify(req.body, dict(req.headers, **{"webhook-signature": second}))
    assert owner.get(f"{owner.W}/webhooks/{hook['id']}").json()["secretRotatedAt"]


def test_ping_sends_now_and_answers_the_delivery(owner, receiver):
    hook = make_webhook(owner, receiver.url, events=["card_moved"])
    r = owner.post(f"{owner.W}/webhooks/{hook['id']}/ping")
    assert r.status_code == 200, r.text
    delivery = r.json()
    assert delivery["eventType"] == "ping" and delivery["status"] == "succeeded"
    assert delivery["attempts"][0]["statusCode"] == 200 and delivery["attempts"][0]["durationMs"] >= 0
    [req] = receiver.wait(1, where=of_type("ping"))
    body = Webhook(hook["secret"]).verify(req.body, req.headers)
    assert body["id"] == delivery["eventId"] and body["data"]["webhookId"] == hook["id"]
    assert deliveries(owner, hook)[0]["id"] == delivery["id"]


def test_a_failed_ping_is_failed_at_once(owner):
    with Receiver(default=Answer(503, {"Retry-After": "1"})) as rx:
        hook = make_webhook(owner, rx.url)
        delivery = owner.post(f"{owner.W}/webhooks/{hook['id']}/ping").json()
        assert delivery["status"] == "failed" and delivery["attempts"][0]["statusCode"] == 503
        assert len(rx.requests) == 1


def test_redeliver_makes_a_new_attempt_now(owner, project, receiver):
    hook = make_webhook(owner, receiver.url, events=["card_created"])
    make_card(owner, project)
    receiver.wait(1)
    [delivery] = wait_until(lambda: [d for d in deliveries(owner, hook) if d["status"] == "succeeded"])
    r = owner.post(f"{owner.W}/webhooks/{hook['id']}/deliveries/{delivery['id']}/redeliver")
    assert r.status_code == 200, r.text
    again = r.json()
    assert again["id"] == delivery["id"] and again["status"] == "succeeded" and len(again["attempts"]) == 2
    first, second = receiver.wait(2)
    assert second.headers["webhook-id"] == first.headers["webhook-id"] and second.body == first.body
    Webhook(hook["secret"]).verify(second.body, second.headers)


def test_events_of_another_workspace_never_reach_an_endpoint(owner, outsider, project, receiver):
    make_webhook(owner, receiver.url, events=["card_created"])
    theirs = make_card(outsider, make_project_of(outsider), title="Not yours")
    mine = make_card(owner, project, title="Yours")
    receiver.wait(1)
    ids = wait_until(lambda: [json.loads(r.body)["data"]["card"]["id"] for r in receiver.requests])
    assert mine["id"] in ids and theirs["id"] not in ids


def make_project_of(client):
    from .conftest import make_project
    return make_project(client)


def test_events_outside_the_subscription_are_not_sent(owner, project, receiver):
    hook = make_webhook(owner, receiver.url, events=["comment_added"])
    card = make_card(owner, project)
    r = owner.post(f"{owner.W}/projects/{project['id']}/cards/{card['id']}/comments", json={"content": "hello"})
    assert r.status_code == 201, r.text
    [req] = receiver.wait(1)
    body = Webhook(hook["secret"]).verify(req.body, req.headers)
    assert body["type"] == "comment_added" and body["data"]["comment"]["content"] == "hello"
    assert [d["eventType"] for d in deliveries(owner, hook)] == ["comment_added"]
    assert_error(owner.post(f"{owner.W}/webhooks/{hook['id']}/deliveries/{'f' * 24}/redeliver"), 404)
