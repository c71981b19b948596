"""The event backbone under faults, on a stack of its own (identity + boards + notifications):
NATS stopped while cards are created, moved and commented; the notifications worker SIGKILLed
mid-stream; poison events; two workers sharing the consumer. Every expected notification arrives,
exactly once. Deadlines, never fixed sleeps.

    STACK_SERVICES=identity,boards,notifications .venv/bin/python -m pytest services/notifications -m faults
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pymongo import MongoClient

from devtools.stack import Stack
from libs.common.bus import dumps
from libs.common.mongo import iso, new_id
from services.notifications.tests.support import Publisher, count, moved, notifications
from tests.support import register, team, wait_until

pytestmark = pytest.mark.faults
MAX_DELIVER = 3


@pytest.fixture(scope="module")
def fstack():
    root = Path(tempfile.mkdtemp(prefix="stellary-faults-"))
    s = Stack.start(root, services=["identity", "boards", "notifications"],
                    extra_env={"CONSUMER_MAX_DELIVER": str(MAX_DELIVER), "NOTIFICATIONS_STATS_INTERVAL": "1s",
                               "NOTIFICATIONS_PURGE_INTERVAL": "1s"})
    yield s
    s.stop()
    if not os.environ.get("KEEP_TEST_DATA"):
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def fpub(fstack):
    pub = Publisher(fstack.env["NATS_URL"])
    yield pub
    pub.close()


@pytest.fixture(scope="module")
def mongo(fstack):
    client = MongoClient(fstack.env["MONGO_URI"], tz_aware=True)
    yield client
    client.close()


@pytest.fixture
def board(fstack):
    """alice's kanban project with bob as a member: alice acts, bob is notified."""
    alice = register(fstack.url, name="Alice")
    bob = team(fstack.url, alice)
    r = alice.post(alice.W + "/projects", json={"name": "Faults", "templateId": "kanban"})
    assert r.status_code == 201, r.text
    project = r.json()
    P = f"{alice.W}/projects/{project['id']}"
    assert alice.post(P + "/members", json={"email": bob.email}).status_code == 201
    wait_until(lambda: count(bob) == 1, message="bob's member_added")  # bob is a member after the change
    return alice, bob, project, P


def drained(fstack, fpub, mongo) -> bool:
    """Nothing left anywhere: boards' outbox published, the notifications consumer caught up."""
    pending = len(list(mongo["stellary_boards"]["outbox"].find({}, {"_id": 1})))
    info = fpub.consumer_info("BOARDS", "notifications")
    return pending == 0 and info.num_pending == 0 and info.num_ack_pending == 0


def assert_exactly_once(fstack, fpub, mongo, client, expected: Counter, timeout: float = 60):
    """`client` ends up with exactly the `expected` notifications (by activity type), no duplicate."""
    total = sum(expected.values())
    wait_until(lambda: count(client) >= total, timeout=timeout, interval=0.2,
               message=f"{total} notifications")
    wait_until(lambda: drained(fstack, fpub, mongo), timeout=timeout, interval=0.2, message="bus drained")
    rows = notifications(client, limit=200)
    assert Counter(n["activity"]["type"] for n in rows) == expected
    events = [n["activity"]["eventId"] for n in rows]
    assert len(events) == len(set(events)) == total
    assert count(client) == total


