"""One attempt's rules, on the real sender, a local receiver and the test stack's database (a database
of its own per test): the failure run that disables an endpoint, Retry-After, redirects, the timeout,
the schedule, and the lease that keeps an attempt single."""
from __future__ import annotations

import pytest
from pymongo import MongoClient

from libs.common.mongo import new_id, now, now_ms

from ..delivery import Deliverer, body_of
from ..fanout import new_delivery
from ..sender import HttpSender, retry_after
from ..settings import Settings
from ..signing import new_secret
from ..storage import Stores
from .receiver import Answer, Receiver


@pytest.fixture
def stores(stack):
    client = MongoClient(stack.env["MONGO_URI"], tz_aware=True)
    name = f"stellary_webhooks_t{new_id()[-8:]}"
    stores = Stores(client[name])
    stores.ensure_indexes()
    yield stores
    client.drop_database(name)
    client.close()


def endpoint(stores, url) -> dict:
    stamp = now()
    return stores.endpoints.insert({
        "_id": new_id(), "orgId": new_id(), "workspaceId": new_id(), "url": url, "events": ["card_moved"],
        "description": None, "enabled": True, "disabledReason": None, "failedRun": 0,
        "secrets": [{"secret": new_secret(), "createdAtMs": now_ms(), "expiresAtMs": None}],
        "createdBy": new_id(), "createdAt": stamp, "updatedAt": stamp})


def deliver(stores, deliverer, hook) -> dict:
    event_id = new_id()
    body = body_of(event_id=event_id, event_type="card_moved", timestamp="2026-01-01T00:00:00.000Z",
                   workspace_id=hook["workspaceId"], data={})
    stores.deliveries.insert_many([new_delivery(endpoint=hook, event_id=event_id, event_type="card_moved",
                                                body=body)])
    delivery, token = stores.deliveries.claim_due(lease_ms=deliverer.lease_ms, busy=[])
    assert delivery["eventId"] == event_id
    assert stores.deliveries.claim_due(lease_ms=deliverer.lease_ms, busy=[]) is None   # leased: nobody else
    return deliverer.attempt(delivery, token)


def make(stores, *, schedule=(5, 300), timeout_s=5.0, max_failed_run=20) -> Deliverer:
    settings = Settings({"timeout_s": timeout_s, "max_failed_run": max_failed_run})
    return Deliverer(stores=stores, sender=HttpSender(timeout_s=timeout_s, allow_private=True), settings=settings,
                     schedule=schedule)


def test_deliveries_failed_in_a_row_disable_the_endpoint_and_a_success_resets_the_run(stores):
    with Receiver(script=[500, 500, 200], default=500) as rx:
        deliverer = make(stores, schedule=(), max_failed_run=3)
        hook = endpoint(stores, rx.url)
        results = [deliver(stores, deliverer, hook)["status"] for _ in range(3)]
        assert results == ["failed", "failed", "succeeded"]
        assert stores.endpoints.by_id(hook["id"])["failedRun"] == 0
        for _ in range(2):
            assert deliver(stores, deliverer, hook)["status"] == "failed"
        assert stores.endpoints.by_id(hook["id"])["enabled"] is True
        assert deliver(stores, deliverer, hook)["status"] == "failed"
        disabled = stores.endpoints.by_id(hook["id"])
        assert disabled["enabled"] is False
        assert disabled["disabledReason"] == "disabled after 3 deliveries in a row failed"
        # a delivery still waiting for a disabled endpoint fails without an attempt
        settled = deliver(stores, deliverer, hook)
        assert settled["status"] == "failed" and settled["attempts"][-1]["error"] == "endpoint disabled"
        assert len(rx.requests) == 6


