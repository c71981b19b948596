"""Rules CRUD, toggle and their errors through the gateway: 400s, 403 (PAT scope), 404 (isolation), 409."""
import pytest

from tests.support import assert_error

from .conftest import MISSING, P, make_card, make_project, make_rule


def pat(client, scopes):
    r = client.post("/api-tokens", json={"name": "t", "scopes": scopes})
    assert r.status_code == 201, r.text
    return client.with_token(r.json()["token"])


def test_create_get_list_update_delete(owner, project):
    base = f"{P(owner, project)}/automations"
    done = project["columns"][2]["id"]
    body = {"name": "Done is high", "trigger": "task_moved", "conditions": {"toColumnId": done},
            "action": {"type": "set_priority", "params": {"priority": "high"}}}
    r = owner.post(base, json=body)
    assert r.status_code == 201, r.text
    rule = r.json()
    assert {k: rule[k] for k in ("name", "trigger", "conditions", "action", "enabled")} == {
        "name": "Done is high", "trigger": "task_moved", "conditions": {"toColumnId": done},
        "action": {"type": "set_priority", "params": {"priority": "high"}}, "enabled": True}
    assert len(rule["id"]) == 24 and rule["createdAt"].endswith("Z") and rule["disabledReason"] is None
    assert owner.get(f"{base}/{rule['id']}").json() == rule
    second = make_rule(owner, project, trigger="task_created", action={"type": "archive_card"})
    assert second["action"] == {"type": "archive_card", "params": {}} and second["conditions"] == {}
    assert [x["id"] for x in owner.get(base).json()] == [rule["id"], second["id"]]

    r = owner.patch(f"{base}/{rule['id']}", json={"name": "Renamed", "conditions": {}, "action": {
        "type": "add_comment", "params": {"content": "Moved!"}}})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Renamed" and r.json()["conditions"] == {}
    assert r.json()["action"] == {"type": "add_comment", "params": {"content": "Moved!"}}
    assert owner.delete(f"{base}/{rule['id']}").json() == {"ok": True}
    assert_error(owner.get(f"{base}/{rule['id']}"), 404)
    assert_error(owner.delete(f"{base}/{rule['id']}"), 404)
    assert [x["id"] for x in owner.get(base).json()] == [second["id"]]


def test_every_action_type_is_accepted(owner, project):
    col = project["columns"][1]["id"]
    label = owner.post(f"{P(owner, project)}/labels", json={"name": "bug", "color": "#ff0000"}).json()
    actions = [
        {"type": "move_card", "params": {"columnId": col}},
        {"type": "move_card", "params": {"columnName": "Done"}},
        {"type": "assign", "params": {"assigneeId": owner.user_id}},
        {"type": "assign", "params": {"assigneeId": None}},
        {"type": "set_priority", "params": {"priority": "low"}},
        {"type": "add_label", "params": {"labelId": label["id"]}},
        {"type": "add_comment", "params": {"content": "hello"}},
        {"type": "archive_card", "params": {}},
        {"type": "set_due_date", "params": {"dueDate": "2026-04-01"}},
        {"type": "set_due_date", "params": {"inDays": 3}},
        {"type": "notify", "params": {"message": "look"}},
        {"type": "notify", "params": {"userIds": [owner.user_id], "message": "look"}},
    ]
    for action in actions:
        rule = make_rule(owner, project, action=action)
        expected = action["params"] | ({"dueDate": "2026-04-01T00:00:00.000Z"} if "dueDate" in action["params"] else {})
        assert rule["action"] == {"type": action["type"], "params": expected}, rule
    for trigger in ("task_moved", "task_created", "checklist_complete", "due_date_reached", "task_status_changed",
                    "task_assigned", "task_added_to_board"):
        assert make_rule(owner, project, trigger=trigger)["trigger"] == trigger


