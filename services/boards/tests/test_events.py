"""Boards' events on NATS (through the outbox relay), its commands, and its handling of identity's events."""
import uuid
from datetime import datetime, timezone

from bson import ObjectId

from tests.support import assert_error, register, team, wait_until

from .helpers import P, make_card, make_project


def _ev(tap, subject, pred=lambda e: True, message=None):
    return tap.wait_for(lambda e: e["type"] == subject and pred(e), message=message or subject)


def _about(card_id):
    return lambda e: (e["data"].get("card") or {}).get("id") == card_id


def test_every_activity_is_published_with_self_contained_data(base, owner, tap):
    mate = team(base, owner)
    p = make_project(owner, name="Evented")
    pp = P(owner, p)
    todo, doing = p["columns"][0], p["columns"][1]

    card = make_card(owner, p, 0, title="Evented card")
    created = _ev(tap, "boards.card.created", _about(card["id"]))
    assert created["data"]["activity"] == "card_created"
    assert created["data"]["project"] == {"id": p["id"], "name": "Evented"}
    assert created["data"]["projectMemberIds"] == [owner.user_id]
    assert created["data"]["card"]["title"] == "Evented card" and created["data"]["card"]["columnId"] == todo["id"]
    assert created["actor"] == {"userId": owner.user_id, "via": "user"}
    assert created["projectId"] == p["id"] and created["workspaceId"] == p["workspaceId"] and created["orgId"]

    owner.patch(f"{pp}/cards/{card['id']}", json={"title": "Renamed", "priority": "high"})
    updated = _ev(tap, "boards.card.updated", _about(card["id"]))
    assert updated["data"]["changes"] == {"title": {"before": "Evented card", "after": "Renamed"},
                                          "priority": {"before": "medium", "after": "high"}}
    assert updated["data"]["card"]["title"] == "Renamed"

    owner.patch(f"{pp}/cards/{card['id']}", json={"columnId": doing["id"]})
    moved = _ev(tap, "boards.card.moved", _about(card["id"]))
    assert moved["data"]["meta"] == {"fromColumn": "To Do", "toColumn": "In Progress",
                                     "fromColumnId": todo["id"], "toColumnId": doing["id"]}
    assert moved["data"]["card"]["columnId"] == doing["id"]

    owner.patch(f"{pp}/cards/{card['id']}", json={"assigneeId": mate.user_id})
    assigned = _ev(tap, "boards.card.assigned", _about(card["id"]))
    assert assigned["data"]["assigneeId"] == mate.user_id and assigned["data"]["previousAssigneeId"] is None
    assert set(assigned["data"]["projectMemberIds"]) == {owner.user_id, mate.user_id}
    joined = _ev(tap, "boards.member.added", lambda e: e["projectId"] == p["id"]
                 and e["data"]["member"]["userId"] == mate.user_id)
    assert joined["data"]["member"]["email"] == mate.email

    owner.post(f"{pp}/cards/{card['id']}/comments", json={"content": "Looks good"})
    commented = _ev(tap, "boards.comment.added", _about(card["id"]))
    assert commented["data"]["comment"]["content"] == "Looks good" and commented["data"]["comment"]["id"]

    owner.patch(f"{pp}/cards/{card['id']}", json={"archived": True})
    archived = _ev(tap, "boards.card.archived", _about(card["id"]))
    assert archived["data"]["card"]["archived"] is True

    owner.delete(f"{pp}/cards/{card['id']}")
    deleted = _ev(tap, "boards.card.deleted", _about(card["id"]))
    assert deleted["data"]["card"]["title"] == "Renamed"

    third = team(base, owner)
    owner.post(f"{pp}/members", json={"email": third.email})
    added = _ev(tap, "boards.member.added", lambda e: e["data"]["member"]["userId"] == third.user_id)
    assert added["data"]["member"]["email"] == third.email and third.user_id in added["data"]["projectMemberIds"]
    owner.delete(f"{pp}/members/{third.user_id}")
    removed = _ev(tap, "boards.member.removed", lambda e: e["data"]["member"]["userId"] == third.user_id)
    assert third.user_id not in removed["data"]["projectMemberIds"] and removed["data"]["card"] is None