def test_the_schedule_and_retry_after(stores):
    with Receiver(script=[500, Answer(503, {"Retry-After": "120"}), Answer(429, {"Retry-After": "1"})]) as rx:
        deliverer = make(stores)
        hook = endpoint(stores, rx.url)
        before = now_ms()
        first = deliver(stores, deliverer, hook)
        assert first["status"] == "retrying" and first["tries"] == 1
        assert before + 4500 <= first["nextMs"] <= now_ms() + 5500          # 5 s ± 10 %
        second = deliver(stores, deliverer, hook)
        assert second["nextMs"] >= before + 120_000                          # Retry-After wins when longer
        third = deliver(stores, deliverer, hook)
        assert third["nextMs"] <= now_ms() + 5500                            # …and never shortens the schedule
        stored = stores.deliveries.col.find_one({"_id": first["id"]})
        assert stored["dueMs"] == first["nextMs"] and stored["status"] == "retrying" and stored["leaseToken"] is None
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0 - 60) == pytest.approx(60)
    assert retry_after("soon") is None and retry_after("30") == 30


def test_the_last_scheduled_failure_settles_failed(stores):
    with Receiver(default=500) as rx:
        deliverer = make(stores, schedule=(0,))
        hook = endpoint(stores, rx.url)
        event_id = new_id()
        stores.deliveries.insert_many([new_delivery(endpoint=hook, event_id=event_id, event_type="card_moved",
                                                    body="{}")])
        statuses = []
        for _ in range(2):
            delivery, token = stores.deliveries.claim_due(lease_ms=deliverer.lease_ms, busy=[])
            statuses.append(deliverer.attempt(delivery, token)["status"])
        assert statuses == ["retrying", "failed"]
        row = stores.deliveries.col.find_one({"eventId": event_id})
        assert "dueMs" not in row and row["nextMs"] is None and len(row["attempts"]) == 2
        assert stores.deliveries.claim_due(lease_ms=deliverer.lease_ms, busy=[]) is None
        assert len(rx.requests) == 2


def test_redirects_are_not_followed_and_slow_receivers_time_out(stores):
    with Receiver() as target, Receiver(script=[Answer(302, {"Location": "http://127.0.0.1:1/"})]) as rx:
        deliverer = make(stores, timeout_s=1.0)
        hook = endpoint(stores, rx.url)
        settled = deliver(stores, deliverer, hook)
        assert settled["status"] == "retrying" and "redirects are not followed" in settled["attempts"][0]["error"]
        assert target.requests == []
    with Receiver(default=Answer(200, delay=3)) as slow:
        deliverer = make(stores, timeout_s=1.0)
        settled = deliver(stores, deliverer, endpoint(stores, slow.url))
        assert settled["status"] == "retrying" and settled["attempts"][0]["statusCode"] is None
        assert "timed out" in settled["attempts"][0]["error"]


def test_a_lost_lease_records_nothing(stores):
    with Receiver() as rx:
        deliverer = make(stores)
        hook = endpoint(stores, rx.url)
        stores.deliveries.insert_many([new_delivery(endpoint=hook, event_id=new_id(), event_type="card_moved",
                                                    body="{}")])
        delivery, token = stores.deliveries.claim_due(lease_ms=1, busy=[])
        import time
        time.sleep(0.01)
        again, token2 = stores.deliveries.claim_due(lease_ms=deliverer.lease_ms, busy=[])   # lease expired
        assert again["id"] == delivery["id"] and token2 != token
        assert stores.deliveries.claim_due(lease_ms=deliverer.lease_ms, busy=[hook["id"]]) is None
        # redeliver refuses a delivery whose attempt is in flight (service: 409)
        assert stores.deliveries.claim_now(hook["workspaceId"], hook["id"], delivery["id"], lease_ms=1000) is None
        deliverer.attempt(delivery, token)          # the first holder settles too late: not recorded
        row = stores.deliveries.col.find_one({"_id": delivery["id"]})
        assert row["status"] == "pending" and row["attempts"] == [] and row["leaseToken"] == token2
        deliverer.attempt(again, token2)
        assert stores.deliveries.col.find_one({"_id": delivery["id"]})["status"] == "succeeded"


