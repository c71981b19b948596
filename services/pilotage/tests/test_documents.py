"""Documents: types, TipTap content, the tree, filters and search, and the review workflow."""
import pytest

from tests.support import assert_error

from .conftest import events_of, workspace_id

MISSING = "0123456789abcdef01234567"
DOC = {"type": "doc", "content": [
    {"type": "heading", "attrs": {"level": 1}, "content": [{"type": "text", "text": "Billing"}]},
    {"type": "paragraph", "content": [
        {"type": "text", "text": "Use ", "marks": []},
        {"type": "text", "text": "Stripe", "marks": [{"type": "bold"}, {"type": "link", "attrs": {"href": "https://stripe.com"}}]}]},
    {"type": "bulletList", "content": [{"type": "listItem", "content": [{"type": "paragraph"}]}]},
]}
DOC_TYPES = ["document", "spec", "brief", "adr", "note", "reference", "template", "spreadsheet"]


def create(client, **body):
    body.setdefault("title", "Doc")
    r = client.post(client.W + "/documents", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_create_get_patch_delete(owner, pilotage_db):
    d = create(owner, title="Billing spec", docType="spec", content=DOC)
    assert set(d) == {"id", "title", "docType", "content", "parentId", "contextType", "contextId", "status",
                      "authorId", "reviewerId", "reviewNotes", "createdAt", "updatedAt"}
    assert (d["title"], d["docType"], d["content"], d["parentId"], d["status"], d["authorId"]) == (
        "Billing spec", "spec", DOC, None, "draft", owner.user_id)
    assert d["reviewerId"] is None and d["reviewNotes"] is None
    P = owner.W + f"/documents/{d['id']}"
    assert owner.get(P).json() == d
    new_content = {"type": "doc", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "v2"}]}]}
    r = owner.patch(P, json={"title": "Billing spec v2", "content": new_content, "docType": "adr"})
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["content"], r.json()["docType"]) == ("Billing spec v2", new_content, "adr")
    assert owner.get(P).json()["content"] == new_content
    assert_error(owner.patch(P, json={"status": "approved"}), 400)  # only through the workflow
    assert owner.delete(P).json() == {"ok": True}
    assert_error(owner.get(P), 404)
    assert_error(owner.delete(P), 404)
    ws = workspace_id(owner)
    for verb in ("created", "updated", "deleted"):
        ev = events_of(pilotage_db, ws, f"pilotage.document.{verb}")
        assert ev[-1]["data"]["document"]["id"] == d["id"] and "content" not in ev[-1]["data"]["document"]


def test_defaults_and_every_doc_type(owner):
    d = create(owner, title="Plain")
    assert d["docType"] == "document" and d["content"] == {"type": "doc", "content": []}
    for t in DOC_TYPES:
        assert create(owner, title=t, docType=t)["docType"] == t
    assert_error(owner.post(owner.W + "/documents", json={"title": "x", "docType": "memo"}), 400)


@pytest.mark.parametrize("content", [
    "just text",
    {"type": "paragraph"},
    {"type": "doc", "content": "x"},
    {"type": "doc", "content": [{"text": "no type"}]},
    {"type": "doc", "content": [{"type": "text"}]},
    {"type": "doc", "content": [{"type": "paragraph", "text": "text on a paragraph"}]},
    {"type": "doc", "content": [{"type": "paragraph", "marks": "bold"}]},
    {"type": "doc", "content": [{"type": "paragraph", "attrs": []}]},
    {"type": "doc", "content": [{"type": "paragraph", "style": "x"}]},
])
def test_content_must_be_a_tiptap_document(owner, content):
    assert_error(owner.post(owner.W + "/documents", json={"title": "x", "content": content}), 400, "tiptap")


