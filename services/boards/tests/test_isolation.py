"""Tenant isolation: nothing of another organization is reachable by id — every such request is a 404."""
from tests.support import assert_error

from .helpers import P, make_card, make_project


def test_another_org_gets_404_on_every_id(owner, outsider):
    p = make_project(owner)
    pp = P(owner, p)
    col = p["columns"][0]
    card = make_card(owner, p)
    other_card = make_card(owner, p, title="other")
    comment = owner.post(f"{pp}/cards/{card['id']}/comments", json={"content": "c"}).json()
    label = owner.post(f"{pp}/labels", json={"name": "l", "color": "#123456"}).json()
    field = owner.post(f"{pp}/custom-fields", json={"name": "f", "type": "text"}).json()
    relation = owner.post(f"{pp}/cards/{card['id']}/relations",
                          json={"targetCardId": other_card["id"], "type": "related_to"}).json()
    scope = owner.post(f"{pp}/scopes", json={"name": "s"}).json()
    item = owner.post(f"{pp}/cards/{card['id']}/checklist", json={"title": "i"}).json()

    # the outsider uses the ids under their own workspace (the gateway refuses owner's workspace outright)
    op = f"{outsider.W}/projects/{p['id']}"
    oc = f"{op}/cards/{card['id']}"
    requests = [
        ("GET", op, None), ("PATCH", op, {"name": "x"}), ("DELETE", op, None), ("GET", f"{op}/export", None),
        ("GET", f"{op}/members", None), ("POST", f"{op}/members", {"email": owner.email}),
        ("DELETE", f"{op}/members/{owner.user_id}", None),
        ("GET", f"{op}/columns", None), ("POST", f"{op}/columns", {"name": "x"}),
        ("PATCH", f"{op}/columns/{col['id']}", {"name": "x"}), ("DELETE", f"{op}/columns/{col['id']}", None),
        ("GET", f"{op}/cards", None), ("POST", f"{op}/columns/{col['id']}/cards", {"title": "x"}),
        ("GET", oc, None), ("PATCH", oc, {"title": "x"}), ("DELETE", oc, None),
        ("GET", f"{oc}/comments", None), ("POST", f"{oc}/comments", {"content": "x"}),
        ("DELETE", f"{oc}/comments/{comment['id']}", None),
        ("GET", f"{op}/labels", None), ("POST", f"{op}/labels", {"name": "x", "color": "#000000"}),
        ("PATCH", f"{op}/labels/{label['id']}", {"name": "y"}), ("DELETE", f"{op}/labels/{label['id']}", None),
        ("POST", f"{oc}/labels/{label['id']}", None), ("DELETE", f"{oc}/labels/{label['id']}", None),
        ("GET", f"{op}/custom-fields", None), ("POST", f"{op}/custom-fields", {"name": "x", "type": "text"}),
        ("PATCH", f"{op}/custom-fields/{field['id']}", {"name": "y"}),
        ("DELETE", f"{op}/custom-fields/{field['id']}", None),
        ("PATCH", f"{oc}/custom-fields", {"values": {field["id"]: "v"}}),
        ("GET", f"{oc}/relations", None), ("POST", f"{oc}/relations", {"targetCardId": other_card["id"], "type": "blocks"}),
        ("DELETE", f"{op}/relations/{relation['id']}", None),
        ("POST", f"{oc}/checklist", {"title": "x"}), ("PATCH", f"{oc}/checklist/{item['_id']}", {"done": True}),
        ("DELETE", f"{oc}/checklist/{item['_id']}", None),
        ("GET", f"{op}/scopes", None), ("POST", f"{op}/scopes", {"name": "x"}),
        ("GET", f"{op}/scopes/{scope['id']}", None), ("PATCH", f"{op}/scopes/{scope['id']}", {"name": "x"}),
        ("DELETE", f"{op}/scopes/{scope['id']}", None), ("GET", f"{op}/scopes/{scope['id']}/views", None),
        ("PATCH", f"{op}/scopes/{scope['id']}/views", {"activeView": "list"}),
    ]
    for method, path, body in requests:
        assert_error(outsider.request(method, path, json=body), 404)
    # their own project cannot reach owner's cards, columns, labels… either
    mine = make_project(outsider)
    mp = P(outsider, mine)
    assert_error(outsider.get(f"{mp}/cards/{card['id']}"), 404)
    assert_error(outsider.patch(f"{mp}/columns/{col['id']}", json={"name": "x"}), 404)
    assert_error(outsider.post(f"{mp}/columns/{col['id']}/cards", json={"title": "x"}), 404)
    assert_error(outsider.patch(f"{mp}/labels/{label['id']}", json={"name": "x"}), 404)
    assert_error(outsider.get(f"{mp}/scopes/{scope['id']}"), 404)
    mine_card = make_card(outsider, mine)
    assert_error(outsider.post(f"{mp}/cards/{mine_card['id']}/relations",
                               json={"targetCardId": card["id"], "type": "blocks"}), 404)
    assert_error(outsider.patch(f"{mp}/cards/{mine_card['id']}", json={"columnId": col["id"]}), 404)
    # the owner's workspace path itself is refused by the gateway's guard
    assert outsider.get(f"{owner.W}/projects/{p['id']}").status_code == 404
    # and nothing changed
    assert owner.get(f"{pp}/cards/{card['id']}").json()["title"] == "Card"
    assert [x["name"] for x in owner.get(f"{pp}/labels").json()] == ["l"]
    assert [x["id"] for x in outsider.get(outsider.W + "/projects").json()] == [mine["id"]]
    assert p["id"] not in [r["projectId"] for r in outsider.get(outsider.W + "/projects/portfolio").json()]


def test_malformed_ids_are_404(owner):
    p = make_project(owner)
    pp = P(owner, p)
    for path in (f"{owner.W}/projects/xyz", f"{pp}/cards/xyz", f"{pp}/scopes/xyz", f"{pp}/cards/xyz/comments",
                 f"{pp}/cards/xyz/relations"):
        assert_error(owner.get(path), 404)
    assert_error(owner.delete(f"{pp}/labels/xyz"), 404)
    assert_error(owner.delete(f"{pp}/relations/xyz"), 404)
    assert_error(owner.patch(f"{pp}/custom-fields/xyz", json={"name": "a"}), 404)
