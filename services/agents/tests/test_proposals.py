"""Supervised and approval agents, tool policies, proposals (preview, approve, reject, roles, isolation),
cancel with pending proposals, and the deletion of a workspace's agents data."""
from __future__ import annotations

from tests.support import EventCapture, assert_error, register, service_db, team, wait_until

from .conftest import (
    MISSING,
    comments,
    get_card,
    make_agent,
    make_card,
    proposals,
    sse,
    start,
    wait_status,
)

TITLES = ["Write the API spec", "Implement the endpoints", "Add integration tests"]


def approve(client, p):
    r = client.post(f"{client.W}/proposals/{p['id']}/approve")
    assert r.status_code == 200, r.text
    return r.json()


def reject(client, p, reason=None):
    r = client.post(f"{client.W}/proposals/{p['id']}/reject", json={"reason": reason} if reason else None)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_supervised_agent_changes_nothing_until_approved(stack, owner, project, card):
    agent = make_agent(owner, autonomyMode="supervised")
    with EventCapture(stack, "agents.>") as events:
        m = start(owner, agent, card)
        waiting = wait_status(owner, m, "awaiting_approval")
        created = events.wait_for(lambda e: e["type"] == "agents.proposal.created")
        events.wait_for(lambda e: e["type"] == "agents.mission.updated"
                        and e["data"]["mission"]["status"] == "awaiting_approval")
    assert created["data"]["mission"]["id"] == m["id"] and created["actor"]["via"] == "agent"
    rows = proposals(owner, m)
    assert [p["kind"] for p in rows] == ["checklist", "checklist", "checklist", "comment"]
    assert all(p["status"] == "pending" and p["applyState"] is None for p in rows)
    first = rows[0]
    assert first["payload"] == {"tool": "checklist", "arguments": {"cardId": card["id"], "action": "add",
                                                                   "title": TITLES[0]}}
    assert first["preview"] == {"checklist": {"before": [], "after": [{"title": TITLES[0], "done": False}]}}
    assert rows[3]["preview"]["comments"] == {"before": 0, "after": 1}
    assert get_card(owner, project, card)["checklist"] == [] and comments(owner, project, card) == []
    assert waiting["result"]["proposed"] == 4 and waiting["result"]["applied"] == 0

    approved = approve(owner, first)
    assert approved["status"] == "approved" and approved["decidedBy"] == owner.user_id
    wait_until(lambda: [i["title"] for i in get_card(owner, project, card)["checklist"]] == TITLES[:1], timeout=20)
    assert_error(owner.post(f"{owner.W}/proposals/{first['id']}/approve"), 409)
    assert_error(owner.post(f"{owner.W}/proposals/{first['id']}/reject"), 409)
    assert wait_status(owner, m, ("awaiting_approval",))["status"] == "awaiting_approval"
    rejected = reject(owner, rows[1], reason="Not needed")
    assert rejected["status"] == "rejected" and rejected["reason"] == "Not needed"
    approve(owner, rows[2])
    approve(owner, rows[3])
    done = wait_status(owner, m)
    assert done["status"] == "completed", done
    assert [i["title"] for i in get_card(owner, project, card)["checklist"]] == [TITLES[0], TITLES[2]]
    assert len(comments(owner, project, card)) == 1
    final = {p["id"]: p for p in proposals(owner, m)}
    assert final[first["id"]]["applyState"] == "applied" and final[rows[1]["id"]]["applyState"] is None
    assert [e["event"] for e in sse(owner, m)].count("proposal") == 8     # 4 made, 4 decided
    assert_error(owner.post(f"{owner.W}/proposals/{rows[1]['id']}/approve"), 409)


