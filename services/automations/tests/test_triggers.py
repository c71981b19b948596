"""Each trigger fires from a real board change through the bus, and each action's effect shows on the card."""
from datetime import datetime, timedelta, timezone

from services.boards.tests.helpers import EventTap
from services.notifications.tests.support import SSE, wait_notifications
from tests.support import wait_until

from .conftest import (
    P,
    get_card,
    make_card,
    make_rule,
    patch_card,
    traces,
    wait_card,
    wait_traces,
)


def parse(ts):
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def test_task_moved_sets_priority_and_traces_the_run(owner, project):
    done = project["columns"][2]["id"]
    rule = make_rule(owner, project, "task_moved", {"type": "set_priority", "params": {"priority": "high"}},
                     conditions={"toColumnId": done})
    card = make_card(owner, project, priority="low")
    patch_card(owner, project, card, columnId=project["columns"][1]["id"])  # conditions not met: no run
    unmet = wait_traces(owner, project, rule, 1)[0]
    assert unmet["result"] == "skipped" and unmet["detail"] == "conditions not met: toColumnId"
    assert get_card(owner, project, card)["priority"] == "low"
    patch_card(owner, project, card, columnId=done)
    wait_card(owner, project, card, lambda c: c["priority"] == "high")
    trace = wait_traces(owner, project, rule, 2)[0]   # newest first
    assert len(traces(owner, project, rule)) == 2
    assert trace["result"] == "success" and trace["ruleId"] == rule["id"]
    assert trace["actorId"] == owner.user_id and trace["targetCardId"] == card["id"]
    assert trace["chain"]["depth"] == 1 and trace["chain"]["id"] == trace["triggeredBy"]
    assert len(trace["triggeredBy"]) == 24 and trace["createdAt"].endswith("Z")
    assert isinstance(trace["durationMs"], int) and "priority" in trace["detail"]


def test_the_change_says_it_came_from_an_automation(stack, owner, project):
    tap = EventTap(f"nats://127.0.0.1:{stack.infra.nats_port}", "boards.card.>")
    try:
        rule = make_rule(owner, project, "task_created", {"type": "set_priority", "params": {"priority": "high"}})
        card = make_card(owner, project)
        env = tap.wait_for(lambda e: e["type"] == "boards.card.updated" and e["data"]["card"]["id"] == card["id"])
        created = tap.wait_for(lambda e: e["type"] == "boards.card.created" and e["data"]["card"]["id"] == card["id"])
        assert env["actor"]["via"] == "automation" and env["actor"]["userId"] == owner.user_id
        assert env["actor"]["ruleId"] == rule["id"]
        assert env["actor"]["chain"]["id"] == created["id"] and env["actor"]["chain"]["depth"] == 1
    finally:
        tap.close()


def test_task_created_adds_a_comment_as_the_rule_author(owner, member, project):
    make_rule(member, project, "task_created", {"type": "add_comment", "params": {"content": "Welcome aboard"}})
    card = make_card(owner, project)
    wait_card(owner, project, card, lambda c: c["commentCount"] == 1)
    comments = owner.get(f"{P(owner, project)}/cards/{card['id']}/comments").json()
    assert [(c["content"], c["authorId"]) for c in comments] == [("Welcome aboard", member.user_id)]


def test_checklist_complete_archives_the_card(owner, project):
    rule = make_rule(owner, project, "checklist_complete", {"type": "archive_card", "params": {}})
    card = make_card(owner, project, checklist=[{"title": "a", "done": True}, {"title": "b", "done": False}])
    item = card["checklist"][1]
    r = owner.patch(f"{P(owner, project)}/cards/{card['id']}/checklist/{item['_id']}", json={"done": True})
    assert r.status_code == 200, r.text
    wait_card(owner, project, card, lambda c: c["archived"] is True)
    assert wait_traces(owner, project, rule, 1)[0]["result"] == "success"


