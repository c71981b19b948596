"""Import and export: the snapshot round trip, the reference's import shape, the limits."""
from tests.support import assert_error, team

from .helpers import P, make_card, make_project


def _rich_project(owner, mate):
    p = make_project(owner, name="Rich", description="all the things")
    pp = P(owner, p)
    bug = owner.post(f"{pp}/labels", json={"name": "bug", "color": "#FF0000"}).json()
    ui = owner.post(f"{pp}/labels", json={"name": "ui", "color": "#00FF00"}).json()
    size = owner.post(f"{pp}/custom-fields", json={"name": "Size", "type": "select", "options": ["S", "M"]}).json()
    pts = owner.post(f"{pp}/custom-fields", json={"name": "Points", "type": "number"}).json()
    scope = owner.post(f"{pp}/scopes", json={"name": "Phase 1", "description": "p1"}).json()
    owner.patch(f"{pp}/scopes/{scope['id']}/views", json={"activeView": "calendar"})
    scol = owner.post(f"{pp}/columns", json={"name": "Scoped col", "scopeId": scope["id"]}).json()
    a = make_card(owner, p, 0, title="A", description="alpha", priority="high", dueDate="2026-04-01",
                  startDate="2026-03-01", assigneeId=mate.user_id, labelIds=[bug["id"], ui["id"]],
                  checklist=[{"title": "one", "done": True}, {"title": "two"}])
    b = make_card(owner, p, 0, title="B")
    c = make_card(owner, p, 2, title="C", priority="low")
    make_card(owner, p, scol["id"], title="S")
    owner.patch(f"{pp}/cards/{a['id']}/custom-fields", json={"values": {size["id"]: "M", pts["id"]: 5}})
    owner.patch(f"{pp}/cards/{c['id']}", json={"archived": True})
    owner.post(f"{pp}/cards/{a['id']}/relations", json={"targetCardId": b["id"], "type": "blocks"})
    owner.post(f"{pp}/cards/{b['id']}/relations", json={"targetCardId": c["id"], "type": "parent_of"})
    return p


def _normalised(snapshot):
    """The snapshot with ids replaced by names, so two projects compare equal."""
    labels = {x["id"]: x["name"] for x in snapshot["labels"]}
    fields = {f["id"]: f["name"] for f in snapshot["customFields"]}
    scopes = {s["id"]: s["name"] for s in snapshot["scopes"]}
    columns = {c["id"]: c["name"] for c in snapshot["columns"]}
    cards = {c["id"]: c["title"] for c in snapshot["cards"]}
    return {
        "project": {k: snapshot["project"][k] for k in ("name", "description")},
        "scopes": [{k: v for k, v in s.items() if k != "id"} for s in snapshot["scopes"]],
        "columns": [(c["name"], c["order"], scopes.get(c["scopeId"])) for c in snapshot["columns"]],
        "labels": [(x["name"], x["color"]) for x in snapshot["labels"]],
        "customFields": [(f["name"], f["type"], f["options"]) for f in snapshot["customFields"]],
        "cards": [{**{k: v for k, v in c.items() if k not in ("id", "columnId", "scopeId", "labelIds", "customFields",
                                                             "checklist", "createdAt", "updatedAt")},
                   "column": columns[c["columnId"]], "scope": scopes.get(c["scopeId"]),
                   "labels": [labels[i] for i in c["labelIds"]],
                   "fields": {fields[k]: v for k, v in c["customFields"].items()},
                   "checklist": [(i["title"], i["done"], i["order"]) for i in c["checklist"]]}
                  for c in snapshot["cards"]],
        "relations": sorted((cards[r["sourceCardId"]], cards[r["targetCardId"]], r["type"])
                            for r in snapshot["relations"]),
    }


