"""Missions through the gateway with the local planner: an autonomous run on a real card, its log and SSE
stream (content, resumption, end), cancel (enforced), limits and budgets, validation, isolation."""
from __future__ import annotations

from tests.support import EventCapture, assert_error, register, team, wait_until

from .conftest import (
    MISSING,
    comments,
    get_card,
    make_agent,
    make_card,
    make_project,
    mission,
    sse,
    start,
    wait_status,
    worker_with,
)


def test_an_autonomous_mission_works_the_card(stack, owner, project, card):
    agent = make_agent(owner, name="Planner")
    with EventCapture(stack, "boards.>") as events:
        m = start(owner, agent, card, prompt="Urgent: break this card down")
        assert m["status"] == "queued" and m["cardId"] == card["id"] and m["projectId"] == project["id"]
        done = wait_status(owner, m)
        assert done["status"] == "completed", done
        event = events.wait_for(lambda e: e["type"] == "boards.card.updated")
    board_card = get_card(owner, project, card)
    assert [i["title"] for i in board_card["checklist"]] == ["Write the API spec", "Implement the endpoints",
                                                            "Add integration tests"]
    assert board_card["priority"] == "high"
    notes = comments(owner, project, card)
    assert len(notes) == 1 and "Planner" in notes[0]["content"] and "Billing API" in notes[0]["content"]
    assert event["actor"]["via"] == "agent" and event["actor"]["userId"] == owner.user_id
    assert done["usage"]["steps"] == 6 and done["usage"]["tokens"] > 0
    assert done["result"]["applied"] == 5 and done["finishedAt"] and done["startedAt"]
    kinds = [s["type"] for s in done["steps"]]
    assert kinds[:3] == ["status", "status", "thought"] and kinds[-1] == "status", [(s["seq"], s["type"], s["at"]) for s in done["steps"]]
    assert [s["seq"] for s in done["steps"]] == list(range(1, len(kinds) + 1))
    assert [s["data"]["status"] for s in done["steps"] if s["type"] == "status"] == ["queued", "running", "completed"]
    calls = [s["data"]["tool"] for s in done["steps"] if s["type"] == "tool_call"]
    assert calls == ["read_card", "update_card", "checklist", "checklist", "checklist", "comment"]
    assert all(s["data"]["outcome"] in ("read", "applied") for s in done["steps"] if s["type"] == "tool_result")


def test_a_done_checklist_moves_the_card_to_the_last_column(owner, project):
    card = make_card(owner, project, checklist=[{"title": "One", "done": True}, {"title": "Two", "done": True}])
    agent = make_agent(owner)
    assert wait_status(owner, start(owner, agent, card, prompt="Tidy up"))["status"] == "completed"
    assert get_card(owner, project, card)["columnId"] == project["columns"][-1]["id"]


def test_the_stream_sends_every_step_in_order_ends_and_resumes(owner, card):
    m = start(owner, make_agent(owner), card)
    events = sse(owner, m)
    assert events[0]["event"] == "status" and events[0]["data"]["data"]["status"] == "queued"
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["event"] == "status" and events[-1]["data"]["data"]["status"] == "completed"
    assert {"thought", "tool_call", "tool_result", "result"} <= {e["event"] for e in events}
    assert all(e["data"]["type"] == e["event"] and e["data"]["seq"] == e["id"] for e in events)
    logged = [(s["seq"], s["type"]) for s in mission(owner, m)["steps"]]
    assert [(e["id"], e["event"]) for e in events] == logged
    resumed = sse(owner, m, last_event_id=4)
    assert [e["id"] for e in resumed] == list(range(5, len(events) + 1))
    assert resumed == events[4:]
    r = owner.get(f"{owner.W}/missions/{m['id']}/stream", params={"lastEventId": len(events) - 1}, stream=True)
    assert "completed" in r.text and r.text.count("event: ") == 1


