"""The project wizard through the gateway with the local LLM: questions adapted to the draft and its context
documents (pilotage's), refine rounds, the phased roadmap, execute producing the board exactly once."""
from __future__ import annotations

from tests.support import assert_error, register, team

from .conftest import MISSING


def make_document(client, title, text) -> dict:
    content = {"type": "doc", "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]}
    r = client.post(client.W + "/documents", json={"title": title, "docType": "spec", "content": content})
    assert r.status_code == 201, r.text
    return r.json()


def create(client, **body):
    r = client.post(client.W + "/project-drafts", json={"name": "Billing v2"} | body)
    assert r.status_code == 201, r.text
    return r.json()


def test_the_wizard_from_draft_to_board(owner):
    spec = make_document(owner, "Stripe integration spec", "Payments go through Stripe webhooks; GDPR applies.")
    draft = create(owner, description="- Invoices API\n- Customer portal\n- Dunning emails",
                   contextDocuments=[spec["id"]])
    assert draft["status"] == "scoping" and draft["contextDocuments"] == [spec["id"]] and draft["round"] == 1
    questions = [q["question"] for q in draft["questions"]]
    assert all(q["id"] and q["round"] == 1 for q in draft["questions"])
    assert any("Billing v2" in q for q in questions)
    assert any("Stripe integration spec" in q for q in questions)             # the context document
    assert any("integrate" in q for q in questions)                            # APIs / payments
    assert any("GDPR" in q or "compliance" in q for q in questions)            # from the document's text
    plain = create(owner, name="Team offsite")
    assert not any("integrate" in q["question"] for q in plain["questions"])   # adapted, not a fixed list
    assert any("Describe" in q["question"] for q in plain["questions"])        # no description: asked for one

    answers = [{"questionId": q["id"], "answer": "?" if n == 1 else f"A detailed answer number {n} for this"}
               for n, q in enumerate(draft["questions"])]
    refined = owner.post(f"{owner.W}/project-drafts/{draft['id']}/refine", json={"answers": answers})
    assert refined.status_code == 200, refined.text
    refined = refined.json()
    assert refined["status"] == "refining" and refined["round"] == 2
    follow_ups = [q for q in refined["questions"] if q["round"] == 2]
    assert len(follow_ups) == 1 and "more specific" in follow_ups[0]["question"]
    again = owner.post(f"{owner.W}/project-drafts/{draft['id']}/refine", json={"answers": [
        {"questionId": follow_ups[0]["id"], "answer": "Launch on 2027-03-01, fixed by the board"}]}).json()
    assert again["round"] == 2 and len(again["answers"]) == len(answers) + 1   # clear now: nothing more to ask

    r = owner.post(f"{owner.W}/project-drafts/{draft['id']}/generate-roadmap")
    assert r.status_code == 200, r.text
    ready = r.json()
    assert ready["status"] == "roadmap_ready"
    phases = ready["roadmap"]["phases"]
    assert [p["name"] for p in phases] == ["Discovery", "Design", "Build", "Launch"]
    titles = {d["title"] for p in phases for d in p["deliverables"]}
    assert {"Invoices API", "Customer portal", "Dunning emails"} <= titles
    assert "Review of 'Stripe integration spec'" in titles and "API contract" in titles
    assert owner.get(f"{owner.W}/project-drafts/{draft['id']}").json() == ready

    r = owner.post(f"{owner.W}/project-drafts/{draft['id']}/execute")
    assert r.status_code == 200, r.text
    executed = r.json()
    assert executed["status"] == "executed" and executed["projectId"]
    project = owner.get(f"{owner.W}/projects/{executed['projectId']}").json()
    assert project["name"] == "Billing v2"
    columns = owner.get(f"{owner.W}/projects/{executed['projectId']}/columns").json()
    assert [c["name"] for c in columns] == ["Discovery", "Design", "Build", "Launch"]
    cards = owner.get(f"{owner.W}/projects/{executed['projectId']}/cards").json()
    by_column = {c["id"]: [] for c in columns}
    for c in cards:
        by_column[c["columnId"]].append(c["title"])
    assert [sorted(by_column[c["id"]]) for c in columns] == [sorted(d["title"] for d in p["deliverables"])
                                                             for p in phases]
    assert_error(owner.post(f"{owner.W}/project-drafts/{draft['id']}/execute"), 409)
    assert_error(owner.post(f"{owner.W}/project-drafts/{draft['id']}/refine", json={"answers": answers[:1]}), 409)
    assert_error(owner.post(f"{owner.W}/project-drafts/{draft['id']}/generate-roadmap"), 409)
    assert [p["name"] for p in owner.get(owner.W + "/projects").json()].count("Billing v2") == 1


def test_wizard_validation_states_and_isolation(base, owner):
    draft = create(owner)
    path = f"{owner.W}/project-drafts/{draft['id']}"
    assert_error(owner.post(path + "/execute"), 409, "roadmap")
    for body in ({}, {"name": ""}, {"name": "x" * 201}, {"name": "x", "contextDocuments": ["nope"]},
                 {"name": "x", "other": 1}, {"name": "x", "contextDocuments": "abc"}):
        assert_error(owner.post(owner.W + "/project-drafts", json=body), 400)
    assert_error(owner.post(owner.W + "/project-drafts", json={"name": "x", "contextDocuments": [MISSING]}), 400)
    stranger = register(base)
    theirs = make_document(stranger, "Their doc", "secret")
    assert_error(owner.post(owner.W + "/project-drafts", json={"name": "x", "contextDocuments": [theirs["id"]]}), 400)
    for body in ({}, {"answers": []}, {"answers": [{"questionId": "q1"}]}, {"answers": [{"answer": "x"}]},
                 {"answers": [{"questionId": "q999", "answer": "x"}]}):
        assert_error(owner.post(path + "/refine", json=body), 400)
    assert_error(owner.post(path + "/generate-roadmap", json={"x": 1}), 400)
    for bad in (MISSING, "nope"):
        assert_error(owner.get(f"{owner.W}/project-drafts/{bad}"), 404)
        assert_error(owner.delete(f"{owner.W}/project-drafts/{bad}"), 404)
        assert_error(owner.post(f"{owner.W}/project-drafts/{bad}/refine", json={"answers": [
            {"questionId": "q1", "answer": "x"}]}), 404)
        assert_error(owner.post(f"{owner.W}/project-drafts/{bad}/generate-roadmap"), 404)
        assert_error(owner.post(f"{owner.W}/project-drafts/{bad}/execute"), 404)
    spath = f"{stranger.W}/project-drafts/{draft['id']}"
    assert_error(stranger.get(spath), 404)
    assert_error(stranger.delete(spath), 404)
    assert_error(stranger.post(spath + "/generate-roadmap"), 404)
    assert_error(stranger.post(spath + "/execute"), 404)
    assert stranger.get(stranger.W + "/project-drafts").json() == []
    member = team(base, owner)                   # any workspace member uses the wizard
    assert member.post(path + "/generate-roadmap").status_code == 200
    assert {d["id"] for d in owner.get(owner.W + "/project-drafts").json()} == {draft["id"]}
    assert owner.delete(path).json() == {"ok": True}
    assert_error(owner.get(path), 404)


def test_a_draft_executes_once_under_concurrent_requests(owner):
    from concurrent.futures import ThreadPoolExecutor

    draft = create(owner, name="Raced plan", description="- One thing\n- Another thing")
    owner.post(f"{owner.W}/project-drafts/{draft['id']}/generate-roadmap")
    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(lambda _: owner.with_token(owner.token).post(
            f"{owner.W}/project-drafts/{draft['id']}/execute").status_code, range(4)))
    assert codes == [200, 409, 409, 409]
    assert [p["name"] for p in owner.get(owner.W + "/projects").json()].count("Raced plan") == 1