def test_export_is_complete_and_import_round_trips(base, owner):
    mate = team(base, owner)
    p = _rich_project(owner, mate)
    r = owner.get(f"{P(owner, p)}/export")
    assert r.status_code == 200, r.text
    snap = r.json()
    assert snap["version"] == 1 and snap["project"]["name"] == "Rich"
    assert len(snap["cards"]) == 4 and len(snap["columns"]) == 4 and len(snap["relations"]) == 2
    card_a = next(c for c in snap["cards"] if c["title"] == "A")
    for key in ("description", "priority", "startDate", "dueDate", "assigneeId", "archived", "labelIds",
                "customFields", "checklist", "columnIndex", "order"):
        assert key in card_a, key
    assert card_a["assigneeId"] == mate.user_id and len(card_a["labelIds"]) == 2 and len(card_a["customFields"]) == 2
    assert any(c["archived"] for c in snap["cards"])

    imported = owner.post(owner.W + "/projects/import", json=snap)
    assert imported.status_code == 201, imported.text
    new = imported.json()
    assert new["id"] != p["id"] and new["name"] == "Rich"
    again = owner.get(f"{P(owner, new)}/export").json()
    assert _normalised(again) == _normalised(snap)
    assert {c["id"] for c in again["cards"]}.isdisjoint({c["id"] for c in snap["cards"]})
    # the imported board is a live board: its cards move, its assignee is a project member
    mate_ids = {m["userId"] for m in owner.get(f"{P(owner, new)}/members").json()}
    assert mate.user_id in mate_ids


def test_import_reference_shape(owner):
    body = {"project": {"name": "Imported"},
            "columns": [{"name": "To Do"}, {"name": "In Progress"}, {"name": "Done"}],
            "cards": [{"title": "First task", "columnIndex": 0, "priority": "medium"},
                      {"title": "Second", "columnIndex": 2}]}
    r = owner.post(owner.W + "/projects/import", json=body)
    assert r.status_code == 201, r.text
    p = r.json()
    assert [c["name"] for c in p["columns"]] == ["To Do", "In Progress", "Done"]
    cards = owner.get(f"{P(owner, p)}/cards").json()
    by_title = {c["title"]: c for c in cards}
    assert by_title["First task"]["columnId"] == p["columns"][0]["id"] and by_title["First task"]["priority"] == "medium"
    assert by_title["Second"]["columnId"] == p["columns"][2]["id"] and by_title["Second"]["order"] == 0


def test_import_limits_and_validation(owner):
    url = owner.W + "/projects/import"
    cols = [{"name": f"c{n}"} for n in range(50)]
    assert owner.post(url, json={"project": {"name": "50 cols"}, "columns": cols}).status_code == 201
    assert_error(owner.post(url, json={"project": {"name": "51"}, "columns": cols + [{"name": "x"}]}), 400)
    cards = [{"title": f"t{n}", "columnIndex": 0} for n in range(500)]
    r = owner.post(url, json={"project": {"name": "500 cards"}, "columns": [{"name": "A"}], "cards": cards})
    assert r.status_code == 201, r.text
    assert len(owner.get(f"{P(owner, r.json())}/cards").json()) == 500
    assert_error(owner.post(url, json={"project": {"name": "501"}, "columns": [{"name": "A"}],
                                       "cards": cards + [{"title": "x", "columnIndex": 0}]}), 400)
    assert_error(owner.post(url, json={"columns": []}), 400)
    assert_error(owner.post(url, json={"project": {"name": "x"}, "columns": [{"name": "A"}],
                                       "cards": [{"title": "x", "columnIndex": 3}]}), 400)
    assert_error(owner.post(url, json={"project": {"name": "x"}, "cards": [{"title": "x"}]}), 400)
    assert_error(owner.post(url, json={"project": {"name": "x"}, "columns": [{"name": "A"}],
                                       "cards": [{"title": "t" * 501, "columnIndex": 0}]}), 400)
    assert_error(owner.post(url, json={"project": {"name": "x"}, "surprise": True}), 400)


def test_export_of_unknown_project_is_404(owner):
    assert_error(owner.get(f"{owner.W}/projects/{'c' * 24}/export"), 404)