def test_task_status_changed_on_archive_and_restore(owner, project):
    rule = make_rule(owner, project, "task_status_changed", {"type": "add_comment", "params": {"content": "status"}})
    card = make_card(owner, project)
    patch_card(owner, project, card, archived=True)
    wait_card(owner, project, card, lambda c: c["commentCount"] == 1)
    patch_card(owner, project, card, archived=False)
    wait_card(owner, project, card, lambda c: c["commentCount"] == 2)
    patch_card(owner, project, card, columnId=project["columns"][1]["id"])
    wait_card(owner, project, card, lambda c: c["commentCount"] == 3)
    assert [t["result"] for t in wait_traces(owner, project, rule, 3)] == ["success"] * 3


def test_task_assigned_adds_a_label(owner, member, project):
    label = owner.post(f"{P(owner, project)}/labels", json={"name": "owned", "color": "#00ff00"}).json()
    make_rule(owner, project, "task_assigned", {"type": "add_label", "params": {"labelId": label["id"]}},
              conditions={"assigneeId": member.user_id})
    card = make_card(owner, project)
    patch_card(owner, project, card, assigneeId=member.user_id)
    wait_card(owner, project, card, lambda c: c["labelIds"] == [label["id"]])


def test_task_added_to_board_sets_a_due_date_and_assign_acts(owner, member, project):
    make_rule(owner, project, "task_added_to_board", {"type": "set_due_date", "params": {"inDays": 2}})
    make_rule(owner, project, "task_created", {"type": "assign", "params": {"assigneeId": member.user_id}})
    before = datetime.now(timezone.utc)
    card = make_card(owner, project)
    done = wait_card(owner, project, card, lambda c: c["dueDate"] and c["assigneeId"] == member.user_id)
    assert timedelta(days=2) - timedelta(seconds=30) < parse(done["dueDate"]) - before < timedelta(days=2, seconds=30)


def test_move_card_by_name_and_priority_condition(owner, project):
    make_rule(owner, project, "task_created", {"type": "move_card", "params": {"columnName": "in progress"}},
              conditions={"priority": "high"})
    low = make_card(owner, project, priority="low")
    high = make_card(owner, project, priority="high")
    wait_card(owner, project, high, lambda c: c["columnId"] == project["columns"][1]["id"])
    assert get_card(owner, project, low)["columnId"] == project["columns"][0]["id"]


def test_due_date_reached_fires_once(owner, project):
    rule = make_rule(owner, project, "due_date_reached", {"type": "move_card", "params": {"columnName": "Done"}})
    due = (datetime.now(timezone.utc) + timedelta(seconds=2)).isoformat().replace("+00:00", "Z")
    card = make_card(owner, project, dueDate=due)
    wait_card(owner, project, card, lambda c: c["columnId"] == project["columns"][2]["id"], timeout=20)
    trace = wait_traces(owner, project, rule, 1)[0]
    assert trace["result"] == "success" and trace["chain"]["depth"] == 1
    import time

    time.sleep(1.5)
    assert len(wait_traces(owner, project, rule, 1)) == 1


def test_notify_reaches_the_list_and_the_stream(owner, member, project):
    stream = SSE(member)
    try:
        make_rule(owner, project, "task_moved", {"type": "notify", "params": {"userIds": [member.user_id],
                                                                              "message": "Have a look"}})
        card = make_card(owner, project, title="Review me")
        patch_card(owner, project, card, columnId=project["columns"][1]["id"])
        rows = wait_until(lambda: [n for n in wait_notifications(member, 1)
                                   if n["activity"]["type"] == "automation"], timeout=15)
        activity = rows[0]["activity"]
        assert activity["meta"]["message"] == "Have a look" and activity["cardId"] == card["id"]
        assert activity["actorVia"] == "automation" and activity["cardTitle"] == "Review me"
        got = stream.next("notification", timeout=15, where=lambda e: e["data"]["id"] == rows[0]["id"]
                          if isinstance(e.get("data"), dict) and "id" in e["data"] else False)
        assert got["data"]["activity"]["meta"]["message"] == "Have a look"
    finally:
        stream.close()


def test_notify_defaults_to_the_project_members(owner, project):
    rule = make_rule(owner, project, "task_created", {"type": "notify", "params": {"message": "New card"}})
    make_card(owner, project)
    trace = wait_traces(owner, project, rule, 1)[0]
    assert trace["result"] == "success" and "notified 1" in trace["detail"]
    wait_until(lambda: [n for n in wait_notifications(owner, 1) if n["activity"]["type"] == "automation"])
