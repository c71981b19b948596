"""Missions, priorities, todos, decisions and active docs through the gateway: the reference's
examples, every by-id endpoint, limits, roles and tenant isolation."""
import pytest

from tests.support import assert_error

from .conftest import events_of, workspace_id

MISSING = "0123456789abcdef01234567"


def make(client, path, body):
    r = client.post(client.W + "/pilotage/" + path, json=body)
    assert r.status_code == 201, r.text
    return r.json()


# ---------------------------------------------------------------- missions
def test_mission_reference_examples(owner, pilotage_db):
    r = owner.post(owner.W + "/pilotage/missions", json={"objective": "Implement billing module", "module": "billing"})
    assert r.status_code == 201, r.text
    m = r.json()
    assert len(m["id"]) == 24
    assert {k: m[k] for k in ("objective", "module", "status", "blockedReason")} == {
        "objective": "Implement billing module", "module": "billing", "status": "to_launch", "blockedReason": None}
    assert m["createdAt"].endswith("Z") and m["createdBy"] == owner.user_id

    r = owner.patch(owner.W + f"/pilotage/missions/{m['id']}", json={"status": "blocked", "blockedReason": "Waiting on API"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "blocked" and r.json()["blockedReason"] == "Waiting on API"
    assert owner.get(owner.W + f"/pilotage/missions/{m['id']}").json()["blockedReason"] == "Waiting on API"

    # leaving blocked clears the reason
    r = owner.patch(owner.W + f"/pilotage/missions/{m['id']}", json={"status": "in_progress"})
    assert r.status_code == 200 and r.json()["blockedReason"] is None and r.json()["status"] == "in_progress"

    ws_id = workspace_id(owner)
    created = events_of(pilotage_db, ws_id, "pilotage.mission.created")
    assert created[-1]["data"]["mission"]["id"] == m["id"]
    updated = events_of(pilotage_db, ws_id, "pilotage.mission.updated")
    assert updated[0]["data"]["changes"]["status"] == {"before": "to_launch", "after": "blocked"}
    assert updated[0]["actor"] == {"userId": owner.user_id, "via": "user"}


def test_mission_blocked_rules_and_limits(owner):
    W = owner.W + "/pilotage/missions"
    assert_error(owner.post(W, json={"module": "x"}), 400, "objective")
    assert_error(owner.post(W, json={"objective": ""}), 400)
    assert_error(owner.post(W, json={"objective": "x" * 501}), 400)
    assert owner.post(W, json={"objective": "x" * 500}).status_code == 201
    assert_error(owner.post(W, json={"objective": "o", "module": "m" * 101}), 400)
    assert_error(owner.post(W, json={"objective": "o", "status": "paused"}), 400)
    assert_error(owner.post(W, json={"objective": "o", "status": "blocked"}), 400, "blockedReason")
    assert_error(owner.post(W, json={"objective": "o", "unknown": 1}), 400)
    assert_error(owner.post(W, data="not json", headers={"Content-Type": "application/json"}), 400)
    m = make(owner, "missions", {"objective": "o"})
    P = f"{W}/{m['id']}"
    assert_error(owner.patch(P, json={"status": "blocked"}), 400, "blockedReason")
    assert_error(owner.patch(P, json={"status": "blocked", "blockedReason": "r" * 201}), 400)
    assert_error(owner.patch(P, json={"blockedReason": "not blocked"}), 400)
    assert owner.patch(P, json={"status": "blocked", "blockedReason": "r" * 200}).status_code == 200
    # still blocked: the reason cannot be cleared, but can be changed
    assert_error(owner.patch(P, json={"blockedReason": None}), 400)
    assert owner.patch(P, json={"blockedReason": "new reason"}).json()["blockedReason"] == "new reason"
    # reference: "ou null pour effacer" — with a status that leaves blocked
    r = owner.patch(P, json={"status": "done", "blockedReason": None})
    assert r.status_code == 200 and r.json()["blockedReason"] is None
    blocked = make(owner, "missions", {"objective": "b", "status": "blocked", "blockedReason": "why"})
    assert blocked["status"] == "blocked" and blocked["blockedReason"] == "why"


def test_missions_list_paginates_with_cursor(owner):
    ids = [make(owner, "missions", {"objective": f"m{i}"})["id"] for i in range(5)]
    r = owner.get(owner.W + "/pilotage/missions")
    assert r.status_code == 200 and [m["id"] for m in r.json()] == ids and "X-Next-Cursor" not in r.headers
    r = owner.get(owner.W + "/pilotage/missions?limit=2")
    assert [m["id"] for m in r.json()] == ids[:2]
    cursor = r.headers["X-Next-Cursor"]
    r = owner.get(owner.W + f"/pilotage/missions?limit=2&cursor={cursor}")
    assert [m["id"] for m in r.json()] == ids[2:4]
    r = owner.get(owner.W + f"/pilotage/missions?limit=2&cursor={r.headers['X-Next-Cursor']}")
    assert [m["id"] for m in r.json()] == ids[4:] and "X-Next-Cursor" not in r.headers
    assert_error(owner.get(owner.W + "/pilotage/missions?limit=0"), 400)
    assert_error(owner.get(owner.W + "/pilotage/missions?limit=501"), 400)
    assert_error(owner.get(owner.W + "/pilotage/missions?cursor=nope"), 400)
    owner.patch(owner.W + f"/pilotage/missions/{ids[1]}", json={"status": "done"})
    assert [m["id"] for m in owner.get(owner.W + "/pilotage/missions?status=done").json()] == [ids[1]]


def test_delete_mission_unlinks_its_todos_and_decisions(owner):
    m = make(owner, "missions", {"objective": "o"})
    t = make(owner, "todos", {"label": "t", "missionId": m["id"]})
    d = make(owner, "decisions", {"title": "d", "missionId": m["id"]})
    r = owner.delete(owner.W + f"/pilotage/missions/{m['id']}")
    assert r.status_code == 200 and r.json() == {"ok": True}
    assert_error(owner.get(owner.W + f"/pilotage/missions/{m['id']}"), 404)
    assert_error(owner.delete(owner.W + f"/pilotage/missions/{m['id']}"), 404)
    assert owner.get(owner.W + f"/pilotage/todos/{t['id']}").json()["missionId"] is None
    assert owner.get(owner.W + f"/pilotage/decisions/{d['id']}").json()["missionId"] is None


# ---------------------------------------------------------------- priorities, todos, decisions, docs
def test_priority_reference_example_and_crud(owner):
    p = make(owner, "priorities", {"label": "Ship billing MVP", "module": "billing"})
    assert (p["label"], p["module"], p["active"]) == ("Ship billing MVP", "billing", True)
    P = owner.W + f"/pilotage/priorities/{p['id']}"
    assert owner.get(P).json() == p
    r = owner.patch(P, json={"active": False, "order": 3})
    assert r.status_code == 200 and r.json()["active"] is False and r.json()["order"] == 3
    assert [x["id"] for x in owner.get(owner.W + "/pilotage/priorities?active=false").json()] == [p["id"]]
    assert_error(owner.post(owner.W + "/pilotage/priorities", json={"label": "l" * 301}), 400)
    assert_error(owner.post(owner.W + "/pilotage/priorities", json={}), 400, "label")
    assert_error(owner.patch(P, json={"active": "yes"}), 400)
    assert owner.delete(P).json() == {"ok": True}
    assert_error(owner.get(P), 404)


def test_todo_reference_example_links_and_status(owner, base):
    m = make(owner, "missions", {"objective": "Implement billing module"})
    p = make(owner, "priorities", {"label": "Ship billing MVP"})
    t = make(owner, "todos", {"label": "Write Stripe integration tests", "missionId": m["id"], "priorityId": p["id"]})
    assert (t["label"], t["status"], t["missionId"], t["priorityId"]) == (
        "Write Stripe integration tests", "todo", m["id"], p["id"])
    P = owner.W + f"/pilotage/todos/{t['id']}"
    r = owner.patch(P, json={"status": "done"})
    assert r.status_code == 200 and r.json()["status"] == "done"
    assert_error(owner.patch(P, json={"status": "finished"}), 400)
    # links must name something of this workspace
    assert_error(owner.post(owner.W + "/pilotage/todos", json={"label": "x", "missionId": MISSING}), 400, "missionId")
    assert_error(owner.post(owner.W + "/pilotage/todos", json={"label": "x", "priorityId": MISSING}), 400)
    assert_error(owner.post(owner.W + "/pilotage/todos", json={"label": "x", "missionId": "m-001"}), 400)
    assert_error(owner.patch(P, json={"missionId": MISSING}), 400)
    from tests.support import register
    other = register(base)
    foreign = make(other, "missions", {"objective": "theirs"})
    assert_error(owner.post(owner.W + "/pilotage/todos", json={"label": "x", "missionId": foreign["id"]}), 400)
    assert owner.patch(P, json={"missionId": None}).json()["missionId"] is None
    # filters
    make(owner, "todos", {"label": "other"})
    assert [x["id"] for x in owner.get(owner.W + f"/pilotage/todos?priorityId={p['id']}").json()] == [t["id"]]
    assert [x["id"] for x in owner.get(owner.W + "/pilotage/todos?status=done").json()] == [t["id"]]
    assert len(owner.get(owner.W + "/pilotage/todos").json()) == 2
    assert owner.delete(P).json() == {"ok": True}
    assert_error(owner.get(P), 404)


def test_decision_reference_example_and_crud(owner):
    d = make(owner, "decisions", {"title": "Use Stripe over custom billing",
                                  "impact": "Reduces dev time by 3 weeks, adds 2.9% transaction fee"})
    assert d["impact"].startswith("Reduces") and d["missionId"] is None
    P = owner.W + f"/pilotage/decisions/{d['id']}"
    assert owner.patch(P, json={"title": "Use Stripe"}).json()["title"] == "Use Stripe"
    assert_error(owner.patch(P, json={"title": ""}), 400)
    assert_error(owner.post(owner.W + "/pilotage/decisions", json={"title": "t" * 201}), 400)
    assert_error(owner.post(owner.W + "/pilotage/decisions", json={"impact": "no title"}), 400)
    assert_error(owner.post(owner.W + "/pilotage/decisions", json={"title": "t", "missionId": MISSING}), 400)
    assert [x["id"] for x in owner.get(owner.W + "/pilotage/decisions").json()] == [d["id"]]
    assert owner.delete(P).json() == {"ok": True}
    assert_error(owner.get(P), 404)


def test_doc_reference_example_and_crud(owner):
    d = make(owner, "docs", {"title": "Billing API Spec v2", "owner": "Jane Doe", "sourceType": "tech"})
    assert (d["title"], d["owner"], d["sourceType"]) == ("Billing API Spec v2", "Jane Doe", "tech")
    P = owner.W + f"/pilotage/docs/{d['id']}"
    assert owner.patch(P, json={"sourceType": "ops"}).json()["sourceType"] == "ops"
    assert_error(owner.patch(P, json={"sourceType": "legal"}), 400)
    assert_error(owner.post(owner.W + "/pilotage/docs", json={"title": "x", "owner": "o" * 101}), 400)
    assert [x["id"] for x in owner.get(owner.W + "/pilotage/docs?sourceType=ops").json()] == [d["id"]]
    assert owner.get(owner.W + "/pilotage/docs?sourceType=tech").json() == []
    assert owner.delete(P).json() == {"ok": True}
    assert_error(owner.get(P), 404)


# ---------------------------------------------------------------- roles
COLLECTIONS = [("missions", {"objective": "o"}, {"objective": "p"}),
               ("priorities", {"label": "l"}, {"label": "m"}),
               ("todos", {"label": "l"}, {"status": "done"}),
               ("decisions", {"title": "t"}, {"title": "u"}),
               ("docs", {"title": "t"}, {"title": "u"})]


@pytest.mark.parametrize("path,body,patch", COLLECTIONS)
def test_viewer_reads_but_cannot_write(owner, viewer, path, body, patch):
    item = make(owner, path, body)
    base = viewer.W + "/pilotage/" + path
    assert viewer.get(base).status_code == 200
    assert viewer.get(f"{base}/{item['id']}").json()["id"] == item["id"]
    assert_error(viewer.post(base, json=body), 403, "reviewer")
    assert_error(viewer.patch(f"{base}/{item['id']}", json=patch), 403)
    assert_error(viewer.delete(f"{base}/{item['id']}"), 403)
    # a viewer asking for something that does not exist learns nothing more than 404
    assert_error(viewer.patch(f"{base}/{MISSING}", json=patch), 404)


@pytest.mark.parametrize("path,body,patch", COLLECTIONS)
def test_reviewer_writes(owner, reviewer, path, body, patch):
    base = reviewer.W + "/pilotage/" + path
    item = make(reviewer, path, body)
    assert reviewer.patch(f"{base}/{item['id']}", json=patch).status_code == 200
    assert reviewer.delete(f"{base}/{item['id']}").json() == {"ok": True}


# ---------------------------------------------------------------- tenant isolation
@pytest.mark.parametrize("path,body,patch", COLLECTIONS + [("actions", None, {"explanation": "e"})])
def test_ids_of_another_workspace_are_404(owner, outsider, path, body, patch):
    if path == "actions":
        r = owner.post(owner.W + "/pilotage/actions/propose", json={"actionType": "create_todo", "explanation": "e"})
        assert r.status_code == 201
        item = r.json()
    else:
        item = make(owner, path, body)
    base = outsider.W + "/pilotage/" + path
    assert_error(outsider.get(f"{base}/{item['id']}"), 404)
    assert_error(outsider.patch(f"{base}/{item['id']}", json=patch), 404)
    assert_error(outsider.delete(f"{base}/{item['id']}"), 404)
    assert item["id"] not in [x["id"] for x in outsider.get(base).json()]
    # malformed ids are 404 too
    assert_error(owner.get(owner.W + f"/pilotage/{path}/not-an-id"), 404)
    assert_error(owner.patch(owner.W + f"/pilotage/{path}/not-an-id", json=patch), 404)
    assert_error(owner.delete(owner.W + f"/pilotage/{path}/not-an-id"), 404)
    # the owner's item is untouched
    assert owner.get(owner.W + f"/pilotage/{path}/{item['id']}").status_code == 200


def test_non_member_cannot_reach_the_workspace(owner, outsider):
    assert_error(outsider.get(owner.W + "/pilotage/state"), 404)
    assert_error(outsider.post(owner.W + "/pilotage/missions", json={"objective": "o"}), 404)


@pytest.mark.parametrize("path,body", [("priorities", {"label": "l"}), ("todos", {"label": "l"}),
                                       ("decisions", {"title": "t"}), ("docs", {"title": "t"})])
def test_every_list_pages_with_limit_and_cursor(owner, path, body):
    ids = [make(owner, path, body)["id"] for _ in range(3)]
    L = owner.W + "/pilotage/" + path
    r = owner.get(L + "?limit=2")
    assert [x["id"] for x in r.json()] == ids[:2]
    r = owner.get(L + f"?limit=2&cursor={r.headers['X-Next-Cursor']}")
    assert [x["id"] for x in r.json()] == ids[2:] and "X-Next-Cursor" not in r.headers
    assert_error(owner.get(L + "?limit=abc"), 400)
    assert_error(owner.get(L + "?page=2"), 400)


def test_a_pilotage_role_change_takes_effect(owner, viewer):
    from tests.support import wait_until
    assert_error(viewer.post(viewer.W + "/pilotage/missions", json={"objective": "o"}), 403)
    r = owner.patch(owner.W + f"/members/{viewer.user_id}", json={"pilotageRole": "reviewer"})
    assert r.status_code == 200, r.text
    wait_until(lambda: viewer.post(viewer.W + "/pilotage/missions", json={"objective": "o"}).status_code == 201,
               timeout=10, message="reviewer may write")
    assert viewer.get(viewer.W + "/pilotage/state").json()["usageContext"]["role"] == "reviewer"
    owner.patch(owner.W + f"/members/{viewer.user_id}", json={"pilotageRole": "viewer"})
    wait_until(lambda: viewer.post(viewer.W + "/pilotage/missions", json={"objective": "o"}).status_code == 403,
               timeout=10, message="viewer again")
