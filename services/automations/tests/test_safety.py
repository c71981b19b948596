"""Chains, loops, self-disable, stale references, the dry run, traces paging and deletions."""
import uuid

from tests.support import assert_error, register, wait_until

from .conftest import (
    MISSING,
    P,
    get_card,
    make_card,
    make_project,
    make_rule,
    patch_card,
    traces,
    wait_card,
    wait_traces,
)


def add_column(client, project, name) -> dict:
    r = client.post(f"{P(client, project)}/columns", json={"name": name})
    assert r.status_code == 201, r.text
    return r.json()


def test_two_rules_bouncing_a_card_stop_at_the_loop_guard(owner, project):
    todo, doing, done = (c["id"] for c in project["columns"])
    a = make_rule(owner, project, "task_moved", {"type": "move_card", "params": {"columnId": done}},
                  conditions={"toColumnId": doing}, name="A")
    b = make_rule(owner, project, "task_moved", {"type": "move_card", "params": {"columnId": doing}},
                  conditions={"toColumnId": done}, name="B")
    card = make_card(owner, project)
    patch_card(owner, project, card, columnId=doing)
    loop = wait_traces(owner, project, a, where=lambda t: t["detail"].startswith("loop"))[0]
    assert loop["result"] == "skipped" and loop["chain"]["depth"] == 3
    ran_a = [t for t in traces(owner, project, a) if t["result"] == "success"]
    ran_b = [t for t in traces(owner, project, b) if t["result"] == "success"]
    assert len(ran_a) == 1 and len(ran_b) == 1
    assert {ran_a[0]["chain"]["id"], ran_b[0]["chain"]["id"], loop["chain"]["id"]} == {ran_a[0]["triggeredBy"]}
    assert ran_b[0]["chain"]["depth"] == 2
    assert get_card(owner, project, card)["columnId"] == doing


def test_rule_moving_to_its_own_trigger_runs_once(owner, project):
    done = project["columns"][2]["id"]
    rule = make_rule(owner, project, "task_moved", {"type": "move_card", "params": {"columnId": done}})
    card = make_card(owner, project)
    patch_card(owner, project, card, columnId=project["columns"][1]["id"])
    rows = wait_traces(owner, project, rule, 2)
    assert [t["result"] for t in rows] == ["skipped", "success"] and rows[0]["detail"].startswith("loop")
    assert get_card(owner, project, card)["columnId"] == done


def test_chains_stop_at_depth_five(owner, project):
    cols = [c["id"] for c in project["columns"]] + [add_column(owner, project, f"Step {i}")["id"] for i in range(5)]
    rules = [make_rule(owner, project, "task_moved", {"type": "move_card", "params": {"columnId": cols[i + 1]}},
                       conditions={"toColumnId": cols[i]}, name=f"step {i}") for i in range(1, 7)]
    card = make_card(owner, project)
    patch_card(owner, project, card, columnId=cols[1])
    last = wait_traces(owner, project, rules[5], where=lambda t: "depth" in t["detail"])[0]
    assert last["result"] == "skipped" and last["chain"]["depth"] == 6 and "(5)" in last["detail"]
    for depth, rule in enumerate(rules[:5], start=1):
        ok = [t for t in traces(owner, project, rule) if t["result"] == "success"]
        assert [t["chain"]["depth"] for t in ok] == [depth]
    assert get_card(owner, project, card)["columnId"] == cols[6]


def test_ten_failures_disable_the_rule_and_toggle_revives_it(owner, project):
    label = owner.post(f"{P(owner, project)}/labels", json={"name": "gone", "color": "#123456"}).json()
    rule = make_rule(owner, project, "task_created", {"type": "add_label", "params": {"labelId": label["id"]}})
    assert owner.delete(f"{P(owner, project)}/labels/{label['id']}").status_code == 200
    for i in range(10):
        make_card(owner, project, title=f"c{i}")
    rows = wait_traces(owner, project, rule, 10, timeout=30)
    assert all(t["result"] == "failed" for t in rows)
    assert all("label" in t["detail"] and "no longer exists" in t["detail"] for t in rows)
    assert "disabled after 10 consecutive failed runs" in rows[0]["detail"]
    url = f"{P(owner, project)}/automations/{rule['id']}"
    current = wait_until(lambda: (lambda r: r if not r["enabled"] else None)(owner.get(url).json()))
    assert "10 consecutive" in current["disabledReason"]
    card = make_card(owner, project, title="after")
    patch_card(owner, project, card, title="after!")
    revived = owner.patch(url + "/toggle").json()
    assert revived["enabled"] is True and revived["disabledReason"] is None
    assert len(traces(owner, project, rule)) == 10  # nothing ran while it was disabled