def test_cancel_is_enforced(stack, owner, project):
    card = make_card(owner, project, description="\n".join(f"- Step number {n}" for n in range(1, 9)))
    with worker_with(stack, AGENTS_LOCAL_STEP_DELAY_MS=600):
        agent = make_agent(owner)
        m = start(owner, agent, card)
        wait_until(lambda: any(s["type"] == "thought" for s in mission(owner, m)["steps"]), timeout=30)
        r = owner.post(f"{owner.W}/missions/{m['id']}/cancel")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "cancelled"
        frozen = get_card(owner, project, card)
        frozen_comments = comments(owner, project, card)
        # the run notices at its next step and stops; nothing reached the board after the cancel answered
        stopped = wait_until(lambda: [s for s in mission(owner, m)["steps"] if s["data"].get("outcome") == "stopped"],
                             timeout=30, message="the run stopped")
        assert stopped
        after = get_card(owner, project, card)
        assert after["checklist"] == frozen["checklist"] and after["priority"] == frozen["priority"]
        assert after["updatedAt"] == frozen["updatedAt"] and comments(owner, project, card) == frozen_comments
        assert len(after["checklist"]) < 8
        assert mission(owner, m)["status"] == "cancelled"
        assert_error(owner.post(f"{owner.W}/missions/{m['id']}/cancel"), 409)
        events = sse(owner, m)
        assert events[-1]["data"]["data"]["status"] == "cancelled"


def test_cancel_of_a_finished_mission_is_409(owner, card):
    m = start(owner, make_agent(owner), card)
    wait_status(owner, m)
    assert_error(owner.post(f"{owner.W}/missions/{m['id']}/cancel"), 409)


def test_mission_validation(owner, card, base):
    agent = make_agent(owner)
    path = f"{owner.W}/agents/{agent['id']}/missions"
    for body in ({}, {"cardId": card["id"]}, {"prompt": "x"}, {"cardId": "nope", "prompt": "x"},
                 {"cardId": card["id"], "prompt": ""}, {"cardId": card["id"], "prompt": "x", "extra": 1},
                 {"cardId": card["id"], "prompt": "x", "budget": {"maxSteps": 0}},
                 {"cardId": card["id"], "prompt": "x", "budget": {"maxTokens": "lots"}},
                 {"cardId": card["id"], "prompt": "x", "budget": {"maxMoney": 3}}):
        assert_error(owner.post(path, json=body), 400)
    assert_error(owner.post(path, json={"cardId": MISSING, "prompt": "x"}), 404, "card")
    stranger = register(base)
    theirs = make_card(stranger, make_project(stranger))
    assert_error(owner.post(path, json={"cardId": theirs["id"], "prompt": "x"}), 404, "card")
    owner.patch(f"{owner.W}/agents/{agent['id']}", json={"enabled": False})
    assert_error(owner.post(path, json={"cardId": card["id"], "prompt": "x"}), 409, "disabled")
    for bad in (MISSING, "not-an-id"):
        assert_error(owner.get(f"{owner.W}/missions/{bad}"), 404)
        assert_error(owner.post(f"{owner.W}/missions/{bad}/cancel"), 404)
        assert_error(owner.get(f"{owner.W}/missions/{bad}/stream"), 404)
        assert_error(owner.get(f"{owner.W}/missions/{bad}/proposals"), 404)


def test_any_member_runs_missions(base, owner, card):
    agent = make_agent(owner)
    member = team(base, owner)
    m = start(member, agent, card)
    assert wait_status(member, m)["createdBy"] == member.user_id


def test_missions_per_day_limit(owner, card):
    agent = make_agent(owner, limits={"maxMissionsPerDay": 2}, tools=["read_card"])
    start(owner, agent, card)
    start(owner, agent, card)
    r = owner.post(f"{owner.W}/agents/{agent['id']}/missions", json={"cardId": card["id"], "prompt": "x"})
    assert_error(r, 429, "maxMissionsPerDay")
    assert int(r.headers["Retry-After"]) > 0


