"""GET /notifications/stream through the gateway: live notifications, the unread count, resume."""
import time

from pymongo import MongoClient, monitoring

from libs.common.asyncweb import AsyncBody
from libs.common.mongo import new_id, now
from services.notifications.storage import NotificationStore
from services.notifications.stream import LiveHub, event_stream
from services.notifications.tests.support import SSE, moved, wait_notifications
from tests.support import Client, assert_error, register


def test_stream_sends_new_notifications_and_the_unread_count_live(publisher, alice, bob):
    stream = SSE(bob)
    try:
        assert stream.response.status_code == 200
        assert stream.response.headers["Content-Type"].startswith("text/event-stream")
        assert stream.next("count")["data"] == {"count": 0}

        env = moved(alice.user_id, [alice.user_id, bob.user_id])
        publisher.publish("boards.card.moved", env)
        got = stream.next("notification")
        assert got["data"]["activity"]["eventId"] == env["id"] and got["data"]["userId"] == bob.user_id
        assert got["data"]["activity"]["meta"]["toColumn"] == "In Progress"
        assert int(got["id"]) > 0
        assert stream.next("count")["data"] == {"count": 1}
        # The REST view agrees with the stream.
        assert bob.get("/notifications").json()[0] == got["data"]

        # A read elsewhere (another tab) shows up as a count change.
        assert bob.patch("/notifications/read-all").json()["updated"] == 1
        assert stream.next("count", timeout=5)["data"] == {"count": 0}
    finally:
        stream.close()


def test_stream_carries_only_the_callers_notifications_in_order(publisher, base, alice, bob):
    carol = register(base)
    stream = SSE(bob)
    try:
        stream.next("count")
        envs = [moved(alice.user_id, [alice.user_id, bob.user_id, carol.user_id]) for _ in range(5)]
        publisher.publish("boards.card.moved", moved(bob.user_id, [alice.user_id, bob.user_id]))  # bob acts
        publisher.publish("boards.card.moved", moved(alice.user_id, [alice.user_id, carol.user_id]))  # not bob's
        for env in envs:
            publisher.publish("boards.card.moved", env)
        got = [stream.next("notification") for _ in envs]
        assert [g["data"]["activity"]["eventId"] for g in got] == [e["id"] for e in envs]
        ids = [int(g["id"]) for g in got]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert all(g["data"]["userId"] == bob.user_id for g in got)
    finally:
        stream.close()


def test_last_event_id_resumes_with_what_was_missed(publisher, alice, bob):
    members = [alice.user_id, bob.user_id]
    stream = SSE(bob)
    first = moved(alice.user_id, members)
    try:
        stream.next("count")
        publisher.publish("boards.card.moved", first)
        last_id = stream.next("notification")["id"]
    finally:
        stream.close()

    missed = [moved(alice.user_id, members) for _ in range(3)]
    for env in missed:
        publisher.publish("boards.card.moved", env)
    wait_notifications(bob, 4)

    resumed = SSE(bob, last_event_id=last_id)
    try:
        got = [resumed.next("notification") for _ in missed]
        assert [g["data"]["activity"]["eventId"] for g in got] == [e["id"] for e in missed]
        assert resumed.next("count")["data"] == {"count": 4}
        later = moved(alice.user_id, members)
        publisher.publish("boards.card.moved", later)
        assert resumed.next("notification")["data"]["activity"]["eventId"] == later["id"]
        # `first` (before the Last-Event-ID) was never sent again.
        seen = []
        while not resumed.events.empty():
            seen.append(resumed.events.get_nowait())
        assert first["id"] not in [e.get("data", {}).get("activity", {}).get("eventId") for e in seen
                                   if e.get("event") == "notification"]
    finally:
        resumed.close()

    # Without Last-Event-ID the stream starts from now: nothing old is replayed.
    fresh = SSE(bob)
    try:
        assert fresh.next("count")["data"] == {"count": 5}
        assert fresh.next("comment", timeout=5)["comment"] == "keep-alive"  # heartbeat (1 s in the tests)
        assert all(e.get("event") != "notification" for e in list(fresh.events.queue))
    finally:
        fresh.close()


def test_a_notification_committed_late_with_an_older_seq_is_still_streamed(ndb, alice, bob):
    """Two workers may commit out of seq order: the stream looks back and skips what it sent."""
    stream = SSE(bob)
    try:
        stream.next("count")
        time.sleep(0.3)  # the stream's cursor is now ahead of the seq below
        late_seq = time.time_ns() // 1000 - 2_000_000
        doc = {"_id": new_id(), "userId": bob.user_id, "orgId": new_id(), "workspaceId": new_id(),
               "projectId": new_id(), "eventId": new_id(), "seq": late_seq, "readAt": None,
               "activity": {"type": "card_created", "actorId": alice.user_id, "meta": {}, "createdAt": now()},
               "createdAt": now()}
        ndb["notifications"].insert_one(doc)  # no NATS wake-up: found by the safety poll
        got = stream.next("notification", timeout=5)
        assert got["data"]["id"] == doc["_id"]
        assert int(got["id"]) >= late_seq  # the cursor never goes back
        assert stream.next("count")["data"] == {"count": 1}
    finally:
        stream.close()


