"""Events of the other services become deliveries: pilotage's actions and documents, automations'
failures, agents' missions and proposals (published on the AGENTS stream as agents will, whether or
not agents runs), and checklists completed. Each test runs when its producer is in the stack."""
from __future__ import annotations

import asyncio
import json

import pytest
from standardwebhooks.webhooks import Webhook

from libs.common.bus import dumps, event
from tests.support import register

from .conftest import make_card, make_webhook, of_type


def needs(stack, *services):
    missing = [s for s in services if s not in stack.services]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} in the stack (STACK_SERVICES)")


def received(rx, hook, kind, n=1, timeout=20.0) -> list[dict]:
    return [Webhook(hook["secret"]).verify(r.body, r.headers) for r in rx.wait(n, timeout=timeout, where=of_type(kind))]


def test_pilotage_actions_and_documents(stack, owner, receiver):
    needs(stack, "pilotage")
    hook = make_webhook(owner, receiver.url, events=["action_proposed", "document_submitted", "document_reviewed"])
    r = owner.post(owner.W + "/pilotage/actions/propose",
                   json={"actionType": "create_todo", "explanation": "Follow up", "payload": {"label": "Call"}})
    assert r.status_code == 201, r.text
    [proposed] = received(receiver, hook, "action_proposed")
    assert proposed["data"]["action"]["id"] == r.json()["id"]
    doc = owner.post(owner.W + "/documents", json={"title": "Spec"}).json()
    assert owner.post(owner.W + f"/documents/{doc['id']}/submit-review").status_code == 200
    [submitted] = received(receiver, hook, "document_submitted")
    assert submitted["data"]["document"]["id"] == doc["id"]
    assert owner.post(owner.W + f"/documents/{doc['id']}/review", json={"status": "approved"}).status_code == 200
    [reviewed] = received(receiver, hook, "document_reviewed")
    assert reviewed["data"]["document"]["status"] == "approved"


def test_an_automation_failure(stack, owner, project, receiver):
    needs(stack, "automations")
    hook = make_webhook(owner, receiver.url, events=["automation_failed"])
    P = f"{owner.W}/projects/{project['id']}"
    extra = owner.post(P + "/columns", json={"name": "Parking"}).json()
    rule = owner.post(P + "/automations", json={"trigger": "task_created",
                                                 "action": {"type": "move_card", "params": {"columnId": extra["id"]}}})
    assert rule.status_code == 201, rule.text
    assert owner.delete(f"{P}/columns/{extra['id']}").status_code == 200
    card = make_card(owner, project)
    [failed] = received(receiver, hook, "automation_failed")
    assert failed["data"]["ruleId"] == rule.json()["id"] and failed["data"]["cardId"] == card["id"]
    assert "no longer exists" in failed["data"]["detail"]


def test_a_completed_checklist(owner, project, receiver):
    hook = make_webhook(owner, receiver.url, events=["checklist_completed"])
    card = make_card(owner, project)
    C = f"{owner.W}/projects/{project['id']}/cards/{card['id']}/checklist"
    item = owner.post(C, json={"title": "Only step"}).json()
    assert owner.patch(f"{C}/{item['_id']}", json={"done": True}).status_code == 200
    [done] = received(receiver, hook, "checklist_completed")
    assert done["data"]["card"]["id"] == card["id"]


def publish(stack, envelope: dict) -> None:
    import nats

    async def go():
        nc = await nats.connect(f"nats://127.0.0.1:{stack.infra.nats_port}")
        try:
            await nc.jetstream().publish(envelope["type"], dumps(envelope), headers={"Nats-Msg-Id": envelope["id"]})
        finally:
            await nc.close()

    asyncio.run(go())


def test_agents_missions_and_proposals_from_the_agents_stream(stack, owner, receiver):
    hook = make_webhook(owner, receiver.url, events=["mission_updated", "proposal_created"])
    workspaces = owner.get(f"/orgs/{owner.org}/workspaces").json()
    ws_id = next(w["id"] for w in workspaces if w["slug"] == owner.ws)
    actor = {"userId": owner.user_id, "via": "user"}
    mission = event("agents.mission.updated", {"mission": {"id": "m1", "status": "running"}}, actor=actor,
                    workspace_id=ws_id)
    elsewhere = event("agents.proposal.created", {"proposal": {"id": "p0"}}, actor=actor,
                      workspace_id=register_ws(stack, owner))
    proposal = event("agents.proposal.created", {"proposal": {"id": "p1", "kind": "comment"}}, actor=actor,
                     workspace_id=ws_id)
    for envelope in (mission, mission, elsewhere, proposal):   # mission twice: one delivery
        publish(stack, envelope)
    [updated] = received(receiver, hook, "mission_updated")
    [created] = received(receiver, hook, "proposal_created")
    assert updated["id"] == mission["id"] and updated["data"]["mission"]["status"] == "running"
    assert created["data"]["proposal"]["id"] == "p1"
    assert [json.loads(r.body)["type"] for r in receiver.requests].count("mission_updated") == 1


def register_ws(stack, owner) -> str:
    other = register(stack.url)
    return next(w["id"] for w in other.get(f"/orgs/{other.org}/workspaces").json() if w["slug"] == other.ws)


def test_an_agents_mission_and_its_proposals_through_the_agents_service(stack, owner, project, receiver):
    needs(stack, "agents")
    hook = make_webhook(owner, receiver.url, events=["mission_updated", "proposal_created"])
    card = make_card(owner, project, title="Write the release notes")
    r = owner.post(owner.W + "/agents", json={"name": "Notes helper", "autonomyMode": "supervised"})
    assert r.status_code == 201, r.text
    m = owner.post(f"{owner.W}/agents/{r.json()['id']}/missions", json={"cardId": card["id"], "prompt": "Break it down"})
    assert m.status_code == 201, m.text
    updates = received(receiver, hook, "mission_updated", timeout=30)
    assert updates[0]["data"]["mission"]["id"] == m.json()["id"]
    proposal = received(receiver, hook, "proposal_created", timeout=30)[0]
    assert proposal["data"]["mission"]["id"] == m.json()["id"] and proposal["data"]["proposal"]["id"]