def test_an_approval_agent_waits_for_one_approval_of_its_result(owner, project, card):
    agent = make_agent(owner, autonomyMode="approval")
    m = start(owner, agent, card, prompt="Urgent, please")
    wait_status(owner, m, "awaiting_approval")
    [bundle] = proposals(owner, m)
    assert bundle["kind"] == "changes"
    assert [c["tool"] for c in bundle["payload"]["changes"]] == ["update_card", "checklist", "checklist", "checklist",
                                                                "comment"]
    assert bundle["preview"]["1.update_card.priority"] == {"before": "medium", "after": "high"}
    assert "4.checklist.checklist" in bundle["preview"]
    unchanged = get_card(owner, project, card)
    assert unchanged["priority"] == "medium" and unchanged["checklist"] == []
    approve(owner, bundle)
    assert wait_status(owner, m)["status"] == "completed"
    after = get_card(owner, project, card)
    assert after["priority"] == "high" and [i["title"] for i in after["checklist"]] == TITLES
    assert len(comments(owner, project, card)) == 1


def test_a_rejected_result_applies_nothing(owner, project, card):
    m = start(owner, make_agent(owner, autonomyMode="approval"), card)
    wait_status(owner, m, "awaiting_approval")
    reject(owner, proposals(owner, m)[0], reason="no")
    assert wait_status(owner, m)["status"] == "completed"
    assert get_card(owner, project, card)["checklist"] == [] and comments(owner, project, card) == []


def test_tool_policies_override_the_mode(owner, project):
    card = make_card(owner, project)
    autonomous = make_agent(owner, toolPolicies={"comment": "approve", "checklist": "deny"})
    m = start(owner, autonomous, card)
    waiting = wait_status(owner, m, "awaiting_approval")
    assert "checklist" not in [s["data"]["tool"] for s in waiting["steps"] if s["type"] == "tool_call"]
    assert [p["kind"] for p in proposals(owner, m)] == ["comment"]
    assert get_card(owner, project, card)["checklist"] == [] and comments(owner, project, card) == []

    card2 = make_card(owner, project)
    supervised = make_agent(owner, autonomyMode="supervised", toolPolicies={"checklist": "auto"})
    m2 = start(owner, supervised, card2)
    wait_status(owner, m2, "awaiting_approval")
    assert [i["title"] for i in get_card(owner, project, card2)["checklist"]] == TITLES    # applied directly
    assert [p["kind"] for p in proposals(owner, m2)] == ["comment"]                          # the rest proposed

    card3 = make_card(owner, project)
    approval = make_agent(owner, autonomyMode="approval", toolPolicies={"comment": "auto"})
    m3 = start(owner, approval, card3)
    wait_status(owner, m3, "awaiting_approval")
    assert len(comments(owner, project, card3)) == 1
    [bundle] = proposals(owner, m3)
    assert [c["tool"] for c in bundle["payload"]["changes"]] == ["checklist"] * 3

    card4 = make_card(owner, project)
    narrow = make_agent(owner, tools=["read_card", "comment"])
    m4 = wait_status(owner, start(owner, narrow, card4))
    assert m4["status"] == "completed"
    assert [s["data"]["tool"] for s in m4["steps"] if s["type"] == "tool_call"] == ["read_card", "comment"]
    assert get_card(owner, project, card4)["checklist"] == []


def test_reviewing_needs_pilotage_reviewer_and_proposals_are_isolated(base, owner, card):
    m = start(owner, make_agent(owner, autonomyMode="supervised"), card)
    wait_status(owner, m, "awaiting_approval")
    first, second = proposals(owner, m)[:2]
    viewer = team(base, owner)
    assert viewer.get(f"{owner.W}/missions/{m['id']}/proposals").status_code == 200
    assert_error(viewer.post(f"{owner.W}/proposals/{first['id']}/approve"), 403)
    assert_error(viewer.post(f"{owner.W}/proposals/{first['id']}/reject"), 403)
    reviewer = team(base, owner, pilotage_role="reviewer")
    assert reviewer.post(f"{owner.W}/proposals/{first['id']}/reject", json={}).status_code == 200
    assert_error(owner.post(f"{owner.W}/proposals/{second['id']}/reject", json={"reason": "x" * 501}), 400)
    assert_error(owner.post(f"{owner.W}/proposals/{second['id']}/reject", json={"why": "x"}), 400)
    assert_error(owner.post(f"{owner.W}/proposals/{second['id']}/approve", json={"force": True}), 400)
    for bad in (MISSING, "nope"):
        assert_error(owner.post(f"{owner.W}/proposals/{bad}/approve"), 404)
        assert_error(owner.post(f"{owner.W}/proposals/{bad}/reject"), 404)
    stranger = register(base)
    assert_error(stranger.post(f"{stranger.W}/proposals/{second['id']}/approve"), 404)
    assert_error(stranger.post(f"{stranger.W}/proposals/{second['id']}/reject"), 404)
    assert_error(stranger.get(f"{stranger.W}/missions/{m['id']}/proposals"), 404)
    assert proposals(owner, m)[1]["status"] == "pending"