def test_stream_needs_a_token(base):
    assert_error(Client(base).get("/notifications/stream"), 401)


def test_the_stream_generator_ends_at_its_max_age_and_unregisters(ndb):
    """In-process (served synchronously, as a WSGI server would): the stream closes after
    NOTIFICATIONS_STREAM_MAX_AGE (the client reconnects with Last-Event-ID) and leaves nothing
    registered behind; a wake-up with ids is served at once."""
    user, store = new_id(), NotificationStore(ndb)
    hub = LiveHub(store, poll_s=10)
    frames = (chunk.decode() for chunk in AsyncBody(lambda: event_stream(
        store=store, hub=hub, user_id=user, last_event_id=None, heartbeat_s=0.2, max_age_s=1.0)))
    assert next(frames) == "retry: 2000\n\n"
    assert next(frames) == 'event: count\ndata: {"count":0}\n\n'
    assert hub.open_streams == 1
    doc = {"_id": new_id(), "userId": user, "seq": time.time_ns() // 1000 + 1, "readAt": None,
           "activity": {"type": "card_created", "createdAt": now()}, "createdAt": now()}
    ndb["notifications"].insert_one(doc)
    started = time.monotonic()
    hub.on_live(f"live.notifications.{user}", {"ids": [doc["_id"]]})
    frame = next(frames)
    assert frame.startswith(f"id: {doc['seq']}\nevent: notification\n") and doc["_id"] in frame
    assert time.monotonic() - started < 0.5  # the wake-up, not the 10 s safety poll
    rest = list(frames)  # ends by itself
    assert 'event: count\ndata: {"count":1}\n\n' in rest and ": keep-alive\n\n" in rest
    assert time.monotonic() - started < 3 and hub.open_streams == 0


class _Aggregates(monitoring.CommandListener):
    """The count queries (aggregate … $count) a stream sends."""

    def __init__(self):
        self.n = 0

    def started(self, event):
        self.n += event.command_name == "aggregate"

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_new_notifications_add_to_the_streamed_count_without_counting_again(stack):
    """The count is read when the stream starts and after a read, not once per wake-up: five new
    notifications, one count query; a read (touch), one more."""
    counted = _Aggregates()
    client = MongoClient(stack.env["MONGO_URI"], tz_aware=True, event_listeners=[counted])
    try:
        user, store = new_id(), NotificationStore(client["stellary_notifications"])
        hub = LiveHub(None)   # wake-ups only: no safety poll
        frames = (chunk.decode() for chunk in AsyncBody(lambda: event_stream(
            store=store, hub=hub, user_id=user, last_event_id=None, heartbeat_s=30, max_age_s=30)))
        assert next(frames) == "retry: 2000\n\n"
        assert next(frames) == 'event: count\ndata: {"count":0}\n\n'
        ids = []
        for n in range(1, 6):
            doc = {"_id": new_id(), "userId": user, "seq": time.time_ns() // 1000 + 1, "readAt": None,
                   "activity": {"type": "card_created", "createdAt": now()}, "createdAt": now()}
            store.col.insert_one(doc)
            ids.append(doc["_id"])
            hub.on_live(f"live.notifications.{user}", {"ids": [doc["_id"]]})
            assert doc["_id"] in next(frames)
            assert next(frames) == f'event: count\ndata: {{"count":{n}}}\n\n'
        assert counted.n == 1

        for notification_id in ids[:2]:
            store.mark_read(user_id=user, notification_id=notification_id)
        hub.touch(user)
        assert next(frames) == 'event: count\ndata: {"count":3}\n\n'
        assert counted.n == 2
        frames.close()
    finally:
        client.close()


def test_the_safety_poll_reads_lately_stored_rows_by_seq_and_counts_per_user(ndb):
    """Its two reads cost what was stored lately and what is unread, not every notification kept:
    rows of other users in the window are left out, a user with nothing gets 0."""
    ndb = ndb.client[f"t{new_id()[-6:]}_notifications"]   # a database of its own: nothing else in the window
    store = NotificationStore(ndb)
    store.ensure_indexes(90)
    users = [new_id() for _ in range(3)]
    base = time.time_ns() // 1000
    docs = [{"_id": new_id(), "userId": u, "seq": base + i * 10 + k, "readAt": None if k else now(),
             "activity": {"type": "card_created", "createdAt": now()}, "createdAt": now()}
            for i, u in enumerate(users[:2]) for k in range(2)]
    ndb["notifications"].insert_many(docs)
    keys = store.recent_keys_of(user_ids=[users[0], users[2]], since_seq=base - 1)
    assert [(u, i) for u, _s, i in keys] == [(users[0], d["_id"]) for d in docs[:2]]
    assert store.count_unread_of(user_ids=users) == {users[0]: 1, users[1]: 1, users[2]: 0}
    assert store.recent_keys_of(user_ids=users, since_seq=base - 1, limit=1) == \
        [(d["userId"], d["seq"], d["_id"]) for d in docs]   # paged when a page is full
