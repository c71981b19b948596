"""Notification endpoints through the gateway, fed by real envelopes published on JetStream."""
import time
from datetime import timedelta

import pytest
import requests

from libs.common.mongo import new_id, now
from services.notifications.service import NotificationsService
from services.notifications.settings import Settings
from services.notifications.storage import NotificationStore
from services.notifications.tests.support import (
    activity,
    count,
    moved,
    notifications,
    wait_notifications,
)
from tests.support import Client, assert_error, register, wait_until


def test_card_moved_notifies_other_members_with_the_activity_embedded(publisher, alice, bob):
    card = {"id": new_id(), "title": "Login page", "columnId": new_id()}
    project = {"id": new_id(), "name": "Website"}
    env = moved(alice.user_id, [alice.user_id, bob.user_id], card=card, project=project)
    publisher.publish("boards.card.moved", env)

    [n] = wait_notifications(bob, 1)
    assert n["userId"] == bob.user_id and n["readAt"] is None
    assert n["createdAt"].endswith("Z") and len(n["id"]) == 24
    a = n["activity"]
    assert a["type"] == "card_moved" and a["actorId"] == alice.user_id
    assert a["meta"]["fromColumn"] == "To Do" and a["meta"]["toColumn"] == "In Progress"
    assert a["createdAt"] == env["occurredAt"]
    assert (a["projectId"], a["projectName"], a["cardId"], a["cardTitle"]) == (
        project["id"], "Website", card["id"], "Login page")
    assert notifications(alice) == []  # the actor is never notified
    assert count(bob) == 1 and count(alice) == 0


ALL_TYPES = [
    ("boards.card.created", "card_created", {}),
    ("boards.card.updated", "card_updated", {"changes": {"title": {"before": "a", "after": "b"}}}),
    ("boards.card.moved", "card_moved", {"meta": {"fromColumn": "To Do", "toColumn": "Done"}}),
    ("boards.card.archived", "card_archived", {}),
    ("boards.card.deleted", "card_deleted", {}),
    ("boards.card.assigned", "card_assigned", {"assigneeId": None, "previousAssigneeId": None}),
    ("boards.comment.added", "comment_added", {"comment": {"id": "c1", "content": "Looks good"}}),
    ("boards.member.added", "member_added", {"member": {"userId": "u", "email": "x@example.com"}}),
    ("boards.member.removed", "member_removed", {"member": {"userId": "u", "email": "x@example.com"}}),
]


@pytest.mark.parametrize("subject,kind,data", ALL_TYPES, ids=[t[1] for t in ALL_TYPES])
def test_every_project_member_but_the_actor_is_notified(base, publisher, subject, kind, data):
    actor, m1, m2, outsider = (register(base) for _ in range(4))
    env = activity(subject, actor=actor.user_id, members=[actor.user_id, m1.user_id, m2.user_id], **data)
    publisher.publish(subject, env)
    for member in (m1, m2):
        [n] = wait_notifications(member, 1)
        assert n["activity"]["type"] == kind and n["activity"]["actorId"] == actor.user_id
    assert notifications(actor) == [] and notifications(outsider) == []


def test_activity_meta_per_type(publisher, alice, bob):
    members = [alice.user_id, bob.user_id]
    long_comment = "x" * 400
    publisher.publish("boards.comment.added", activity("boards.comment.added", actor=alice.user_id, members=members,
                                                         comment={"id": "c1", "content": long_comment}))
    publisher.publish("boards.card.updated", activity("boards.card.updated", actor=alice.user_id, members=members,
                                                        changes={"priority": {"before": "low", "after": "high"}}))
    publisher.publish("boards.member.added", activity("boards.member.added", actor=alice.user_id, members=members,
                                                        card=None, member={"userId": bob.user_id, "email": bob.email}))
    rows = wait_notifications(bob, 3)
    by_type = {n["activity"]["type"]: n["activity"] for n in rows}
    assert by_type["comment_added"]["meta"] == {"commentId": "c1", "content": "x" * 280, "truncated": True}
    assert by_type["card_updated"]["meta"] == {"changes": {"priority": {"before": "low", "after": "high"}}}
    assert by_type["member_added"]["meta"] == {"userId": bob.user_id, "email": bob.email}
    assert by_type["member_added"]["cardId"] is None