def test_cancel_rejects_the_pending_proposals(owner, project, card):
    m = start(owner, make_agent(owner, autonomyMode="supervised"), card)
    wait_status(owner, m, "awaiting_approval")
    pending = proposals(owner, m)
    r = owner.post(f"{owner.W}/missions/{m['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert {(p["status"], p["reason"]) for p in proposals(owner, m)} == {("rejected", "cancelled")}
    assert_error(owner.post(f"{owner.W}/proposals/{pending[0]['id']}/approve"), 409)
    assert get_card(owner, project, card)["checklist"] == []


def test_deleting_a_workspace_deletes_its_agents_data(stack, base):
    user = register(base)
    r = user.post(f"/orgs/{user.org}/workspaces", json={"name": "Doomed", "slug": "doomed"})
    assert r.status_code == 201, r.text
    ws = r.json()
    user.W = f"/orgs/{user.org}/workspaces/doomed"
    project = user.post(user.W + "/projects", json={"name": "P", "templateId": "kanban"}).json()
    card = make_card(user, project)
    agent = make_agent(user, autonomyMode="supervised")
    m = start(user, agent, card)
    wait_status(user, m, "awaiting_approval")
    draft = user.post(user.W + "/project-drafts", json={"name": "Doomed plan"})
    assert draft.status_code == 201, draft.text
    db = service_db(stack, "agents")
    collections = ("agents", "missions", "steps", "proposals", "drafts", "mission_days")
    assert all(db[c].count_documents({"workspaceId": ws["id"]}) for c in collections)
    assert user.delete(user.W).status_code == 200
    wait_until(lambda: not any(db[c].count_documents({"workspaceId": ws["id"]}) for c in collections), timeout=20,
               message="the workspace's agents data deleted")


def test_deleting_an_org_deletes_its_agents_data_and_only_its(stack, base):
    import uuid

    boss = register(base)
    slug = f"org-{uuid.uuid4().hex[:8]}"
    assert boss.post("/organizations", json={"name": "Org", "slug": slug}).status_code == 201
    r = boss.post(f"/orgs/{slug}/workspaces", json={"name": "WS", "slug": "ws-one"})
    assert r.status_code == 201, r.text
    ws_id = r.json()["id"]
    home = boss.W
    boss.W = f"/orgs/{slug}/workspaces/ws-one"
    project = boss.post(boss.W + "/projects", json={"name": "P", "templateId": "kanban"}).json()
    m = start(boss, make_agent(boss, autonomyMode="supervised"), make_card(boss, project))
    wait_status(boss, m, "awaiting_approval")
    assert boss.post(boss.W + "/project-drafts", json={"name": "Org plan"}).status_code == 201
    boss.W = home
    kept = make_agent(boss)                                   # in the personal org: stays
    db = service_db(stack, "agents")
    collections = ("agents", "missions", "steps", "proposals", "drafts", "mission_days")
    assert all(db[c].count_documents({"workspaceId": ws_id}) for c in collections)
    assert boss.delete(f"/organizations/{slug}").status_code == 200
    wait_until(lambda: not any(db[c].count_documents({"workspaceId": ws_id}) for c in collections), timeout=20,
               message="the org's agents data deleted")
    assert boss.get(f"{boss.W}/agents/{kept['id']}").status_code == 200