def test_checklist_completed_fires_when_the_last_item_is_checked(owner, tap):
    p = make_project(owner)
    card = make_card(owner, p, checklist=[{"title": "a", "done": True}, {"title": "b"}])
    url = f"{P(owner, p)}/cards/{card['id']}/checklist"
    item = card["checklist"][1]
    assert not tap.matching(lambda e: e["type"] == "boards.checklist.completed" and _about(card["id"])(e))
    owner.patch(f"{url}/{item['_id']}", json={"done": True})
    done = _ev(tap, "boards.checklist.completed", _about(card["id"]))
    assert done["data"]["projectMemberIds"] == [owner.user_id] and done["data"]["card"]["title"] == "Card"


def test_commands(base, owner, outsider, tap):
    p = make_project(owner, name="Commanded")
    card = make_card(owner, p, title="Via HTTP")
    ws = p["workspaceId"]
    actor = {"userId": owner.user_id, "via": "agent"}

    got = tap.request("cmd.boards.get_card", {"workspaceId": ws, "cardId": card["id"]})
    assert got["ok"] and got["data"]["title"] == "Via HTTP"
    other_ws = make_project(outsider)["workspaceId"]
    assert tap.request("cmd.boards.get_card", {"workspaceId": other_ws, "cardId": card["id"]})["statusCode"] == 404
    many = tap.request("cmd.boards.get_cards", {"workspaceId": ws, "cardIds": [card["id"], "f" * 24, "bad"]})
    assert [c["id"] for c in many["data"]] == [card["id"]]

    made = tap.request("cmd.boards.create_card", {"workspaceId": ws, "projectId": p["id"], "columnName": "in progress",
                                                  "title": "By agent", "priority": "high", "dueDate": "2026-05-01",
                                                  "actor": actor})
    assert made["ok"], made
    assert made["data"]["columnId"] == p["columns"][1]["id"] and made["data"]["dueDate"].startswith("2026-05-01")
    ev = _ev(tap, "boards.card.created", _about(made["data"]["id"]))
    assert ev["actor"] == actor
    bad = tap.request("cmd.boards.create_card", {"workspaceId": ws, "projectId": p["id"], "columnId": p["columns"][0]["id"],
                                                 "title": "t" * 501, "actor": actor})
    assert bad["ok"] is False and bad["statusCode"] == 400

    upd = tap.request("cmd.boards.update_card", {"workspaceId": ws, "cardId": card["id"],
                                                 "changes": {"title": "Via command", "dueDate": None}, "actor": actor})
    assert upd["ok"] and upd["data"]["title"] == "Via command"

    moved = tap.request("cmd.boards.move_card", {"workspaceId": ws, "cardId": card["id"], "targetColumn": "Done",
                                                 "actor": actor})
    assert moved["ok"] and moved["data"]["columnId"] == p["columns"][2]["id"]
    ev = _ev(tap, "boards.card.moved", _about(card["id"]))
    assert ev["data"]["meta"]["toColumn"] == "Done" and ev["actor"] == actor
    by_id = tap.request("cmd.boards.move_card", {"workspaceId": ws, "cardId": card["id"],
                                                 "targetColumn": p["columns"][0]["id"], "order": 0, "actor": actor})
    assert by_id["ok"] and by_id["data"]["columnId"] == p["columns"][0]["id"] and by_id["data"]["order"] == 0
    nowhere = tap.request("cmd.boards.move_card", {"workspaceId": ws, "cardId": card["id"], "targetColumn": "Nope",
                                                   "actor": actor})
    assert nowhere["statusCode"] == 404

    plan = tap.request("cmd.boards.create_project_from_plan", {
        "workspaceId": ws, "orgId": p["orgId"], "name": "From plan", "description": "drafted",
        "phases": [{"name": "Discovery", "deliverables": [{"title": "Interviews", "description": "10 users"}]},
                   {"name": "Build", "deliverables": [{"title": "MVP"}, {"title": "Beta"}]}],
        "actor": actor})
    assert plan["ok"], plan
    project = plan["data"]
    assert [c["name"] for c in project["columns"]] == ["Discovery", "Build"]
    cards = owner.get(f"{owner.W}/projects/{project['id']}/cards").json()
    assert sorted((c["title"], c["columnId"]) for c in cards) == sorted([
        ("Interviews", project["columns"][0]["id"]), ("MVP", project["columns"][1]["id"]),
        ("Beta", project["columns"][1]["id"])])
    assert owner.user_id in [m["userId"] for m in owner.get(f"{owner.W}/projects/{project['id']}/members").json()]

    rows = tap.request("cmd.boards.project_summaries", {"workspaceId": ws})
    assert {r["projectId"] for r in rows["data"]} >= {p["id"], project["id"]}