def test_a_ping_taken_over_by_a_worker_is_still_one_attempt(stores):
    with Receiver(default=500) as rx:
        deliverer = make(stores)
        hook = endpoint(stores, rx.url)
        doc = new_delivery(endpoint=hook, event_id=new_id(), event_type="ping", body="{}")
        doc["nextMs"] = None
        stores.deliveries.insert_leased(doc, lease_ms=1)      # the web process died mid-ping
        import time
        time.sleep(0.01)
        delivery, token = stores.deliveries.claim_due(lease_ms=deliverer.lease_ms, busy=[])
        settled = deliverer.attempt(delivery, token)
        assert settled["status"] == "failed" and settled["nextMs"] is None and len(rx.requests) == 1


def test_history_is_bounded_per_endpoint_and_in_time(stores):
    hook = endpoint(stores, "http://127.0.0.1:9/hook")
    other = endpoint(stores, "http://127.0.0.1:9/other")
    base_ms = now_ms() - 40 * 86400_000
    docs = []
    for i, status in enumerate(["succeeded", "failed", "retrying", "succeeded", "succeeded", "succeeded"]):
        doc = new_delivery(endpoint=hook, event_id=new_id(), event_type="card_moved", body="{}")
        doc.update(status=status, createdAtMs=base_ms + i * 8 * 86400_000)   # 40, 32, 24, 16, 8, 0 days old
        if status != "retrying":
            doc.pop("dueMs")
        docs.append(doc)
    docs.append(new_delivery(endpoint=other, event_id=new_id(), event_type="card_moved", body="{}") |
                {"status": "succeeded", "createdAtMs": base_ms})
    stores.deliveries.insert_many(docs)

    def left(e):
        return sorted(d["status"] + str(d["createdAtMs"] - base_ms) for d in stores.deliveries.col.find(
            {"endpointId": e["id"]}))

    assert stores.deliveries.prune_beyond(hook["id"], 3) == 2             # the two oldest finished ones
    assert stores.deliveries.prune_older(hook["id"], now_ms() - 20 * 86400_000) == 0   # the retrying one stays
    assert [s for s in left(hook) if s.startswith("retrying")] and len(left(hook)) == 4
    assert stores.deliveries.prune_older(hook["id"], now_ms() + 1) == 3
    assert [s[:8] for s in left(hook)] == ["retrying"] and len(left(other)) == 1


def test_a_delivery_whose_endpoint_is_gone_is_dropped_and_a_tenant_purge_can_be_retried(stores):
    with Receiver() as rx:
        deliverer = make(stores)
        hook = endpoint(stores, rx.url)
        # the fan-out read the endpoint, then it was deleted with its deliveries, then the fan-out wrote
        stores.endpoints.delete(hook["workspaceId"], hook["id"])
        settled = deliver(stores, deliverer, hook)
        assert settled["status"] == "failed" and rx.requests == []
        assert stores.deliveries.col.count_documents({"endpointId": hook["id"]}) == 0   # nothing left behind

        # a purge cut short after the deliveries: redelivered, it still finds the endpoints
        kept, gone = endpoint(stores, rx.url), endpoint(stores, rx.url)
        stores.deliveries.insert_many([new_delivery(endpoint=h, event_id=new_id(), event_type="card_moved", body="{}")
                                       for h in (kept, gone)])
        assert stores.deliveries.delete_for_endpoints([gone["id"]]) == 1   # the first half of a purge
        assert stores.delete_tenant({"workspaceId": gone["workspaceId"]}) == {"endpoints": 1, "deliveries": 0}
        assert stores.delete_tenant({"workspaceId": gone["workspaceId"]}) == {"endpoints": 0, "deliveries": 0}
        assert stores.endpoints.by_id(kept["id"]) is not None
        assert stores.deliveries.col.count_documents({"endpointId": kept["id"]}) == 1
