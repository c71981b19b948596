"""A worker that dies mid-run leaves the mission recoverable: resumed by another worker (its conversation rebuilt
from the log, nothing applied twice), or failed `worker_lost` when it died while applying a change."""
from __future__ import annotations

import signal
import time

from tests.support import service_db, wait_until

from .conftest import comments, get_card, make_agent, make_card, mission, start, wait_status, worker_with


def test_a_mission_whose_worker_is_killed_is_resumed_by_another(stack, owner, project):
    card = make_card(owner, project)
    with worker_with(stack, AGENTS_LOCAL_STEP_DELAY_MS=1500, AGENTS_RUN_LEASE_S=2):
        agent = make_agent(owner)
        m = start(owner, agent, card)
        wait_until(lambda: any(s["type"] == "tool_result" and s["data"]["tool"] == "read_card"
                               for s in mission(owner, m)["steps"]), timeout=30, message="the card read")
        stack.kill("agents", "worker", signal.SIGKILL)          # during the planner's next turn
        assert mission(owner, m)["status"] == "running"
        stack.env["AGENTS_LOCAL_STEP_DELAY_MS"] = "0"
        stack.spawn("agents", "worker")
        done = wait_status(owner, m, timeout=60)
    assert done["status"] == "completed", done
    assert any(s["type"] == "log" and "resumed" in s["data"]["message"] for s in done["steps"])
    board_card = get_card(owner, project, card)
    assert [i["title"] for i in board_card["checklist"]] == ["Write the API spec", "Implement the endpoints",
                                                            "Add integration tests"]
    assert len(comments(owner, project, card)) == 1
    assert [s["data"]["tool"] for s in done["steps"] if s["type"] == "tool_call"].count("read_card") == 1


def test_a_worker_lost_while_applying_fails_the_mission_instead_of_applying_twice(stack, owner, project):
    card = make_card(owner, project)
    db = service_db(stack, "agents")
    with worker_with(stack, AGENTS_LOCAL_STEP_DELAY_MS=1500, AGENTS_RUN_LEASE_S=2):
        m = start(owner, make_agent(owner), card)
        wait_until(lambda: any(s["type"] == "tool_result" and s["data"]["tool"] == "read_card"
                               for s in mission(owner, m)["steps"]), timeout=30, message="the card read")
        stack.kill("agents", "worker", signal.SIGKILL)
        # What a worker dying inside a change leaves: the call logged, no answer, the lease running out.
        seq = db["missions"].find_one_and_update({"_id": m["id"]}, {"$inc": {"stepSeq": 1}},
                                                 return_document=True)["stepSeq"]
        db["steps"].insert_one({"_id": f"{m['id']}:{seq:07d}", "missionId": m["id"], "workspaceId": m_ws(db, m),
                                "orgId": None, "seq": seq, "type": "tool_call", "atMs": int(time.time() * 1000),
                                "data": {"callId": "lost", "tool": "comment", "arguments": {"content": "x"},
                                         "turn": 2}})
        stack.spawn("agents", "worker")
        failed = wait_status(owner, m, timeout=60)
    assert (failed["status"], failed["error"]) == ("failed", "worker_lost"), failed
    assert "comment" in failed["errorMessage"] and comments(owner, project, card) == []


def m_ws(db, m) -> str:
    return db["missions"].find_one({"_id": m["id"]})["workspaceId"]


def test_a_time_budget_fails_a_slow_mission(stack, owner, card):
    with worker_with(stack, AGENTS_LOCAL_STEP_DELAY_MS=400):
        m = start(owner, make_agent(owner), card, budget={"maxSeconds": 0.5})
        failed = wait_status(owner, m, timeout=60)
    assert (failed["status"], failed["error"]) == ("failed", "budget_exceeded"), failed
    assert "Time budget" in failed["errorMessage"] and failed["usage"]["seconds"] > 0.5
