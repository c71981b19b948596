"""Labels, custom fields, relations, checklists, scopes and views, through the gateway."""
from tests.support import assert_error

from .helpers import P, cards_of, make_card, make_project


def test_labels_crud_unique_names_and_cards(owner):
    p = make_project(owner)
    url = f"{P(owner, p)}/labels"
    r = owner.post(url, json={"name": "bug", "color": "#ff0000"})
    assert r.status_code == 201, r.text
    bug = r.json()
    assert bug["name"] == "bug" and bug["color"].lower() == "#ff0000" and len(bug["id"]) == 24
    assert_error(owner.post(url, json={"name": "bug", "color": "#00FF00"}), 409)
    assert_error(owner.post(url, json={"name": "x", "color": "red"}), 400)
    assert_error(owner.post(url, json={"name": "x", "color": "#12345"}), 400)
    assert_error(owner.post(url, json={"name": "", "color": "#123456"}), 400)
    feat = owner.post(url, json={"name": "feature", "color": "#00FF00"}).json()
    assert [x["name"] for x in owner.get(url).json()] == ["bug", "feature"]
    assert_error(owner.patch(f"{url}/{feat['id']}", json={"name": "bug"}), 409)
    renamed = owner.patch(f"{url}/{feat['id']}", json={"name": "feat", "color": "#0000ff"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "feat"
    assert_error(owner.patch(f"{url}/{'1' * 24}", json={"name": "z"}), 404)
    # on cards
    card = make_card(owner, p)
    cl = f"{P(owner, p)}/cards/{card['id']}/labels"
    r = owner.post(f"{cl}/{bug['id']}")
    assert r.status_code == 201 and r.json()["labelIds"] == [bug["id"]]
    assert owner.post(f"{cl}/{bug['id']}").json()["labelIds"] == [bug["id"]]   # idempotent
    assert owner.post(f"{cl}/{feat['id']}").json()["labelIds"] == [bug["id"], feat["id"]]
    assert_error(owner.post(f"{cl}/{'2' * 24}"), 404)
    assert owner.delete(f"{cl}/{feat['id']}").json() == {"ok": True}
    assert owner.get(f"{P(owner, p)}/cards/{card['id']}").json()["labelIds"] == [bug["id"]]
    # labelIds through PATCH are checked
    assert_error(owner.patch(f"{P(owner, p)}/cards/{card['id']}", json={"labelIds": ["x"]}), 400)
    # deleting a label removes it from the cards
    assert owner.delete(f"{url}/{bug['id']}").json() == {"ok": True}
    assert owner.get(f"{P(owner, p)}/cards/{card['id']}").json()["labelIds"] == []
    assert_error(owner.delete(f"{url}/{bug['id']}"), 404)
    # names are unique per project only
    other = make_project(owner)
    assert owner.post(f"{P(owner, other)}/labels", json={"name": "feat", "color": "#123456"}).status_code == 201


def test_custom_fields_types_values_and_deletion(owner):
    p = make_project(owner)
    url = f"{P(owner, p)}/custom-fields"
    made = {}
    for name, kind, options in [("Notes", "text", None), ("Points", "number", None), ("Size", "select", ["S", "M", "L"]),
                                ("Tags", "multi-select", ["a", "b", "c"]), ("When", "date", None),
                                ("Blocked", "boolean", None)]:
        body = {"name": name, "type": kind} | ({"options": options} if options else {})
        r = owner.post(url, json=body)
        assert r.status_code == 201, r.text
        made[kind] = r.json()
        assert made[kind]["type"] == kind and made[kind]["options"] == (options or [])
    assert_error(owner.post(url, json={"name": "S", "type": "select"}), 400)
    assert_error(owner.post(url, json={"name": "S", "type": "multi-select", "options": []}), 400)
    assert_error(owner.post(url, json={"name": "S", "type": "color"}), 400)
    assert [f["name"] for f in owner.get(url).json()] == ["Notes", "Points", "Size", "Tags", "When", "Blocked"]
    card = make_card(owner, p)
    cf = f"{P(owner, p)}/cards/{card['id']}/custom-fields"
    values = {made["text"]["id"]: "hello", made["number"]["id"]: 3.5, made["select"]["id"]: "M",
              made["multi-select"]["id"]: ["a", "c"], made["date"]["id"]: "2026-04-01", made["boolean"]["id"]: True}
    r = owner.patch(cf, json={"values": values})
    assert r.status_code == 200, r.text
    got = r.json()["customFields"]
    assert got[made["text"]["id"]] == "hello" and got[made["number"]["id"]] == 3.5
    assert got[made["select"]["id"]] == "M" and got[made["multi-select"]["id"]] == ["a", "c"]
    assert got[made["date"]["id"]].startswith("2026-04-01T00:00:00") and got[made["boolean"]["id"]] is True
    for kind, bad in [("number", "3"), ("number", True), ("select", "XL"), ("multi-select", ["a", "z"]),
                      ("multi-select", "a"), ("date", "soon"), ("boolean", "yes"), ("text", 5)]:
        assert_error(owner.patch(cf, json={"values": {made[kind]["id"]: bad}}), 400)
    assert_error(owner.patch(cf, json={"values": {"f" * 24: 1}}), 400)
    bare = owner.patch(cf, json={made["text"]["id"]: "bare map"})   # {fieldId: value} without "values"
    assert bare.status_code == 200 and bare.json()["customFields"][made["text"]["id"]] == "bare map"
    cleared = owner.patch(cf, json={"values": {made["text"]["id"]: None}}).json()["customFields"]
    assert made["text"]["id"] not in cleared and cleared[made["number"]["id"]] == 3.5
    # retyping drops the values the new type refuses; renaming keeps them
    assert owner.patch(f"{url}/{made['number']['id']}", json={"name": "Estimate"}).json()["name"] == "Estimate"
    owner.patch(f"{url}/{made['select']['id']}", json={"options": ["S", "L"]})
    now_values = owner.get(f"{P(owner, p)}/cards/{card['id']}").json()["customFields"]
    assert made["select"]["id"] not in now_values and now_values[made["number"]["id"]] == 3.5
    assert_error(owner.patch(f"{url}/{made['text']['id']}", json={"type": "select"}), 400)
    # deleting a field removes its values
    assert owner.delete(f"{url}/{made['number']['id']}").json() == {"ok": True}
    assert made["number"]["id"] not in owner.get(f"{P(owner, p)}/cards/{card['id']}").json()["customFields"]
    assert_error(owner.delete(f"{url}/{made['number']['id']}"), 404)


def test_relations(owner):
    p = make_project(owner)
    a, b, c = (make_card(owner, p, title=t) for t in "ABC")
    rel = lambda card: f"{P(owner, p)}/cards/{card['id']}/relations"  # noqa: E731
    r = owner.post(rel(a), json={"targetCardId": b["id"], "type": "blocks"})
    assert r.status_code == 201, r.text
    blocks = r.json()
    assert (blocks["sourceCardId"], blocks["targetCardId"], blocks["type"]) == (a["id"], b["id"], "blocks")
    # seen from B: B is blocked by A
    from_b = owner.get(rel(b)).json()
    assert [(x["id"], x["sourceCardId"], x["targetCardId"], x["type"]) for x in from_b] == \
        [(blocks["id"], b["id"], a["id"], "blocked_by")]
    # the same relation from the other side is a duplicate
    assert_error(owner.post(rel(b), json={"targetCardId": a["id"], "type": "blocked_by"}), 409)
    assert_error(owner.post(rel(a), json={"targetCardId": b["id"], "type": "blocks"}), 409)
    assert_error(owner.post(rel(a), json={"targetCardId": a["id"], "type": "related_to"}), 400)
    assert_error(owner.post(rel(a), json={"targetCardId": "f" * 24, "type": "related_to"}), 404)
    assert_error(owner.post(rel(a), json={"targetCardId": b["id"], "type": "friend_of"}), 400)
    other = make_project(owner)
    foreign = make_card(owner, other)
    assert_error(owner.post(rel(a), json={"targetCardId": foreign["id"], "type": "related_to"}), 404)
    related = owner.post(rel(c), json={"targetCardId": a["id"], "type": "related_to"}).json()
    assert_error(owner.post(rel(a), json={"targetCardId": c["id"], "type": "related_to"}), 409)
    assert owner.post(rel(a), json={"targetCardId": c["id"], "type": "duplicates"}).status_code == 201
    # parent_of cycles
    assert owner.post(rel(a), json={"targetCardId": b["id"], "type": "parent_of"}).status_code == 201
    assert owner.post(rel(b), json={"targetCardId": c["id"], "type": "parent_of"}).status_code == 201
    assert_error(owner.post(rel(c), json={"targetCardId": a["id"], "type": "parent_of"}), 409)
    assert_error(owner.post(rel(b), json={"targetCardId": a["id"], "type": "parent_of"}), 409)
    assert len(owner.get(rel(a)).json()) == 4
    assert owner.delete(f"{P(owner, p)}/relations/{related['id']}").json() == {"ok": True}
    assert_error(owner.delete(f"{P(owner, p)}/relations/{related['id']}"), 404)
    assert related["id"] not in [x["id"] for x in owner.get(rel(c)).json()]
    # deleting a card deletes its relations
    owner.delete(f"{P(owner, p)}/cards/{b['id']}")
    assert all(b["id"] not in (x["sourceCardId"], x["targetCardId"]) for x in owner.get(rel(a)).json())


def test_checklist_items_and_progress(owner):
    p = make_project(owner)
    card = make_card(owner, p)
    url = f"{P(owner, p)}/cards/{card['id']}/checklist"
    r = owner.post(url, json={"title": "List endpoints"})
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["title"] == "List endpoints" and first["done"] is False and first["order"] == 0 and first["_id"]
    second = owner.post(url, json={"title": "Write tests"}).json()
    assert second["order"] == 1
    assert_error(owner.post(url, json={}), 400)
    assert_error(owner.post(url, json={"title": "x", "extra": 1}), 400)
    r = owner.patch(f"{url}/{first['_id']}", json={"done": True})
    assert r.status_code == 200 and r.json()["done"] is True
    card_now = owner.get(f"{P(owner, p)}/cards/{card['id']}").json()
    assert card_now["checklistProgress"] == 50 and card_now["checklist"][0]["done"] is True
    moved = owner.patch(f"{url}/{second['_id']}", json={"order": 0, "title": "Write tests first"}).json()
    assert moved["order"] == 0 and moved["title"] == "Write tests first"
    items = owner.get(f"{P(owner, p)}/cards/{card['id']}").json()["checklist"]
    assert [(i["_id"], i["order"]) for i in items] == [(second["_id"], 0), (first["_id"], 1)]
    assert_error(owner.patch(f"{url}/nope", json={"done": True}), 404)
    assert owner.delete(f"{url}/{second['_id']}").json() == {"ok": True}
    final = owner.get(f"{P(owner, p)}/cards/{card['id']}").json()
    assert final["checklistProgress"] == 100 and [i["order"] for i in final["checklist"]] == [0]
    assert_error(owner.delete(f"{url}/{second['_id']}"), 404)


def test_checklist_holds_at_most_100_items(owner):
    p = make_project(owner)
    card = make_card(owner, p, checklist=[{"title": f"i{n}"} for n in range(99)])
    url = f"{P(owner, p)}/cards/{card['id']}/checklist"
    assert owner.post(url, json={"title": "the 100th"}).status_code == 201
    assert_error(owner.post(url, json={"title": "the 101st"}), 400)


def test_scopes_views_and_their_boards(owner, db):
    p = make_project(owner)
    url = f"{P(owner, p)}/scopes"
    r = owner.post(url, json={"name": "Phase 1", "description": "first"})
    assert r.status_code == 201, r.text
    s1 = r.json()
    assert set(s1) >= {"id", "projectId", "name", "description", "order", "activeView", "createdAt"}
    assert (s1["projectId"], s1["order"], s1["activeView"]) == (p["id"], 0, "kanban")
    s2 = owner.post(url, json={"name": "Phase 2"}).json()
    assert s2["order"] == 1
    assert_error(owner.post(url, json={"name": ""}), 400)
    assert_error(owner.post(url, json={"name": "x", "color": "red"}), 400)
    bare = owner.post(url)   # the reference's example: no body at all
    assert bare.status_code == 201 and bare.json()["name"] and bare.json()["order"] == 2
    assert owner.delete(f"{url}/{bare.json()['id']}").status_code == 200
    assert [s["id"] for s in owner.get(url).json()] == [s1["id"], s2["id"]]
    assert owner.get(f"{url}/{s1['id']}").json()["name"] == "Phase 1"
    patched = owner.patch(f"{url}/{s2['id']}", json={"name": "Phase Two", "order": 0}).json()
    assert patched["name"] == "Phase Two" and patched["order"] == 0
    assert owner.get(f"{url}/{s1['id']}").json()["order"] == 1
    # views
    views = owner.get(f"{url}/{s1['id']}/views").json()
    assert views == {"views": ["kanban", "list", "calendar", "roadmap", "stats"], "activeView": "kanban"}
    assert owner.patch(f"{url}/{s1['id']}/views", json={"activeView": "list"}).json()["activeView"] == "list"
    assert owner.get(f"{url}/{s1['id']}").json()["activeView"] == "list"
    assert_error(owner.patch(f"{url}/{s1['id']}/views", json={"activeView": "gantt"}), 400)
    # a scope's own columns and cards
    col = owner.post(f"{P(owner, p)}/columns", json={"name": "Scoped", "scopeId": s1["id"]}).json()
    assert col["scopeId"] == s1["id"] and col["order"] == 0
    assert_error(owner.post(f"{P(owner, p)}/columns", json={"name": "x", "scopeId": "f" * 24}), 404)
    scoped = make_card(owner, p, col["id"], title="scoped")
    main = make_card(owner, p, 0, title="main")
    assert scoped["scopeId"] == s1["id"] and main["scopeId"] is None
    assert [c["id"] for c in owner.get(f"{P(owner, p)}/columns", params={"scopeId": s1["id"]}).json()] == [col["id"]]
    assert col["id"] not in [c["id"] for c in owner.get(f"{P(owner, p)}/columns", params={"scopeId": "main"}).json()]
    assert [c["title"] for c in cards_of(owner, p, scopeId=s1["id"])] == ["scoped"]
    assert [c["title"] for c in cards_of(owner, p, scopeId="main")] == ["main"]
    assert {c["title"] for c in cards_of(owner, p)} == {"scoped", "main"}
    # deleting the scope deletes its columns and cards, and renumbers the others
    assert owner.delete(f"{url}/{s1['id']}").json() == {"ok": True}
    assert_error(owner.get(f"{url}/{s1['id']}"), 404)
    assert_error(owner.get(f"{P(owner, p)}/cards/{scoped['id']}"), 404)
    assert db["columns"].count_documents({"_id": col["id"]}) == 0
    assert [(s["id"], s["order"]) for s in owner.get(url).json()] == [(s2["id"], 0)]
    assert owner.get(f"{P(owner, p)}/cards/{main['id']}").status_code == 200