@pytest.mark.parametrize("body, field", [
    ({"action": {"type": "archive_card"}}, "trigger"),
    ({"trigger": "task_moved"}, "action"),
    ({"trigger": "nope", "action": {"type": "archive_card"}}, "trigger"),
    ({"trigger": "task_moved", "action": {"type": "explode"}}, "type"),
    ({"trigger": "task_moved", "action": "archive"}, "action"),
    ({"trigger": "task_moved", "action": {"type": "set_priority", "params": {"priority": "urgent"}}}, "priority"),
    ({"trigger": "task_moved", "action": {"type": "set_priority", "params": {}}}, "priority"),
    ({"trigger": "task_moved", "action": {"type": "move_card", "params": {}}}, "columnId"),
    ({"trigger": "task_moved", "action": {"type": "set_due_date", "params": {"inDays": "3"}}}, "inDays"),
    ({"trigger": "task_moved", "action": {"type": "set_due_date", "params": {"dueDate": "soon"}}}, "dueDate"),
    ({"trigger": "task_moved", "action": {"type": "add_comment", "params": {"content": ""}}}, "content"),
    ({"trigger": "task_moved", "action": {"type": "notify", "params": {}}}, "message"),
    ({"trigger": "task_moved", "action": {"type": "archive_card", "params": {"x": 1}}}, "x"),
    ({"trigger": "task_moved", "action": {"type": "archive_card"}, "extra": 1}, "extra"),
    ({"trigger": "task_moved", "action": {"type": "archive_card"}, "conditions": {"color": "red"}}, "color"),
    ({"trigger": "task_moved", "action": {"type": "archive_card"}, "conditions": {"columnId": "abc"}}, "columnId"),
    ({"trigger": "task_moved", "action": {"type": "archive_card"}, "conditions": "x"}, "conditions"),
    ({"trigger": "task_created", "action": {"type": "archive_card"}, "conditions": {"fromColumnId": MISSING}},
     "fromColumnId"),
    ({"trigger": "task_moved", "action": {"type": "archive_card"}, "name": ""}, "name"),
    ({"trigger": "task_moved", "action": {"type": "archive_card"}, "name": "x" * 201}, "name"),
])
def test_bad_bodies_are_400(owner, project, body, field):
    body_out = assert_error(owner.post(f"{P(owner, project)}/automations", json=body), 400)
    assert field in body_out["message"], body_out


def test_references_are_checked_against_the_project(owner, project, outsider):
    base = f"{P(owner, project)}/automations"
    other = make_project(owner, name="Other")
    foreign_col = other["columns"][0]["id"]
    for action in ({"type": "move_card", "params": {"columnId": foreign_col}},
                   {"type": "move_card", "params": {"columnName": "Nowhere"}},
                   {"type": "add_label", "params": {"labelId": MISSING}},
                   {"type": "assign", "params": {"assigneeId": outsider.user_id}},
                   {"type": "notify", "params": {"userIds": [outsider.user_id], "message": "m"}}):
        assert_error(owner.post(base, json={"trigger": "task_moved", "action": action}), 400)
    assert_error(owner.post(base, json={"trigger": "task_moved", "action": {"type": "archive_card"},
                                        "conditions": {"toColumnId": foreign_col}}), 400, "column")
    assert_error(owner.post(base, json={"trigger": "task_moved", "action": {"type": "archive_card"},
                                        "conditions": {"labelId": MISSING}}), 400, "label")
    assert_error(owner.post(base, data="not json", headers={"Content-Type": "application/json"}), 400)
    assert_error(owner.post(base, json=[1, 2]), 400)


def test_duplicate_name_is_409_and_patch_errors(owner, project):
    base = f"{P(owner, project)}/automations"
    rule = make_rule(owner, project, name="Same")
    assert_error(owner.post(base, json={"name": "same", "trigger": "task_moved", "action": {"type": "archive_card"}}),
                 409)
    other = make_rule(owner, project, name="Other")
    assert_error(owner.patch(f"{base}/{other['id']}", json={"name": "SAME"}), 409)
    assert owner.patch(f"{base}/{rule['id']}", json={"name": "Same"}).status_code == 200  # its own name
    assert_error(owner.patch(f"{base}/{rule['id']}", json={"trigger": "bad"}), 400)
    assert_error(owner.patch(f"{base}/{rule['id']}", json={"id": "x"}), 400)
    # fromColumnId stays tied to move triggers whichever field changes
    moved = make_rule(owner, project, conditions={"fromColumnId": project["columns"][0]["id"]})
    assert_error(owner.patch(f"{base}/{moved['id']}", json={"trigger": "task_created"}), 400, "fromColumnId")
    assert_error(owner.patch(f"{base}/{MISSING}", json={"name": "x"}), 404)
    assert_error(owner.patch(f"{base}/not-an-id", json={"name": "x"}), 404)