def test_limits(owner):
    assert_error(owner.post(owner.W + "/documents", json={"docType": "note"}), 400, "title")
    assert_error(owner.post(owner.W + "/documents", json={"title": ""}), 400)
    assert_error(owner.post(owner.W + "/documents", json={"title": "t" * 201}), 400)
    assert create(owner, title="t" * 200)["title"] == "t" * 200
    big = {"type": "doc", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x" * 600_000}]}]}
    assert_error(owner.post(owner.W + "/documents", json={"title": "big", "content": big}), 413)
    deep = {"type": "paragraph"}
    for _ in range(70):
        deep = {"type": "blockquote", "content": [deep]}
    assert_error(owner.post(owner.W + "/documents", json={"title": "deep", "content": {"type": "doc", "content": [deep]}}), 400)
    assert_error(owner.post(owner.W + "/documents", json={"title": "x", "unknown": 1}), 400)


def test_tree_by_parent_without_cycles(owner):
    root = create(owner, title="Root")
    child = create(owner, title="Child", parentId=root["id"])
    grandchild = create(owner, title="Grandchild", parentId=child["id"])
    assert child["parentId"] == root["id"]
    assert_error(owner.post(owner.W + "/documents", json={"title": "x", "parentId": MISSING}), 400, "parentId")
    assert_error(owner.post(owner.W + "/documents", json={"title": "x", "parentId": "nope"}), 400)
    # no cycles
    assert_error(owner.patch(owner.W + f"/documents/{root['id']}", json={"parentId": grandchild["id"]}), 409)
    assert_error(owner.patch(owner.W + f"/documents/{root['id']}", json={"parentId": child["id"]}), 409)
    assert_error(owner.patch(owner.W + f"/documents/{root['id']}", json={"parentId": root["id"]}), 400)
    # moving within the tree is fine
    r = owner.patch(owner.W + f"/documents/{grandchild['id']}", json={"parentId": root["id"]})
    assert r.status_code == 200 and r.json()["parentId"] == root["id"]
    assert owner.patch(owner.W + f"/documents/{child['id']}", json={"parentId": None}).json()["parentId"] is None
    # a document with children cannot be deleted
    assert_error(owner.delete(owner.W + f"/documents/{root['id']}"), 409, "child")
    assert owner.delete(owner.W + f"/documents/{grandchild['id']}").status_code == 200
    assert owner.delete(owner.W + f"/documents/{root['id']}").status_code == 200


def test_filters_search_and_pagination(owner, base):
    mission = owner.post(owner.W + "/pilotage/missions", json={"objective": "o"}).json()
    spec = create(owner, title="Billing API Spec", docType="spec")
    note = create(owner, title="Meeting notes", docType="note", parentId=spec["id"])
    brief = create(owner, title="billing brief", docType="brief", contextType="mission", contextId=mission["id"])
    proj = create(owner, title="Project doc", contextType="project", contextId="665f1a2b3c4d5e6f7a8b9c0d")
    L = owner.W + "/documents"
    rows = owner.get(L).json()
    assert [d["id"] for d in rows] == [spec["id"], note["id"], brief["id"], proj["id"]]
    assert "content" not in rows[0] and rows[0]["title"] == "Billing API Spec"
    assert [d["id"] for d in owner.get(L + "?docType=note").json()] == [note["id"]]
    assert [d["id"] for d in owner.get(L + f"?parentId={spec['id']}").json()] == [note["id"]]
    assert [d["id"] for d in owner.get(L + "?parentId=root").json()] == [spec["id"], brief["id"], proj["id"]]
    assert [d["id"] for d in owner.get(L + "?contextType=mission").json()] == [brief["id"]]
    assert [d["id"] for d in owner.get(L + f"?contextType=mission&contextId={mission['id']}").json()] == [brief["id"]]
    assert [d["id"] for d in owner.get(L + "?contextId=665f1a2b3c4d5e6f7a8b9c0d").json()] == [proj["id"]]
    assert [d["id"] for d in owner.get(L + "?q=BILLING").json()] == [spec["id"], brief["id"]]
    assert owner.get(L + "?q=.*").json() == []  # a literal search, not a pattern
    r = owner.get(L + "?limit=3")
    assert len(r.json()) == 3
    r2 = owner.get(L + f"?limit=3&cursor={r.headers['X-Next-Cursor']}")
    assert [d["id"] for d in r2.json()] == [proj["id"]] and "X-Next-Cursor" not in r2.headers
    assert_error(owner.get(L + "?docType=memo"), 400)
    assert_error(owner.get(L + "?parentId=xyz"), 400)
    assert_error(owner.get(L + "?limit=0"), 400)
    # context rules
    assert_error(owner.post(L, json={"title": "x", "contextType": "mission", "contextId": MISSING}), 400)
    assert_error(owner.post(L, json={"title": "x", "contextType": "project"}), 400, "contextId")
    assert_error(owner.post(L, json={"title": "x", "contextId": "abc"}), 400, "contextType")
    assert_error(owner.post(L, json={"title": "x", "contextType": "galaxy", "contextId": "abc"}), 400)


def test_review_workflow(owner, viewer, reviewer, pilotage_db):
    # any member writes and submits; reviewing needs reviewer/owner
    d = create(viewer, title="Proposal", docType="brief")
    S = viewer.W + f"/documents/{d['id']}/submit-review"
    R = viewer.W + f"/documents/{d['id']}/review"
    assert_error(reviewer.post(R, json={"status": "approved"}), 409)  # still a draft
    r = viewer.post(S)
    assert r.status_code == 200 and r.json()["status"] == "pending_review"
    assert_error(viewer.post(S), 409)  # already pending
    assert_error(viewer.post(R, json={"status": "approved"}), 403, "reviewer")
    assert_error(reviewer.post(R, json={"status": "draft"}), 400)
    assert_error(reviewer.post(R, json={}), 400, "status")
    assert_error(reviewer.post(R, json={"status": "approved", "notes": "n" * 2001}), 400)
    r = reviewer.post(R, json={"status": "changes_requested", "notes": "Add the pricing table"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["reviewerId"], body["reviewNotes"]) == (
        "changes_requested", reviewer.user_id, "Add the pricing table")
    assert_error(reviewer.post(R, json={"status": "approved"}), 409)  # not pending any more
    assert viewer.patch(viewer.W + f"/documents/{d['id']}", json={"title": "Proposal v2"}).status_code == 200
    assert viewer.post(S).json()["status"] == "pending_review"  # again, from changes_requested
    r = owner.post(R, json={"status": "approved", "notes": "Good"})
    assert r.json()["status"] == "approved" and r.json()["reviewerId"] == owner.user_id
    assert_error(viewer.post(S), 409)  # approved is final for the workflow
    assert_error(owner.post(R, json={"status": "approved"}), 409)
    assert [x["id"] for x in owner.get(owner.W + "/documents?status=approved").json()] == [d["id"]]
    ws = workspace_id(owner)
    assert len(events_of(pilotage_db, ws, "pilotage.document.submitted")) == 2
    assert [e["data"]["document"]["status"] for e in events_of(pilotage_db, ws, "pilotage.document.reviewed")] == [
        "changes_requested", "approved"]


def test_documents_are_isolated_by_workspace(owner, outsider):
    d = create(owner, title="Secret")
    for method in ("get", "delete"):
        assert_error(getattr(outsider, method)(outsider.W + f"/documents/{d['id']}"), 404)
    assert_error(outsider.patch(outsider.W + f"/documents/{d['id']}", json={"title": "x"}), 404)
    assert_error(outsider.post(outsider.W + f"/documents/{d['id']}/submit-review"), 404)
    assert_error(outsider.post(outsider.W + f"/documents/{d['id']}/review", json={"status": "approved"}), 404)
    assert outsider.get(outsider.W + "/documents").json() == []
    assert_error(outsider.post(outsider.W + "/documents", json={"title": "x", "parentId": d["id"]}), 400)
    assert_error(owner.get(owner.W + "/documents/not-an-id"), 404)
    assert owner.get(owner.W + f"/documents/{d['id']}").json()["title"] == "Secret"