def _fake_attachment(db, card, project):
    key = f"test/{uuid.uuid4().hex}"
    db["attachments"].insert_one({"_id": str(ObjectId()), "orgId": project["orgId"], "workspaceId": project["workspaceId"],
                                  "projectId": project["id"], "cardId": card["id"], "uploadedBy": "x",
                                  "originalName": "a.txt", "mimeType": "text/plain", "size": 1, "key": key,
                                  "createdAt": datetime.now(timezone.utc)})
    return key


def test_deleting_cards_hands_their_attachments_to_the_attachments_module(owner, db):
    p = make_project(owner)
    card = make_card(owner, p)
    key = _fake_attachment(db, card, p)
    owner.delete(f"{P(owner, p)}/cards/{card['id']}")
    assert db["attachments"].find_one({"key": key}) is None
    p2 = make_project(owner)
    card2 = make_card(owner, p2)
    key2 = _fake_attachment(db, card2, p2)
    owner.delete(P(owner, p2))
    assert db["attachments"].find_one({"key": key2}) is None


def test_member_removed_from_workspace_is_unassigned_and_dropped(base, owner, db):
    mate = team(base, owner)
    p = make_project(owner)
    card = make_card(owner, p, assigneeId=mate.user_id)
    assert mate.user_id in [m["userId"] for m in owner.get(f"{P(owner, p)}/members").json()]
    r = owner.delete(f"{owner.W}/members/{mate.user_id}")
    assert r.status_code == 200, r.text
    # both writes commit together (one transaction); the stand-in may show one before the other
    wait_until(lambda: owner.get(f"{P(owner, p)}/cards/{card['id']}").json()["assigneeId"] is None
               and mate.user_id not in [m["userId"] for m in owner.get(f"{P(owner, p)}/members").json()],
               timeout=15, message="assignee cleared and project member dropped")
    assert owner.get(f"{P(owner, p)}/cards/{card['id']}").json()["assigneeId"] is None


def test_identity_member_removed_handler_is_idempotent(base, owner, tap):
    """A real identity event published on NATS, twice (redelivery under another id): same end state."""
    mate = team(base, owner)
    p = make_project(owner)
    card = make_card(owner, p, assigneeId=mate.user_id)
    other = make_card(owner, p, title="other", assigneeId=owner.user_id)
    for _ in range(2):
        tap.publish("identity.member.removed", {
            "id": str(ObjectId()), "type": "identity.member.removed", "occurredAt": "2026-01-01T00:00:00.000Z",
            "actor": {"userId": owner.user_id, "via": "user"}, "orgId": p["orgId"], "workspaceId": p["workspaceId"],
            "data": {"workspaceId": p["workspaceId"], "orgId": p["orgId"], "userId": mate.user_id}})
    wait_until(lambda: owner.get(f"{P(owner, p)}/cards/{card['id']}").json()["assigneeId"] is None
               and [m["userId"] for m in owner.get(f"{P(owner, p)}/members").json()] == [owner.user_id],
               timeout=15, message="member forgotten")
    assert owner.get(f"{P(owner, p)}/cards/{other['id']}").json()["assigneeId"] == owner.user_id


