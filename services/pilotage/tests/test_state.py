"""GET …/pilotage/state under each profile, intent and detailLevel; the cycle; roles."""
import pytest

from tests.support import assert_error

STATE_KEYS = ["cycle", "contractVersion", "missions", "activePriorities", "todos", "decisions", "activeDocs",
              "usageContext"]


def make(client, path, body):
    r = client.post(client.W + "/pilotage/" + path, json=body)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def seeded(owner):
    """A workspace with missions in every status, linked todos, decisions, priorities and docs."""
    m = {s: make(owner, "missions", {"objective": f"mission {s}", "module": "core"}) for s in ("to_launch", "in_progress", "done")}
    m["blocked"] = make(owner, "missions", {"objective": "mission blocked", "status": "blocked",
                                            "blockedReason": "Waiting on API"})
    for s in ("in_progress", "done"):
        owner.patch(owner.W + f"/pilotage/missions/{m[s]['id']}", json={"status": s})
    p1 = make(owner, "priorities", {"label": "second", "order": 2})
    p0 = make(owner, "priorities", {"label": "first", "order": 1})
    inactive = make(owner, "priorities", {"label": "old", "active": False})
    t = {}
    for s in ("done", "todo", "blocked", "in_progress"):
        t[s] = make(owner, "todos", {"label": f"todo {s}", "status": s, "missionId": m["in_progress"]["id"],
                                     "priorityId": p0["id"]})
    loose = make(owner, "todos", {"label": "loose"})
    d_old = make(owner, "decisions", {"title": "old decision", "missionId": m["in_progress"]["id"]})
    d_new = make(owner, "decisions", {"title": "new decision", "impact": "big"})
    doc = make(owner, "docs", {"title": "Billing API Spec v2", "owner": "Jane Doe", "sourceType": "tech"})
    return {"m": m, "p": [p0, p1], "inactive": inactive, "t": t, "loose": loose, "d": [d_old, d_new], "doc": doc}