def test_step_limit_and_budgets_fail_with_budget_exceeded(owner, card):
    limited = make_agent(owner, limits={"maxStepsPerMission": 2})
    m = wait_status(owner, start(owner, limited, card))
    assert (m["status"], m["error"]) == ("failed", "budget_exceeded") and m["usage"]["steps"] == 2
    assert m["budget"]["maxSteps"] == 2
    agent = make_agent(owner)
    capped = start(owner, agent, card, budget={"maxSteps": 500 // 100})
    assert capped["budget"]["maxSteps"] == 5
    over = start(owner, agent, card, budget={"maxSteps": 150})
    assert over["budget"]["maxSteps"] == 20                  # capped by the agent's limits
    m = wait_status(owner, start(owner, agent, card, budget={"maxTokens": 10}))
    assert (m["status"], m["error"]) == ("failed", "budget_exceeded") and "Token" in m["errorMessage"]
    m = wait_status(owner, start(owner, agent, card, budget={"maxSteps": 1}))
    assert (m["status"], m["error"]) == ("failed", "budget_exceeded") and m["usage"]["steps"] == 1
    assert m["steps"][-1]["data"]["status"] == "failed"
    assert any(s["type"] == "error" and s["data"]["error"] == "budget_exceeded" for s in m["steps"])


def test_missions_list_newest_first_with_a_cursor(owner, card):
    agent = make_agent(owner, tools=["read_card"])
    ids = [start(owner, agent, card)["id"] for _ in range(3)]
    r = owner.get(f"{owner.W}/agents/{agent['id']}/missions", params={"limit": 2})
    assert r.status_code == 200 and [x["id"] for x in r.json()] == ids[::-1][:2]
    rest = owner.get(f"{owner.W}/agents/{agent['id']}/missions", params={"limit": 2, "cursor": r.headers["X-Next-Cursor"]})
    assert [x["id"] for x in rest.json()] == ids[:1] and "X-Next-Cursor" not in rest.headers
    assert_error(owner.get(f"{owner.W}/agents/{agent['id']}/missions", params={"cursor": "garbage"}), 400)
    assert_error(owner.get(f"{owner.W}/agents/{agent['id']}/missions", params={"limit": 0}), 400)
    for x in ids:
        wait_status(owner, {"id": x})
    done = owner.get(f"{owner.W}/agents/{agent['id']}/missions", params={"status": "completed"}).json()
    assert {x["id"] for x in done} == set(ids)


def test_another_orgs_mission_is_invisible(base, owner, card):
    m = start(owner, make_agent(owner), card)
    stranger = register(base)
    for method, path in (("GET", ""), ("POST", "/cancel"), ("GET", "/stream"), ("GET", "/proposals")):
        assert_error(stranger.request(method, f"{stranger.W}/missions/{m['id']}{path}"), 404)
    assert wait_status(owner, m)["status"] == "completed"


def test_deleting_the_agent_deletes_its_missions(owner, card):
    agent = make_agent(owner)
    m = start(owner, agent, card)
    wait_status(owner, m)
    owner.delete(f"{owner.W}/agents/{agent['id']}")
    assert_error(owner.get(f"{owner.W}/missions/{m['id']}"), 404)


def test_a_stream_ends_when_its_mission_is_deleted(stack, owner, card):
    agent = make_agent(owner, autonomyMode="supervised")
    m = start(owner, agent, card)
    wait_status(owner, m, "awaiting_approval")
    r = owner.get(f"{owner.W}/missions/{m['id']}/stream", stream=True, timeout=30)
    lines = r.iter_lines(chunk_size=1, decode_unicode=True)
    assert next(line for line in lines if line.startswith("event: "))       # the stream is open
    owner.delete(f"{owner.W}/agents/{agent['id']}")
    rest = list(lines)                                                       # ends at its next safety poll
    assert not any("completed" in line for line in rest)