def test_a_deleted_column_fails_clearly_instead_of_moving_elsewhere(owner, project):
    extra = add_column(owner, project, "Parking")
    rule = make_rule(owner, project, "task_created", {"type": "move_card", "params": {"columnId": extra["id"]}})
    assert owner.delete(f"{P(owner, project)}/columns/{extra['id']}").status_code == 200
    card = make_card(owner, project)
    trace = wait_traces(owner, project, rule)[0]
    assert trace["result"] == "failed" and f"column {extra['id']} no longer exists" in trace["detail"]
    assert get_card(owner, project, card)["columnId"] == project["columns"][0]["id"]


def test_dry_run_changes_nothing_and_writes_no_trace(owner, project):
    done = project["columns"][2]["id"]
    rule = make_rule(owner, project, "task_moved", {"type": "set_priority", "params": {"priority": "high"}},
                     conditions={"toColumnId": done, "priority": "low"}, enabled=False)
    card = make_card(owner, project, priority="low")
    url = f"{P(owner, project)}/automations/{rule['id']}/test"
    r = owner.post(url, json={"cardId": card["id"]})
    assert r.status_code == 200, r.text
    assert r.json() == {"matched": False, "conditions": {"toColumnId": False, "priority": True},
                        "action": {"type": "set_priority", "params": {"priority": "high"},
                                   "changes": {"priority": {"before": "low", "after": "high"}}}}
    patch_card(owner, project, card, columnId=done)
    assert owner.post(url, json={"cardId": card["id"]}).json()["matched"] is True
    assert get_card(owner, project, card)["priority"] == "low" and traces(owner, project, rule) == []
    # preview of each kind of change
    move = make_rule(owner, project, "task_moved", {"type": "move_card", "params": {"columnName": "to do"}})
    body = owner.post(f"{P(owner, project)}/automations/{move['id']}/test", json={"cardId": card["id"]}).json()
    assert body["action"]["changes"] == {"columnId": {"before": done, "after": project["columns"][0]["id"]}}
    arch = make_rule(owner, project, "task_moved", {"type": "archive_card"})
    body = owner.post(f"{P(owner, project)}/automations/{arch['id']}/test", json={"cardId": card["id"]}).json()
    assert body["action"]["changes"] == {"archived": {"before": False, "after": True}} and body["matched"] is True
    fc = make_rule(owner, project, "task_moved", {"type": "archive_card"},
                   conditions={"fromColumnId": project["columns"][1]["id"]})
    fu = f"{P(owner, project)}/automations/{fc['id']}/test"
    assert owner.post(fu, json={"cardId": card["id"]}).json()["conditions"] == {"fromColumnId": False}
    assert owner.post(fu, json={"cardId": card["id"], "fromColumnId": project["columns"][1]["id"]}).json()[
        "matched"] is True
    # errors
    other = make_project(owner, name="Elsewhere")
    foreign = make_card(owner, other)
    assert_error(owner.post(url, json={"cardId": foreign["id"]}), 404, "card")
    assert_error(owner.post(url, json={"cardId": MISSING}), 404)
    assert_error(owner.post(url, json={"cardId": "nope"}), 404)
    assert_error(owner.post(url, json={}), 400, "cardId")
    assert_error(owner.post(url, json={"cardId": card["id"], "x": 1}), 400)


def test_dry_run_reports_a_stale_label(owner, project):
    label = owner.post(f"{P(owner, project)}/labels", json={"name": "tmp", "color": "#abcdef"}).json()
    rule = make_rule(owner, project, "task_moved", {"type": "add_label", "params": {"labelId": label["id"]}})
    owner.delete(f"{P(owner, project)}/labels/{label['id']}")
    card = make_card(owner, project)
    body = owner.post(f"{P(owner, project)}/automations/{rule['id']}/test", json={"cardId": card["id"]}).json()
    assert body["action"]["changes"] == {} and "no longer exists" in body["action"]["error"]