def state(client, **params):
    r = client.get(client.W + "/pilotage/state", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_default_state_has_the_reference_shape(owner, seeded):
    s = state(owner)
    assert list(s) == STATE_KEYS
    assert s["cycle"] == "v1" and s["contractVersion"] == 7
    assert s["usageContext"] == {"profile": "pilotage", "role": "owner", "intent": None, "detailLevel": "standard"}
    m = seeded["m"]
    # profile pilotage: every mission, blocked first, then in progress, to launch, done
    assert [x["id"] for x in s["missions"]] == [m[k]["id"] for k in ("blocked", "in_progress", "to_launch", "done")]
    assert s["missions"][0] == {"id": m["blocked"]["id"], "objective": "mission blocked", "module": None,
                                "status": "blocked", "blockedReason": "Waiting on API"}
    # only active priorities, by order
    assert [p["label"] for p in s["activePriorities"]] == ["first", "second"]
    assert [t["status"] for t in s["todos"]] == ["blocked", "in_progress", "todo", "todo", "done"]
    todo = next(t for t in s["todos"] if t["id"] == seeded["t"]["todo"]["id"])
    assert todo == {"id": seeded["t"]["todo"]["id"], "label": "todo todo", "status": "todo",
                    "missionId": m["in_progress"]["id"], "priorityId": seeded["p"][0]["id"]}
    assert [d["title"] for d in s["decisions"]] == ["new decision", "old decision"]
    assert s["activeDocs"] == [{"id": seeded["doc"]["id"], "title": "Billing API Spec v2", "owner": "Jane Doe",
                                "sourceType": "tech"}]


def test_execution_profile_puts_open_work_first(owner, seeded):
    s = state(owner, profile="execution")
    m = seeded["m"]
    assert [x["id"] for x in s["missions"]] == [m[k]["id"] for k in ("in_progress", "blocked", "to_launch")]
    assert [t["status"] for t in s["todos"]] == ["in_progress", "todo", "todo", "blocked"]
    assert s["usageContext"]["profile"] == "execution"


def test_revue_profile_orders_by_last_change(owner, seeded):
    # touch the to_launch mission last: it comes first
    owner.patch(owner.W + f"/pilotage/missions/{seeded['m']['to_launch']['id']}", json={"module": "touched"})
    s = state(owner, profile="revue")
    assert s["missions"][0]["id"] == seeded["m"]["to_launch"]["id"]
    assert len(s["missions"]) == 4 and len(s["todos"]) == 5
    assert s["todos"][0]["id"] == seeded["loose"]["id"]


@pytest.mark.parametrize("intent,missions,todos", [
    ("weekly_review", None, None),
    ("daily_execution", ["in_progress", "blocked"], ["in_progress", "todo", "todo", "blocked"]),
    ("sprint_planning", ["to_launch", "in_progress", "blocked"], ["todo", "todo", "blocked", "in_progress"]),
    ("context_only", ["blocked", "in_progress", "to_launch", "done"], []),
])
def test_intents_filter_and_order(owner, seeded, intent, missions, todos):
    s = state(owner, intent=intent)
    assert s["usageContext"] == {"profile": "pilotage", "role": "owner", "intent": intent, "detailLevel": "standard"}
    if missions is None:  # weekly review: everything, most recent change first
        assert len(s["missions"]) == 4 and len(s["todos"]) == 5
        assert s["missions"][0]["id"] == seeded["m"]["done"]["id"]  # the last one patched
    else:
        assert [x["id"] for x in s["missions"]] == [seeded["m"][k]["id"] for k in missions]
        assert [t["status"] for t in s["todos"]] == todos
    assert len(s["decisions"]) == 2 and len(s["activePriorities"]) == 2 and len(s["activeDocs"]) == 1


def test_minimal_detail_keeps_ids_labels_and_statuses(owner, seeded):
    s = state(owner, detailLevel="minimal")
    assert all(set(m) == {"id", "objective", "status"} for m in s["missions"])
    assert all(set(t) == {"id", "label", "status"} for t in s["todos"])
    assert all(set(p) == {"id", "label"} for p in s["activePriorities"])
    assert all(set(d) == {"id", "title"} for d in s["decisions"] + s["activeDocs"])
    assert s["usageContext"]["detailLevel"] == "minimal"


def test_detailed_adds_each_missions_todos_and_decisions(owner, seeded):
    s = state(owner, detailLevel="detailed", profile="execution")
    busy = next(m for m in s["missions"] if m["id"] == seeded["m"]["in_progress"]["id"])
    assert sorted(t["id"] for t in busy["todos"]) == sorted(t["id"] for t in seeded["t"].values())
    assert [d["id"] for d in busy["decisions"]] == [seeded["d"][0]["id"]]
    assert busy["createdAt"].endswith("Z") and "updatedAt" in busy
    other = next(m for m in s["missions"] if m["id"] == seeded["m"]["to_launch"]["id"])
    assert other["todos"] == [] and other["decisions"] == []
    # context_only hides the todo list, but a detailed mission still carries its todos
    s = state(owner, detailLevel="detailed", intent="context_only")
    assert s["todos"] == []
    busy = next(m for m in s["missions"] if m["id"] == seeded["m"]["in_progress"]["id"])
    assert len(busy["todos"]) == 4


def test_invalid_choices_are_400(owner):
    assert_error(owner.get(owner.W + "/pilotage/state?profile=boss"), 400, "profile")
    assert_error(owner.get(owner.W + "/pilotage/state?intent=party"), 400, "intent")
    assert_error(owner.get(owner.W + "/pilotage/state?detailLevel=huge"), 400, "detailLevel")
    assert_error(owner.get(owner.W + "/pilotage/state?unknown=1"), 400)


def test_usage_context_echoes_the_callers_role(owner, viewer, reviewer):
    assert state(viewer)["usageContext"]["role"] == "viewer"
    assert state(reviewer, profile="revue", intent="weekly_review")["usageContext"] == {
        "profile": "revue", "role": "reviewer", "intent": "weekly_review", "detailLevel": "standard"}


def test_empty_workspace_state(owner):
    s = state(owner)
    assert s["missions"] == [] and s["todos"] == [] and s["activePriorities"] == [] and s["cycle"] == "v1"


def test_cycle_is_set_by_the_pilotage_owner(owner, reviewer, viewer, outsider):
    r = owner.patch(owner.W + "/pilotage/state", json={"cycle": "v8"})
    assert r.status_code == 200 and r.json()["cycle"] == "v8"
    assert state(viewer)["cycle"] == "v8"
    assert state(outsider)["cycle"] == "v1"  # per workspace
    assert_error(reviewer.patch(owner.W + "/pilotage/state", json={"cycle": "v9"}), 403)
    assert_error(viewer.patch(owner.W + "/pilotage/state", json={"cycle": "v9"}), 403)
    assert_error(owner.patch(owner.W + "/pilotage/state", json={"cycle": ""}), 400)
    assert_error(owner.patch(owner.W + "/pilotage/state", json={"cycle": "c" * 51}), 400)
    assert_error(owner.patch(owner.W + "/pilotage/state", json={}), 400)


def test_state_is_scoped_to_the_workspace(owner, outsider, seeded):
    assert state(outsider)["missions"] == []