def test_commands_are_scoped_by_workspace(owner, outsider, tap):
    p = make_project(owner)
    card = make_card(owner, p)
    theirs = make_project(outsider)["workspaceId"]
    actor = {"userId": outsider.user_id, "via": "agent"}
    for verb, payload in [("update_card", {"cardId": card["id"], "changes": {"title": "x"}}),
                          ("move_card", {"cardId": card["id"], "targetColumn": "Done"}),
                          ("create_card", {"projectId": p["id"], "columnName": "To Do", "title": "x"})]:
        reply = tap.request(f"cmd.boards.{verb}", {"workspaceId": theirs, "actor": actor, **payload})
        assert reply["ok"] is False and reply["statusCode"] == 404, (verb, reply)
    assert tap.request("cmd.boards.get_cards", {"workspaceId": theirs, "cardIds": [card["id"]]})["data"] == []
    assert p["id"] not in [r["projectId"] for r in
                           tap.request("cmd.boards.project_summaries", {"workspaceId": theirs})["data"]]
    assert tap.request("cmd.boards.get_card", {"cardId": card["id"]})["statusCode"] == 400
    assert owner.get(f"{P(owner, p)}/cards/{card['id']}").json()["title"] == "Card"


def test_renamed_user_is_renamed_in_project_members(base, owner):
    p = make_project(owner)
    assert owner.patch("/auth/me", json={"name": "Olga Renamed"}).status_code == 200
    wait_until(lambda: owner.get(f"{P(owner, p)}/members").json()[0]["name"] == "Olga Renamed", timeout=15,
               message="member renamed")


def test_workspace_and_org_deletion_cascade(base, db):
    boss = register(base, name="Boss")
    slug = f"org-{uuid.uuid4().hex[:8]}"
    assert boss.post("/organizations", json={"name": "Org", "slug": slug}).status_code == 201
    assert boss.post(f"/orgs/{slug}/workspaces", json={"name": "WS", "slug": "ws-one"}).status_code == 201
    assert boss.post(f"/orgs/{slug}/workspaces", json={"name": "WS2", "slug": "ws-two"}).status_code == 201
    w1, w2 = f"/orgs/{slug}/workspaces/ws-one", f"/orgs/{slug}/workspaces/ws-two"
    p1 = boss.post(w1 + "/projects", json={"name": "P1", "templateId": "kanban"}).json()
    p2 = boss.post(w2 + "/projects", json={"name": "P2", "templateId": "kanban"}).json()
    for w, p in ((w1, p1), (w2, p2)):
        c = boss.post(f"{w}/projects/{p['id']}/columns/{p['columns'][0]['id']}/cards", json={"title": "x"}).json()
        boss.post(f"{w}/projects/{p['id']}/cards/{c['id']}/comments", json={"content": "y"})
        boss.post(f"{w}/projects/{p['id']}/labels", json={"name": "l", "color": "#000000"})
        p["card"] = c
    key = _fake_attachment(db, p1["card"], p1)
    ws1, ws2 = p1["workspaceId"], p2["workspaceId"]

    assert boss.delete(w1).status_code == 200
    names = ("projects", "columns", "cards", "comments", "labels")
    wait_until(lambda: all(db[n].count_documents({"workspaceId": ws1}) == 0 for n in names), timeout=20,
               message="workspace data deleted")
    assert db["attachments"].find_one({"key": key}) is None
    assert db["cards"].count_documents({"workspaceId": ws2}) == 1   # the other workspace is untouched

    assert boss.delete(f"/organizations/{slug}").status_code == 200
    wait_until(lambda: all(db[n].count_documents({"workspaceId": ws2}) == 0 for n in names), timeout=20,
               message="org data deleted")
    assert_error(boss.get(f"{w2}/projects/{p2['id']}"), 404)
