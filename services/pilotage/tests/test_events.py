"""Pilotage follows identity: deleting a workspace or an org removes its pilotage data; pilotage's
own events reach JetStream (the outbox relay ran)."""
from tests.support import EventCapture, register, wait_until

from .conftest import workspace_id


def seed(client):
    m = client.post(client.W + "/pilotage/missions", json={"objective": "o"}).json()
    client.post(client.W + "/pilotage/todos", json={"label": "t", "missionId": m["id"]})
    client.post(client.W + "/pilotage/decisions", json={"title": "d"})
    client.post(client.W + "/pilotage/priorities", json={"label": "p"})
    client.post(client.W + "/pilotage/docs", json={"title": "d"})
    client.post(client.W + "/pilotage/actions/propose", json={"actionType": "x", "explanation": "e"})
    client.post(client.W + "/documents", json={"title": "doc"})
    client.patch(client.W + "/pilotage/state", json={"cycle": "v3"})


def counts(db, ws_id):
    names = ("missions", "todos", "decisions", "priorities", "docs", "actions", "documents")
    return {n: db[n].count_documents({"workspaceId": ws_id}) for n in names} | {
        "settings": db["settings"].count_documents({"_id": ws_id})}


def test_workspace_deletion_removes_its_pilotage_data(base, pilotage_db):
    owner = register(base)
    ws = owner.post(f"/orgs/{owner.org}/workspaces", json={"name": "Team", "slug": "team"})
    assert ws.status_code == 201, ws.text
    ws_id = ws.json()["id"]
    team = owner.with_token(owner.token)
    team.W = f"/orgs/{owner.org}/workspaces/team"
    seed(team)
    seed(owner)  # the personal workspace keeps its data
    assert all(v == 1 for v in counts(pilotage_db, ws_id).values()), counts(pilotage_db, ws_id)
    assert owner.delete(team.W).status_code == 200
    wait_until(lambda: sum(counts(pilotage_db, ws_id).values()) == 0, timeout=20, message="workspace data removed")
    assert all(v == 1 for v in counts(pilotage_db, workspace_id(owner)).values())


def test_org_deletion_removes_its_pilotage_data(base, pilotage_db):
    owner = register(base)
    org = owner.post("/organizations", json={"name": "Acme", "slug": f"acme-{owner.user_id[-8:]}"})
    assert org.status_code == 201, org.text
    slug = org.json()["slug"]
    ws = owner.post(f"/orgs/{slug}/workspaces", json={"name": "Eng", "slug": "eng"})
    assert ws.status_code == 201, ws.text
    ws_id = ws.json()["id"]
    eng = owner.with_token(owner.token)
    eng.W = f"/orgs/{slug}/workspaces/eng"
    seed(eng)
    assert sum(counts(pilotage_db, ws_id).values()) == 8
    assert owner.delete(f"/organizations/{slug}").status_code == 200
    wait_until(lambda: sum(counts(pilotage_db, ws_id).values()) == 0, timeout=20, message="org data removed")


def test_events_are_relayed_to_jetstream(stack, owner, pilotage_db):
    with EventCapture(stack, "pilotage.mission.created") as events:
        m = owner.post(owner.W + "/pilotage/missions", json={"objective": "relayed"}).json()
        env = events.wait_for(lambda e: e["data"]["mission"]["id"] == m["id"], timeout=15)
    wait_until(lambda: pilotage_db["outbox"].count_documents({"envelope.data.mission.id": m["id"]}) == 0,
               timeout=15, message="the published outbox row deleted")
    assert env["workspaceId"] == workspace_id(owner) and env["orgId"] and env["data"]["mission"]["objective"] == "relayed"