def create_cards(alice, project, P, n: int) -> list[str]:
    column = project["columns"][0]["id"]
    ids = []
    for i in range(n):
        r = alice.post(f"{P}/columns/{column}/cards", json={"title": f"card {i}"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def move(alice, P, card_id: str, column_id: str) -> None:
    r = alice.patch(f"{P}/cards/{card_id}", json={"columnId": column_id})
    assert r.status_code == 200, r.text


def stats(fstack, log_name: str, pid: int) -> dict:
    """The last counters a worker process logged (NOTIFICATIONS_STATS_INTERVAL=1s here)."""
    text = (fstack.root / log_name).read_text(errors="replace")
    lines = []
    for line in text.splitlines():   # one JSON object per line (libs/common/logs.py)
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("pid") == pid and record.get("msg", "").startswith("stats "):
            lines.append(record["msg"].removeprefix("stats "))
    return {k: int(v) for k, v in (kv.split("=") for kv in lines[-1].split())} if lines else {}


# ---------------------------------------------------------------------------------------------

def test_nats_outage_while_cards_are_created_moved_and_commented(fstack, fpub, mongo, board):
    alice, bob, project, P = board
    doing = project["columns"][1]["id"]
    n = 6

    def relay_failures() -> int:
        return (fstack.root / "boards-worker.log").read_text(errors="replace").count("relay: publish failed")

    failures_before = relay_failures()
    fstack.infra.stop_nats()
    try:
        cards = create_cards(alice, project, P, n)
        for card_id in cards:
            move(alice, P, card_id, doing)
        for card_id in cards:
            r = alice.post(f"{P}/cards/{card_id}/comments", json={"content": "while NATS is down"})
            assert r.status_code == 201, r.text
        # Nothing could be published: the events wait in boards' outbox.
        assert len(list(mongo["stellary_boards"]["outbox"].find({}, {"_id": 1}))) >= 3 * n
        assert count(bob) == 1
        # boards' relay really tried (and will retry) while NATS was away.
        wait_until(lambda: relay_failures() > failures_before, timeout=30, message="a failed relay publish")
    finally:
        fstack.infra.start_nats()
    assert_exactly_once(fstack, fpub, mongo, bob,
                        Counter({"member_added": 1, "card_created": n, "card_moved": n, "comment_added": n}), timeout=90)
    assert notifications(alice) == []


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_worker_killed_mid_stream_and_restarted(fstack, fpub, mongo, board, sig):
    """SIGKILL: what the dead worker held unacked comes back after ack_wait (30 s) and the
    deterministic ids absorb a replay. SIGTERM: a graceful stop, prompt (not nats-py's 30 s drain)."""
    alice, bob, project, P = board
    todo, doing = project["columns"][0]["id"], project["columns"][1]["id"]
    cards = create_cards(alice, project, P, 5)
    wait_until(lambda: count(bob) == 1 + 5, timeout=30)
    moves = 40
    errors = []

    def produce():
        try:
            for i in range(moves):
                move(alice, P, cards[i % 5], doing if (i // 5) % 2 == 0 else todo)
        except AssertionError as exc:  # reported by the main thread
            errors.append(exc)

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        wait_until(lambda: count(bob) >= 1 + 5 + 5, timeout=30, message="some moves notified")
        started = time.monotonic()
        fstack.kill("notifications", "worker", sig)
        stopped_in = time.monotonic() - started
        killed_at = count(bob)
        if sig == signal.SIGTERM:
            assert stopped_in < 5, f"graceful stop took {stopped_in:.1f}s"
        assert killed_at < 1 + 5 + moves, "the worker was killed too late to prove anything"
    finally:
        producer.join(60)
    assert not errors, errors
    fstack.spawn("notifications", "worker")
    assert_exactly_once(fstack, fpub, mongo, bob, Counter({"member_added": 1, "card_created": 5, "card_moved": moves}))


def test_poison_events_are_parked_on_the_dead_letter_subject_without_blocking(fstack, fpub, mongo, board):
    alice, bob, project, P = board
    members = [alice.user_id, bob.user_id]
    dead = mongo["stellary_notifications"]["dead_letters"]
    before = dead.count_documents({})
    dlq = fpub.subscribe("dlq.notifications")

    unparseable = b'{"id": "not json'
    fpub.publish("boards.card.moved", unparseable, msg_id=new_id())
    failing = moved(alice.user_id, members)
    failing["data"]["projectMemberIds"] = "everyone"  # breaks the contract: the handler raises
    fpub.publish("boards.card.moved", failing)
    good = moved(alice.user_id, members)
    fpub.publish("boards.card.moved", good)

    # The good event behind them is not held up by their retries (≥ 1.2 s of back-off here).
    wait_until(lambda: count(bob) == 2, timeout=5, interval=0.02, message="the good event")
    delivered = notifications(bob)[0]
    assert delivered["activity"]["eventId"] == good["id"]

    parked = {}
    deadline = time.monotonic() + 30
    while len(parked) < 2 and time.monotonic() < deadline:
        try:
            msg = dlq.get(timeout=max(0.1, deadline - time.monotonic()))
        except Exception:  # noqa: BLE001 - queue.Empty: the deadline decides
            continue
        parked[msg.data] = msg.headers or {}
    assert set(parked) == {unparseable, dumps(failing)}, parked
    by_kind = {("raw" if data == unparseable else "event"): headers for data, headers in parked.items()}
    assert "JSONDecodeError" in by_kind["raw"]["Stellary-Error"]
    assert "projectMemberIds" in by_kind["event"]["Stellary-Error"]
    for headers in by_kind.values():
        assert headers["Stellary-Subject"] == "boards.card.moved"
        assert headers["Stellary-Consumer"] == "notifications@BOARDS"

    # Counted (the dead_letters collection) and logged, after exactly MAX_DELIVER deliveries.
    wait_until(lambda: dead.count_documents({}) == before + 2)
    rows = list(dead.find({"consumer": "notifications@BOARDS"}).sort("at", -1).limit(2))
    assert sorted(r["deliveries"] for r in rows) == [MAX_DELIVER, MAX_DELIVER]
    assert any(failing["id"] in r["data"] for r in rows) and all(r["error"] for r in rows)
    # The good one was stored before either poison message was given up on.
    assert iso(min(r["at"] for r in rows)) > delivered["createdAt"]
    log = (fstack.root / "notifications-worker.log").read_text(errors="replace")
    assert log.count("parking boards.card.moved on dlq.notifications") >= 2
    # Parked, not retried forever; the stream keeps flowing.
    later = moved(alice.user_id, members)
    fpub.publish("boards.card.moved", later)
    assert_exactly_once(fstack, fpub, mongo, bob, Counter({"member_added": 1, "card_moved": 2}))


def test_two_workers_share_the_work_without_duplicates(fstack, fpub, mongo, board):
    alice, bob, project, P = board
    first = fstack.procs[("notifications", "worker")]
    log_name = "notifications-worker-2.log"
    second = subprocess.Popen(fstack.command("notifications", "worker"), cwd=Path(__file__).resolve().parents[3],
                              env=fstack.env, stdout=open(fstack.root / log_name, "ab"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    fstack.procs[("notifications", "worker-2")] = second  # stopped with the stack if the test fails
    try:
        wait_until(lambda: "notifications worker started" in (fstack.root / log_name).read_text(errors="replace"),
                   timeout=30, message="second worker started")

        # A burst straight on JetStream, and real moves through boards at the same time.
        members = [alice.user_id, bob.user_id]
        burst = 80
        cards = create_cards(alice, project, P, 4)
        mover = threading.Thread(target=lambda: [move(alice, P, cards[i % 4], project["columns"][1 + i // 4 % 2]["id"])
                                                 for i in range(16)])
        mover.start()
        for _ in range(burst):
            fpub.publish("boards.card.moved", moved(alice.user_id, members))
        mover.join(60)
        # Exactly once across both workers...
        assert_exactly_once(fstack, fpub, mongo, bob, Counter({"member_added": 1, "card_created": 4, "card_moved": burst + 16}))
        # ...and both took a share: the second (started for this batch) handled some, not all.
        total = 4 + burst + 16
        handled = wait_until(lambda: stats(fstack, log_name, second.pid).get("handled"), timeout=10,
                             message="the second worker handled events")
        assert 0 < handled < total, handled
        assert first.poll() is None and second.poll() is None
    finally:
        fstack.kill("notifications", "worker-2")


def test_the_worker_purges_expired_notifications(fstack, mongo):
    """Retention (NOTIFICATIONS_RETENTION_DAYS, default 90) does not rely on the TTL monitor, which
    the embedded stand-in may not run: the worker purges on its own (every second on this stack)."""
    col = mongo["stellary_notifications"]["notifications"]
    user = new_id()
    old, recent = (datetime.now(timezone.utc) - timedelta(days=d) for d in (91, 89))
    col.insert_many([{"_id": new_id(), "userId": user, "seq": i, "readAt": None, "activity": {"type": "card_created"},
                      "createdAt": at} for i, at in enumerate((old, recent))])
    wait_until(lambda: col.count_documents({"userId": user}) == 1, message="the expired notification purged")
    assert col.find_one({"userId": user})["seq"] == 1


def test_a_worker_restarted_with_new_subscriptions_gets_them(fstack, fpub, mongo, board):
    """The durable consumer outlives the worker: when the service's subscriptions change (here: the
    IDENTITY filter of an older release, without identity.member.removed), the restarted worker
    updates the consumer's filter instead of binding to the old one."""
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    alice, bob, project, P = board
    fstack.kill("notifications", "worker")
    old = ConsumerConfig(durable_name="notifications", ack_policy=AckPolicy.EXPLICIT,
                         deliver_policy=DeliverPolicy.ALL, ack_wait=30, max_deliver=-1, max_ack_pending=1000,
                         filter_subjects=["identity.org.deleted", "identity.workspace.deleted"])
    fpub._run(fpub.js.add_consumer("IDENTITY", config=old))
    fstack.spawn("notifications", "worker")
    wait_until(lambda: "identity.member.removed" in (fpub.consumer_info("IDENTITY", "notifications")
                                                     .config.filter_subjects or []),
               timeout=30, message="the consumer's filter updated")

    # bob leaves alice's workspace: his notifications from it are forgotten.
    assert count(bob) == 1
    assert alice.delete(f"{alice.W}/members/{bob.user_id}").status_code == 200
    wait_until(lambda: count(bob) == 0, timeout=30, message="the workspace's notifications forgotten")
