"""The API reference read top to bottom by a new user: each example of
`stellary-api-reference.fr.txt`, with its own bodies, through the gateway, in the order a person
would try them (placeholders such as PROJ_ID replaced by the ids the previous answers gave)."""
import uuid

import requests

from tests.support import Client, wait_until


def test_the_reference_examples_work_as_written(base):
    s = requests.Session()
    tag = uuid.uuid4().hex[:6]
    email = f"user-{tag}@example.com"

    # ---- Auth
    r = s.post(base + "/auth/register", json={"email": email, "password": "secure-pass-123", "name": "Jane Doe"})
    assert r.status_code == 201
    assert set(r.json()) == {"access_token", "user"} and r.json()["user"]["name"] == "Jane Doe"
    r = s.post(base + "/auth/login", json={"email": email, "password": "secure-pass-123"})
    assert r.status_code == 200 and r.json()["user"]["pilotageRole"] == "owner"
    jane = Client(base, r.json()["access_token"])
    assert jane.get("/auth/me").json()["user"]["email"] == email
    assert jane.patch("/auth/me", json={"name": "Jane Smith"}).json()["user"]["name"] == "Jane Smith"
    r = jane.post("/auth/change-password", json={"currentPassword": "secure-pass-123", "newPassword": "new-secure-pass"})
    assert r.status_code == 200
    jane = Client(base, s.post(base + "/auth/login", json={"email": email, "password": "new-secure-pass"}).json()["access_token"])

    # ---- Organisations and members
    acme = f"acme-corp-{tag}"
    r = jane.post("/organizations", json={"name": "Acme Corp", "slug": acme})
    assert r.status_code == 201 and {"id", "name", "slug", "ownerId", "createdAt"} <= set(r.json())
    assert any(o["slug"] == acme and o["myRole"] == "owner" for o in jane.get("/organizations").json())
    assert jane.get(f"/organizations/{acme}").json()["myRole"] == "owner"
    assert jane.patch(f"/organizations/{acme}", json={"name": "Acme Corporation"}).json()["name"] == "Acme Corporation"
    dev_email = f"new-member-{tag}@acme.com"
    s.post(base + "/auth/register", json={"email": dev_email, "password": "secure-pass-123", "name": "Dev"})
    dev = Client(base, s.post(base + "/auth/login", json={"email": dev_email, "password": "secure-pass-123"}).json()["access_token"])
    r = jane.post(f"/organizations/{acme}/members", json={"email": dev_email, "role": "member"})
    assert r.status_code == 201 and r.json()["email"] == dev_email  # the same answer for an unknown address
    members = jane.get(f"/organizations/{acme}/members").json()
    dev_id = members[1]["userId"]
    assert [m["role"] for m in members] == ["owner", "member"] and members[1]["email"] == dev_email
    assert jane.patch(f"/organizations/{acme}/members/{dev_id}", json={"role": "admin"}).json()["role"] == "admin"
    assert jane.delete(f"/organizations/{acme}/members/{dev_id}").json() == {"ok": True}

    # ---- Workspaces and their members
    r = jane.post(f"/orgs/{acme}/workspaces", json={"name": "Engineering", "slug": "engineering"})
    assert r.status_code == 201
    W = f"/orgs/{acme}/workspaces/engineering"
    ws = jane.get(W).json()
    assert {k: ws[k] for k in ("name", "slug", "isPersonal", "myRole", "myPilotageRole")} == {
        "name": "Engineering", "slug": "engineering", "isPersonal": False, "myRole": "admin", "myPilotageRole": "owner"}
    assert [w["slug"] for w in jane.get(f"/orgs/{acme}/workspaces").json()] == ["engineering"]
    inv = jane.post(W + "/members/invite", json={"email": dev_email, "role": "member"})
    assert inv.status_code == 201
    assert dev.post(f"/invitations/{inv.json()['token']}/accept").status_code == 200
    r = jane.patch(W + f"/members/{dev_id}", json={"role": "admin", "pilotageRole": "reviewer"})
    assert (r.json()["role"], r.json()["pilotageRole"]) == ("admin", "reviewer")

    # ---- Projects, templates, portfolio, members
    r = jane.post(W + "/projects", json={"name": "Q1 Launch"})
    assert r.status_code == 201 and {"id", "name", "workspaceId", "createdAt"} <= set(r.json())
    pid = r.json()["id"]
    P = W + f"/projects/{pid}"
    assert [p["name"] for p in jane.get(W + "/projects").json()] == ["Q1 Launch"]
    assert jane.patch(P, json={"name": "Q1 Launch v2"}).json()["name"] == "Q1 Launch v2"
    assert {"kanban", "scrum", "bug-tracking", "roadmap"} <= {t["id"] for t in jane.get(W + "/projects/templates").json()}
    assert jane.get(W + "/projects/portfolio").json()[0]["projectId"] == pid
    assert jane.post(P + "/members", json={"email": dev_email}).status_code == 201
    assert dev_id in [m["userId"] for m in jane.get(P + "/members").json()]

    # ---- Columns
    r = jane.post(P + "/columns", json={"name": "In Review"})
    assert r.status_code == 201
    col = r.json()
    other = jane.post(P + "/columns", json={"name": "Done"}).json()
    cols = jane.get(P + "/columns").json()
    assert [c["order"] for c in cols] == list(range(len(cols))) and {"id", "name", "projectId", "order", "createdAt"} <= set(cols[0])
    assert jane.patch(P + f"/columns/{col['id']}", json={"name": "Code Review"}).json()["name"] == "Code Review"

    # ---- Cards (the reference's create and update bodies, with real ids)
    me = jane.get("/auth/me").json()["user"]
    r = jane.post(P + f"/columns/{col['id']}/cards", json={
        "title": "Implement billing API", "description": "See spec in docs", "priority": "high",
        "dueDate": "2026-04-01", "assigneeId": me["id"],
        "checklist": [{"title": "Setup routes", "done": False, "order": 0}]})
    assert r.status_code == 201, r.text
    card = r.json()
    assert card["dueDate"] == "2026-04-01T00:00:00.000Z" or card["dueDate"].startswith("2026-04-01T00:00:00")
    assert card["checklist"][0]["title"] == "Setup routes" and "_id" in card["checklist"][0]
    C = P + f"/cards/{card['id']}"
    r = jane.patch(C, json={"title": "Updated title", "columnId": other["id"], "order": 0, "priority": "medium",
                            "dueDate": None, "archived": True})
    assert r.status_code == 200, r.text
    assert (r.json()["columnId"], r.json()["dueDate"], r.json()["archived"]) == (other["id"], None, True)
    assert jane.get(P + "/cards").json() == []  # archived cards are hidden by default
    assert [c["id"] for c in jane.get(P + "/cards?archived=true").json()] == [card["id"]]
    jane.patch(C, json={"archived": False})

    # ---- Comments and attachments
    r = jane.post(C + "/comments", json={"content": "What about error handling?"})
    assert r.status_code == 201
    comments = jane.get(C + "/comments").json()
    assert comments[0]["authorName"] == "Jane Smith" and comments[0]["content"] == "What about error handling?"
    r = jane.post(C + "/attachments", files={"file": ("document.pdf", b"%PDF-1.4 hello", "application/pdf")})
    assert r.status_code == 201 and r.json()["mimeType"] == "application/pdf"
    att = r.json()
    r = jane.get(C + f"/attachments/{att['id']}")
    assert r.content == b"%PDF-1.4 hello" and r.headers["Content-Type"].startswith("application/pdf")
    assert jane.get(P + "/cards").json()[0]["commentCount"] == 1
    assert jane.delete(C + f"/comments/{comments[0]['id']}").json() == {"ok": True}
    assert jane.delete(C + f"/attachments/{att['id']}").json() == {"ok": True}

    # ---- Notifications: dev is a project member, jane's activity reaches dev
    wait_until(lambda: dev.get("/notifications/count").json()["count"] > 0, 10, message="dev notified")
    notes = dev.get("/notifications?limit=5&unreadOnly=true").json()
    assert notes and notes[0]["userId"] == dev_id and notes[0]["readAt"] is None and notes[0]["activity"]["type"]
    assert dev.patch(f"/notifications/{notes[0]['id']}/read").status_code == 200
    assert dev.patch("/notifications/read-all").status_code == 200
    assert dev.get("/notifications/count").json() == {"count": 0}

    # ---- Import & export
    r = jane.post(W + "/projects/import", json={
        "project": {"name": "Imported"}, "columns": [{"name": "To Do"}, {"name": "In Progress"}, {"name": "Done"}],
        "cards": [{"title": "First task", "columnIndex": 0, "priority": "medium"}]})
    assert r.status_code == 201
    snapshot = jane.get(P + "/export").json()
    assert jane.post(W + "/projects/import", json=snapshot).status_code == 201

    # ---- Pilotage (the reference's bodies)
    m = jane.post(W + "/pilotage/missions", json={"objective": "Implement billing module", "module": "billing"})
    assert m.status_code == 201
    mid = m.json()["id"]
    r = jane.patch(W + f"/pilotage/missions/{mid}", json={"status": "blocked", "blockedReason": "Waiting on API"})
    assert r.json()["status"] == "blocked"
    p = jane.post(W + "/pilotage/priorities", json={"label": "Ship billing MVP", "module": "billing"})
    assert p.status_code == 201
    t = jane.post(W + "/pilotage/todos", json={"label": "Write Stripe integration tests", "missionId": mid,
                                               "priorityId": p.json()["id"]})
    assert t.status_code == 201
    assert jane.patch(W + f"/pilotage/todos/{t.json()['id']}", json={"status": "done"}).json()["status"] == "done"
    assert jane.post(W + "/pilotage/decisions", json={
        "title": "Use Stripe over custom billing",
        "impact": "Reduces dev time by 3 weeks, adds 2.9% transaction fee"}).status_code == 201
    assert jane.post(W + "/pilotage/docs", json={"title": "Billing API Spec v2", "owner": "Jane Doe",
                                                 "sourceType": "tech"}).status_code == 201
    state = jane.get(W + "/pilotage/state").json()
    assert state["contractVersion"] == 7 and state["missions"][0]["id"] == mid
    assert {"cycle", "activePriorities", "todos", "decisions", "activeDocs", "usageContext"} <= set(state)
    a = jane.post(W + "/pilotage/actions/propose", json={
        "actionType": "move_card", "explanation": "All subtasks complete, move to Done",
        "payload": {"cardId": card["id"], "targetColumn": "Done"}})
    assert a.status_code == 201 and a.json()["status"] == "suggested"
    aid = a.json()["id"]
    assert [x["id"] for x in jane.get(W + "/pilotage/actions?status=suggested").json()] == [aid]
    assert jane.post(W + f"/pilotage/actions/{aid}/review", json={"approved": True, "reason": "Looks correct"}).status_code == 200
    r = jane.post(W + f"/pilotage/actions/{aid}/apply")
    assert r.status_code == 200 and r.json()["status"] == "applied", r.text
    assert jane.get(C).json()["columnId"] == other["id"]  # the card really sits in "Done"

    # ---- API tokens
    r = jane.post("/api-tokens", json={"name": "CI Pipeline", "scopes": ["projects:read", "projects:write"],
                                       "expiresAt": "2027-01-01T00:00:00Z"})
    assert r.status_code == 201 and r.json()["token"].startswith("synth_") and r.json()["prefix"] == r.json()["token"][:10]
    pat = Client(base, r.json()["token"])
    assert pat.get(P + "/cards").status_code == 200
    assert pat.get("/auth/me").status_code == 403
    assert "token" not in jane.get("/api-tokens").json()[0]
    assert jane.delete(f"/api-tokens/{r.json()['id']}").json() == {"ok": True}
    wait_until(lambda: pat.get(P + "/cards").status_code == 401, 1, message="revoked token refused")

    # ---- Clean-up the reference way: delete a column that still holds cards is refused, the org goes
    assert jane.delete(P + f"/columns/{other['id']}").status_code == 409
    assert jane.delete(C).json() == {"ok": True}
    assert jane.delete(P + f"/columns/{other['id']}").json() == {"ok": True}
    assert jane.delete(f"/organizations/{acme}").json() == {"ok": True}
    assert jane.get(W).status_code == 404