def test_card_assigned_notifies_the_new_assignee_even_when_not_a_member(base, publisher, alice, bob):
    assignee = register(base)
    env = activity("boards.card.assigned", actor=alice.user_id, members=[alice.user_id, bob.user_id],
                   assigneeId=assignee.user_id, previousAssigneeId=None)
    publisher.publish("boards.card.assigned", env)
    [n] = wait_notifications(assignee, 1)
    assert n["activity"]["meta"] == {"assigneeId": assignee.user_id, "previousAssigneeId": None}
    assert len(wait_notifications(bob, 1)) == 1 and notifications(alice) == []


def test_assigning_oneself_does_not_notify_oneself(publisher, alice, bob):
    env = activity("boards.card.assigned", actor=alice.user_id, members=[alice.user_id, bob.user_id],
                   assigneeId=alice.user_id, previousAssigneeId=bob.user_id)
    publisher.publish("boards.card.assigned", env)
    [n] = wait_notifications(bob, 1)
    assert n["activity"]["meta"]["previousAssigneeId"] == bob.user_id
    assert notifications(alice) == []


def test_a_redelivered_event_never_duplicates(publisher, ndb, alice, bob):
    """The consumer is idempotent by itself (one notification id per event and recipient), so it
    keeps no processed-id bookkeeping: the same event again under another message id (past
    JetStream's de-duplication, e.g. a re-publish by the outbox sweeper) inserts nothing."""
    env = moved(alice.user_id, [alice.user_id, bob.user_id])
    publisher.publish("boards.card.moved", env)
    wait_notifications(bob, 1)
    publisher.publish("boards.card.moved", env, msg_id=new_id())
    publisher.publish("boards.card.moved", env, msg_id=new_id())
    last = moved(alice.user_id, [alice.user_id, bob.user_id])  # handled after the duplicates
    publisher.publish("boards.card.moved", last)
    rows = wait_notifications(bob, 2)
    time.sleep(0.3)
    rows = wait_notifications(bob, 2)
    assert sorted(n["activity"]["eventId"] for n in rows) == sorted([env["id"], last["id"]])
    assert ndb["notifications"].count_documents({"eventId": env["id"]}) == 1   # bob's, once (alice acted)
    assert ndb["processed_events"].count_documents({"_id": {"$regex": env["id"]}}) == 0


def test_list_is_newest_first_with_default_limit_and_cursor_paging(publisher, alice, bob):
    members = [alice.user_id, bob.user_id]
    sent = []
    for i in range(55):
        env = moved(alice.user_id, members, card={"id": new_id(), "title": f"card {i}"})
        sent.append(env["id"])
        publisher.publish("boards.card.moved", env)
    wait_until(lambda: count(bob) == 55, timeout=30)

    first = bob.get("/notifications")
    assert first.status_code == 200
    page = first.json()
    assert len(page) == 50  # default limit
    titles = [n["activity"]["cardTitle"] for n in page]
    assert titles == [f"card {i}" for i in range(54, 4, -1)]  # newest first
    cursor = first.headers["X-Next-Cursor"]
    second = bob.get("/notifications", params={"cursor": cursor})
    assert [n["activity"]["cardTitle"] for n in second.json()] == [f"card {i}" for i in range(4, -1, -1)]
    assert "X-Next-Cursor" not in second.headers

    # Small pages walk everything exactly once.
    seen, cursor = [], None
    while True:
        r = bob.get("/notifications", params={"limit": 7} | ({"cursor": cursor} if cursor else {}))
        seen += [n["activity"]["eventId"] for n in r.json()]
        cursor = r.headers.get("X-Next-Cursor")
        if not cursor:
            break
    assert seen == sent[::-1]
    assert len(bob.get("/notifications", params={"limit": 200}).json()) == 55


def test_limit_over_200_or_below_1_and_bad_cursor_are_400(alice):
    assert_error(alice.get("/notifications", params={"limit": 201}), 400)
    assert_error(alice.get("/notifications", params={"limit": 0}), 400)
    assert_error(alice.get("/notifications", params={"limit": "ten"}), 400)
    assert_error(alice.get("/notifications", params={"cursor": "nope"}), 400)
    assert_error(alice.get("/notifications", params={"unreadOnly": "maybe"}), 400)
    assert alice.get("/notifications", params={"limit": 200}).status_code == 200


