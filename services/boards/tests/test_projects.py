"""Projects, templates, project members and the portfolio, through the gateway."""
from tests.support import assert_error, team

from .helpers import P, make_card, make_project


def test_templates_are_built_in(owner):
    r = owner.get(owner.W + "/projects/templates")
    assert r.status_code == 200
    templates = {t["id"]: t for t in r.json()}
    assert {"kanban", "scrum", "bug-tracking", "roadmap"} <= set(templates)
    assert templates["kanban"]["columns"] == [{"name": "To Do"}, {"name": "In Progress"}, {"name": "Done"}]
    for t in templates.values():
        assert set(t) == {"id", "name", "description", "columns"} and t["columns"]


def test_create_project_reference_example_and_template(owner):
    r = owner.post(owner.W + "/projects", json={"name": "Q1 Launch"})
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["name"] == "Q1 Launch" and len(p["id"]) == 24 and p["workspaceId"] and p["createdAt"].endswith("Z")
    assert p["columns"] == [] and p["memberIds"] == [owner.user_id]
    p2 = make_project(owner, name="Scrum", template="scrum", description="sprints")
    assert [c["name"] for c in p2["columns"]] == ["Backlog", "Sprint Backlog", "In Progress", "Review", "Done"]
    assert [c["order"] for c in p2["columns"]] == [0, 1, 2, 3, 4]
    assert p2["description"] == "sprints"
    got = owner.get(P(owner, p2)).json()
    assert got["id"] == p2["id"] and [c["id"] for c in got["columns"]] == [c["id"] for c in p2["columns"]]
    listed = owner.get(owner.W + "/projects").json()
    assert [x["id"] for x in listed] == [p["id"], p2["id"]]


def test_project_validation(owner):
    assert owner.post(owner.W + "/projects", json={"name": "x" * 200}).status_code == 201
    assert_error(owner.post(owner.W + "/projects", json={"name": "x" * 201}), 400)
    assert_error(owner.post(owner.W + "/projects", json={"name": ""}), 400)
    assert_error(owner.post(owner.W + "/projects", json={}), 400)
    assert_error(owner.post(owner.W + "/projects", json={"name": "a", "templateId": "nope"}), 400)
    assert_error(owner.post(owner.W + "/projects", json={"name": "a", "color": "red"}), 400)
    assert_error(owner.post(owner.W + "/projects", data="not json", headers={"Content-Type": "application/json"}), 400)


def test_update_and_get_project(owner):
    p = make_project(owner)
    r = owner.patch(P(owner, p), json={"name": "Q1 Launch v2", "description": "d"})
    assert r.status_code == 200 and r.json()["name"] == "Q1 Launch v2" and r.json()["description"] == "d"
    assert owner.patch(P(owner, p), json={"description": None}).json()["description"] is None
    assert_error(owner.patch(P(owner, p), json={"name": ""}), 400)
    assert_error(owner.patch(P(owner, p), json={"workspaceId": "x"}), 400)
    assert_error(owner.get(owner.W + "/projects/nothex"), 404)
    assert_error(owner.get(owner.W + "/projects/" + "a" * 24), 404)


def test_delete_project_needs_workspace_admin_and_cascades(base, owner, db):
    member = team(base, owner)
    p = make_project(owner)
    card = make_card(owner, p)
    owner.post(f"{P(owner, p)}/cards/{card['id']}/comments", json={"content": "hi"})
    assert_error(member.delete(P(member, p)), 403)
    r = owner.delete(P(owner, p))
    assert r.status_code == 200 and r.json() == {"ok": True}
    assert_error(owner.get(P(owner, p)), 404)
    assert_error(owner.get(f"{P(owner, p)}/cards/{card['id']}"), 404)
    for name in ("columns", "cards", "comments"):
        assert db[name].count_documents({"projectId": p["id"]}) == 0, name
    assert_error(owner.delete(P(owner, p)), 404)


def test_project_members(base, owner, outsider):
    mate = team(base, owner)
    p = make_project(owner)
    members = owner.get(f"{P(owner, p)}/members").json()
    assert [m["userId"] for m in members] == [owner.user_id] and members[0]["email"] == owner.email
    r = owner.post(f"{P(owner, p)}/members", json={"email": mate.email.upper()})
    assert r.status_code == 201, r.text
    assert r.json()["userId"] == mate.user_id and r.json()["email"] == mate.email
    assert_error(owner.post(f"{P(owner, p)}/members", json={"email": mate.email}), 409)
    # not a member of the workspace (or no account at all): 404
    assert_error(owner.post(f"{P(owner, p)}/members", json={"email": outsider.email}), 404)
    assert_error(owner.post(f"{P(owner, p)}/members", json={"email": "nobody@example.com"}), 404)
    assert_error(owner.post(f"{P(owner, p)}/members", json={"email": "not-an-email"}), 400)
    assert {m["userId"] for m in owner.get(f"{P(owner, p)}/members").json()} == {owner.user_id, mate.user_id}
    assert owner.delete(f"{P(owner, p)}/members/{mate.user_id}").json() == {"ok": True}
    assert_error(owner.delete(f"{P(owner, p)}/members/{mate.user_id}"), 404)
    assert [m["userId"] for m in owner.get(f"{P(owner, p)}/members").json()] == [owner.user_id]


def test_portfolio_rows(owner):
    p = make_project(owner, name="Portfolio")
    make_card(owner, p, 0, priority="high", dueDate="2020-01-01")
    make_card(owner, p, 1, priority="low")
    make_card(owner, p, 2, priority="high", dueDate="2020-01-01")   # done: not overdue
    make_card(owner, p, 2)
    empty = make_project(owner, name="Empty", template=None)
    rows = {r["projectId"]: r for r in owner.get(owner.W + "/projects/portfolio").json()}
    row = rows[p["id"]]
    assert row["name"] == "Portfolio"
    assert (row["totalCards"], row["openCards"], row["doneCards"], row["overdueCards"], row["progress"]) == (4, 2, 2, 1, 50)
    assert row["byPriority"] == {"low": 1, "medium": 1, "high": 2}
    assert row["updatedAt"].endswith("Z")
    assert rows[empty["id"]]["totalCards"] == 0 and rows[empty["id"]]["progress"] == 0