def test_traces_page_newest_first_with_a_cursor(owner, project):
    rule = make_rule(owner, project, "task_created", {"type": "set_priority", "params": {"priority": "high"}})
    for i in range(5):
        make_card(owner, project, title=f"t{i}")
    all_rows = wait_traces(owner, project, rule, 5)
    stamps = [(t["createdAt"], t["id"]) for t in all_rows]
    assert stamps == sorted(stamps, reverse=True)
    url = f"{P(owner, project)}/automations/{rule['id']}/traces"
    seen, cursor = [], None
    while True:
        r = owner.get(url, params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200 and len(r.json()) <= 2
        seen += [t["id"] for t in r.json()]
        cursor = r.headers.get("X-Next-Cursor")
        if not cursor:
            break
    assert seen == [t["id"] for t in all_rows]
    assert "X-Next-Cursor" not in owner.get(url).headers
    for bad in ({"limit": 0}, {"limit": 201}, {"limit": "x"}, {"cursor": "bogus"}):
        assert_error(owner.get(url, params=bad), 400)
    assert_error(owner.get(f"{P(owner, project)}/automations/{MISSING}/traces"), 404)
    assert set(all_rows[0]) == {"id", "ruleId", "actorId", "targetCardId", "triggeredBy", "chain", "result",
                                "detail", "durationMs", "createdAt"}


def test_deleting_a_rule_project_or_workspace_removes_rules_and_traces(base, owner, automations_db):
    project = make_project(owner)
    rule = make_rule(owner, project, "task_created", {"type": "set_priority", "params": {"priority": "high"}})
    make_card(owner, project)
    wait_traces(owner, project, rule)
    doomed = make_rule(owner, project, "task_moved")
    assert owner.delete(f"{P(owner, project)}/automations/{doomed['id']}").json() == {"ok": True}
    assert automations_db["rules"].find_one({"_id": doomed["id"]}) is None
    assert owner.delete(P(owner, project)).status_code == 200
    wait_until(lambda: automations_db["rules"].find_one({"projectId": project["id"]}) is None
               and automations_db["traces"].find_one({"projectId": project["id"]}) is None, timeout=15)

    slug = f"ws-{uuid.uuid4().hex[:8]}"
    assert owner.post(f"/orgs/{owner.org}/workspaces", json={"name": "Temp", "slug": slug}).status_code == 201
    temp = owner.with_token(owner.token)
    temp.W = f"/orgs/{owner.org}/workspaces/{slug}"
    tp = make_project(temp)
    due = make_card(temp, tp, dueDate="2099-01-01")
    make_rule(temp, tp, "due_date_reached")
    wait_until(lambda: automations_db["due"].find_one({"_id": due["id"]}), timeout=15)
    assert owner.delete(temp.W).status_code == 200
    wait_until(lambda: automations_db["rules"].find_one({"projectId": tp["id"]}) is None
               and automations_db["due"].find_one({"_id": due["id"]}) is None, timeout=15)


def test_org_deletion_removes_its_rules(base, automations_db):
    user = register(base)
    slug = f"org-{uuid.uuid4().hex[:8]}"
    r = user.post("/organizations", json={"name": "Doomed", "slug": slug})
    assert r.status_code == 201, r.text
    ws = user.get(f"/orgs/{slug}/workspaces").json()
    if not ws:
        assert user.post(f"/orgs/{slug}/workspaces", json={"name": "W", "slug": "w1"}).status_code == 201
        ws = user.get(f"/orgs/{slug}/workspaces").json()
    client = user.with_token(user.token)
    client.W = f"/orgs/{slug}/workspaces/{ws[0]['slug']}"
    project = make_project(client)
    rule = make_rule(client, project)
    assert automations_db["rules"].find_one({"_id": rule["id"]})
    assert user.delete(f"/organizations/{slug}").status_code == 200
    wait_until(lambda: automations_db["rules"].find_one({"_id": rule["id"]}) is None, timeout=15)


def test_an_assignee_who_left_the_workspace_fails_clearly(owner, member, project):
    rule = make_rule(owner, project, "task_created", {"type": "assign", "params": {"assigneeId": member.user_id}})
    assert owner.delete(f"{owner.W}/members/{member.user_id}").status_code == 200
    card = make_card(owner, project)
    trace = wait_traces(owner, project, rule)[0]
    assert trace["result"] == "failed"
    assert f"user {member.user_id} is not a member of the workspace" in trace["detail"]
    assert get_card(owner, project, card)["assigneeId"] is None


def test_a_redelivered_event_runs_nothing_twice(stack, owner, project, automations_db):
    from libs.common.mongo import new_id
    from services.boards.tests.helpers import EventTap
    from services.notifications.tests.support import Publisher

    tap = EventTap(f"nats://127.0.0.1:{stack.infra.nats_port}", "boards.card.created")
    publisher = Publisher(f"nats://127.0.0.1:{stack.infra.nats_port}")
    try:
        rule = make_rule(owner, project, "task_created", {"type": "add_comment", "params": {"content": "once"}})
        card = make_card(owner, project)
        env = tap.wait_for(lambda e: e["data"]["card"]["id"] == card["id"])
        wait_traces(owner, project, rule)
        wait_card(owner, project, card, lambda c: c["commentCount"] == 1)
        # The same event again (a re-publish past JetStream's de-duplication window): the consumer keeps
        # no processed-id bookkeeping, the trace's id derived from (event, rule) is what holds.
        publisher.publish("boards.card.created", env, msg_id=new_id())
        later = make_card(owner, project)          # handled after the duplicate, in stream order
        wait_until(lambda: any(t["targetCardId"] == later["id"] for t in traces(owner, project, rule)), timeout=15)
        assert get_card(owner, project, card)["commentCount"] == 1
        assert [t["targetCardId"] for t in traces(owner, project, rule)].count(card["id"]) == 1
        assert automations_db["processed_events"].count_documents({"_id": {"$regex": env["id"]}}) == 0
    finally:
        publisher.close()
        tap.close()