def test_unread_only_count_read_and_read_all(publisher, alice, bob):
    members = [alice.user_id, bob.user_id]
    for _ in range(3):
        publisher.publish("boards.card.moved", moved(alice.user_id, members))
    rows = wait_notifications(bob, 3)
    assert count(bob) == 3

    r = bob.patch(f"/notifications/{rows[0]['id']}/read")
    assert r.status_code == 200
    read = r.json()
    assert read["id"] == rows[0]["id"] and read["readAt"].endswith("Z")
    assert read["activity"] == rows[0]["activity"]
    again = bob.patch(f"/notifications/{rows[0]['id']}/read").json()
    assert again["readAt"] == read["readAt"]  # reading twice keeps the first time
    assert count(bob) == 2
    for flag in ("true", "1"):
        unread = notifications(bob, unreadOnly=flag)
        assert [n["id"] for n in unread] == [n["id"] for n in rows[1:]]
    assert len(notifications(bob, unreadOnly="false")) == 3

    r = bob.patch("/notifications/read-all")
    assert r.status_code == 200 and r.json() == {"ok": True, "updated": 2}
    assert count(bob) == 0 and notifications(bob, unreadOnly="true") == []
    assert bob.patch("/notifications/read-all").json() == {"ok": True, "updated": 0}


def test_another_users_or_unknown_or_malformed_id_is_404(publisher, alice, bob):
    publisher.publish("boards.card.moved", moved(alice.user_id, [alice.user_id, bob.user_id]))
    [n] = wait_notifications(bob, 1)
    assert_error(alice.patch(f"/notifications/{n['id']}/read"), 404)
    assert_error(bob.patch(f"/notifications/{new_id()}/read"), 404)
    assert_error(bob.patch("/notifications/not-an-id/read"), 404)
    assert bob.get("/notifications").json()[0]["readAt"] is None  # alice's attempt changed nothing
    # read-all only touches the caller's own notifications
    assert alice.patch("/notifications/read-all").json() == {"ok": True, "updated": 0}
    assert count(bob) == 1


def test_endpoints_need_a_token(base):
    anonymous = Client(base)
    for method, path in [("GET", "/notifications"), ("GET", "/notifications/count"),
                         ("PATCH", "/notifications/read-all"), ("PATCH", f"/notifications/{new_id()}/read")]:
        assert_error(anonymous.request(method, path), 401)


def notify_in_three_places(publisher, alice, bob, org, ws):
    """Three moves by alice that bob hears of: in `ws`, elsewhere in `org`, and in another org."""
    members = [alice.user_id, bob.user_id]
    envs = (moved(alice.user_id, members, org_id=org["id"], workspace_id=ws["id"]),
            moved(alice.user_id, members, org_id=org["id"], workspace_id=new_id()),
            moved(alice.user_id, members))
    for env in envs:
        publisher.publish("boards.card.moved", env)
    wait_notifications(bob, 3)
    return envs


def seen_by(user):
    """The boards activity the user was told about (not that they were added to an org)."""
    return {n["activity"]["eventId"] for n in notifications(user) if n["activity"]["type"] != "org_member_added"}


def test_org_and_workspace_deletion_forget_their_notifications(publisher, alice, bob):
    r = alice.post("/organizations", json={"name": "Acme", "slug": f"acme-{new_id()[-8:]}"})
    assert r.status_code == 201, r.text
    org = r.json()
    r = alice.post(f"/orgs/{org['slug']}/workspaces", json={"name": "Eng", "slug": "eng"})
    assert r.status_code == 201, r.text
    ws = r.json()
    in_ws, in_org, elsewhere = notify_in_three_places(publisher, alice, bob, org, ws)

    assert alice.delete(f"/orgs/{org['slug']}/workspaces/eng").status_code == 200
    wait_until(lambda: seen_by(bob) == {in_org["id"], elsewhere["id"]},
               message="workspace notifications deleted")
    assert alice.delete(f"/organizations/{org['slug']}").status_code == 200
    wait_until(lambda: seen_by(bob) == {elsewhere["id"]},
               message="org notifications deleted")


def test_retention_ttl_index_and_purge(stack, ndb):
    indexes = ndb["notifications"].index_information()
    ttl = [i for i in indexes.values() if "expireAfterSeconds" in i]
    assert ttl and ttl[0]["key"] == [("createdAt", 1)] and ttl[0]["expireAfterSeconds"] == 90 * 86400

    user = new_id()
    store = NotificationStore(ndb)
    old, fresh = (now() - timedelta(days=91)), (now() - timedelta(days=89))
    store.insert_many([{"_id": new_id(), "userId": user, "seq": i, "readAt": None, "activity": {}, "createdAt": at}
                       for i, at in enumerate([old, fresh])])
    service = NotificationsService(store=store, settings=Settings({"retention_days": 90}))
    service.purge_expired()
    assert [d["createdAt"] for d in ndb["notifications"].find({"userId": user})] == [fresh]