def test_toggle_flips_and_takes_an_explicit_state(owner, project):
    rule = make_rule(owner, project)
    url = f"{P(owner, project)}/automations/{rule['id']}/toggle"
    assert owner.patch(url).json()["enabled"] is False
    assert owner.patch(url).json()["enabled"] is True
    assert owner.patch(url, json={"enabled": True}).json()["enabled"] is True
    assert owner.patch(url, json={"enabled": False}).json()["enabled"] is False
    assert_error(owner.patch(url, json={"enabled": "maybe"}), 400)
    assert_error(owner.patch(f"{P(owner, project)}/automations/{MISSING}/toggle"), 404)


def test_member_writes_and_pat_scopes(owner, member, project):
    rule = make_rule(member, project)  # any workspace member writes rules
    base = f"{P(owner, project)}/automations"
    reader = pat(owner, ["projects:read"])
    assert reader.get(base).status_code == 200
    assert reader.get(f"{base}/{rule['id']}/traces").status_code == 200
    card = make_card(owner, project)
    for method, path, body in (("POST", base, {"trigger": "task_moved", "action": {"type": "archive_card"}}),
                               ("PATCH", f"{base}/{rule['id']}", {"name": "x"}),
                               ("PATCH", f"{base}/{rule['id']}/toggle", None),
                               ("POST", f"{base}/{rule['id']}/test", {"cardId": card["id"]}),
                               ("DELETE", f"{base}/{rule['id']}", None)):
        assert_error(reader.request(method, path, json=body), 403)
    writer = pat(owner, ["projects:write", "projects:read"])
    assert writer.patch(f"{base}/{rule['id']}", json={"name": "by pat"}).status_code == 200
    assert_error(pat(owner, ["notifications:read"]).get(base), 403)


def test_tenant_isolation(owner, outsider, project):
    rule = make_rule(owner, project)
    card = make_card(owner, project)
    theirs = make_project(outsider)
    # The outsider's own path, our rule id: not found.
    ob = f"{P(outsider, theirs)}/automations"
    for method, path, body in (("GET", f"{ob}/{rule['id']}", None), ("PATCH", f"{ob}/{rule['id']}", {"name": "x"}),
                               ("DELETE", f"{ob}/{rule['id']}", None), ("PATCH", f"{ob}/{rule['id']}/toggle", None),
                               ("GET", f"{ob}/{rule['id']}/traces", None),
                               ("POST", f"{ob}/{rule['id']}/test", {"cardId": card["id"]})):
        assert_error(outsider.request(method, path, json=body), 404)
    # Our project id under their workspace, and our workspace's path: not found either.
    assert_error(outsider.get(f"{outsider.W}/projects/{project['id']}/automations"), 404)
    assert_error(outsider.post(f"{outsider.W}/projects/{project['id']}/automations",
                               json={"trigger": "task_moved", "action": {"type": "archive_card"}}), 404)
    assert_error(outsider.get(f"{P(owner, project)}/automations"), 404)
    # Their rule tested on our card: the card is not found.
    mine = make_rule(outsider, theirs)
    assert_error(outsider.post(f"{ob}/{mine['id']}/test", json={"cardId": card["id"]}), 404, "card")
    # A rule id of another project of the same workspace is not found under this one.
    other = make_project(owner, name="Second")
    assert_error(owner.get(f"{P(owner, other)}/automations/{rule['id']}"), 404)
    assert owner.get(f"{P(owner, project)}/automations/{rule['id']}").status_code == 200
    assert_error(owner.get(f"{owner.W}/projects/not-an-id/automations"), 404)


def test_openapi_declares_every_route(base):
    import re

    import requests

    def norm(path):
        return re.sub(r"\{[^}]*\}", "{}", path).rstrip("/")

    doc = requests.get(base + "/openapi.json", timeout=30).json()
    declared = {(m.upper(), norm(p)): op for p, ops in doc["paths"].items() for m, op in ops.items()}
    prefix = "/orgs/{}/workspaces/{}/projects/{}/automations"
    for method, path in (("POST", ""), ("GET", ""), ("GET", "/{}"), ("PATCH", "/{}"), ("DELETE", "/{}"),
                         ("PATCH", "/{}/toggle"), ("GET", "/{}/traces"), ("POST", "/{}/test")):
        assert (method, prefix + path) in declared, (method, path)
    create = declared[("POST", prefix)]
    assert create["requestBody"] and create["responses"]["201"]["content"] and create["summary"]
    assert any(p.get("in") == "query" for p in declared[("GET", prefix + "/{}/traces")]["parameters"])
    assert declared[("POST", prefix + "/{}/test")]["responses"]["200"]["content"]