def test_read_all_keeps_the_newest_read_notifications_and_every_unread_one(stack, ndb):
    """NOTIFICATIONS_KEEP_READ: what a user keeps is bounded by what they have not read, not by
    their history; another user's notifications are untouched."""
    user, other = new_id(), new_id()
    store = NotificationStore(ndb)
    rows = [{"_id": new_id(), "userId": who, "seq": 1000 + i, "readAt": None, "activity": {}, "createdAt": now()}
            for i in range(8) for who in (user, other)]
    store.insert_many(rows)
    service = NotificationsService(store=store, settings=Settings({"keep_read": 3}))
    caller = type("Caller", (), {"user_id": user})()
    assert service.read_all(caller=caller) == {"ok": True, "updated": 8}
    kept = [d["seq"] for d in ndb["notifications"].find({"userId": user}).sort("seq", -1)]
    assert kept == [1007, 1006, 1005]
    store.insert_many([{"_id": new_id(), "userId": user, "seq": 2000 + i, "readAt": None, "activity": {},
                        "createdAt": now()} for i in range(2)])
    store.prune_read(user_id=user, keep=1)   # unread ones are never pruned
    assert [d["seq"] for d in ndb["notifications"].find({"userId": user}).sort("seq", -1)] == [2001, 2000, 1007]
    assert store.prune_read(user_id=user, keep=0) == 0
    assert ndb["notifications"].count_documents({"userId": other}) == 8
    assert store.count_unread(user_id=other) == 8


def test_personal_access_tokens_need_the_notifications_read_scope(publisher, alice, bob):
    def pat(scopes):
        r = bob.post("/api-tokens", json={"name": "n", "scopes": scopes})
        assert r.status_code == 201, r.text
        return bob.with_token(r.json()["token"])

    publisher.publish("boards.card.moved", moved(alice.user_id, [alice.user_id, bob.user_id]))
    [n] = wait_notifications(bob, 1)
    reader, other = pat(["notifications:read"]), pat(["projects:read", "projects:write"])
    assert reader.get("/notifications").json()[0]["id"] == n["id"]
    assert reader.patch(f"/notifications/{n['id']}/read").status_code == 200  # marking read included
    assert reader.patch("/notifications/read-all").json() == {"ok": True, "updated": 0}
    for method, path in [("GET", "/notifications"), ("GET", "/notifications/count"),
                         ("PATCH", "/notifications/read-all"), ("GET", "/notifications/stream")]:
        assert_error(other.request(method, path), 403)


def test_leaving_a_workspace_or_org_forgets_its_notifications(publisher, alice, bob):
    org = alice.post("/organizations", json={"name": "Acme", "slug": f"acme-{new_id()[-8:]}"}).json()
    ws = alice.post(f"/orgs/{org['slug']}/workspaces", json={"name": "Eng", "slug": "eng"}).json()
    W = f"/orgs/{org['slug']}/workspaces/eng"
    inv = alice.post(W + "/members/invite", json={"email": bob.email, "role": "member"})
    assert inv.status_code == 201, inv.text
    assert bob.post(f"/invitations/{inv.json()['token']}/accept").status_code == 200
    in_ws, in_org, elsewhere = notify_in_three_places(publisher, alice, bob, org, ws)

    assert alice.delete(f"{W}/members/{bob.user_id}").status_code == 200
    wait_until(lambda: seen_by(bob) == {in_org["id"], elsewhere["id"]},
               message="the workspace's notifications forgotten")
    assert alice.delete(f"/organizations/{org['slug']}/members/{bob.user_id}").status_code == 200
    wait_until(lambda: seen_by(bob) == {elsewhere["id"]},
               message="the org's notifications forgotten")
    assert count(alice) == 0


def test_the_gateway_openapi_declares_every_notifications_endpoint(base):
    paths = requests.get(base + "/openapi.json", timeout=30).json()["paths"]
    declared = {(m.upper(), p) for p, ops in paths.items() for m in ops if p.startswith("/notifications")}
    assert declared == {("GET", "/notifications"), ("GET", "/notifications/count"),
                        ("PATCH", "/notifications/read-all"), ("PATCH", "/notifications/{notification_id}/read"),
                        ("GET", "/notifications/stream")}
    assert "text/event-stream" in paths["/notifications/stream"]["get"]["responses"]["200"]["content"]
    assert "429" in paths["/notifications/stream"]["get"]["responses"]
