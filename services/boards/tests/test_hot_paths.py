"""The hot paths' cost in database commands, the ranks behind the dense orders, ETags, and boards
from before ranks.

Counting rule (test_command_budgets): every command the boards service sends for one service call
on a client built like boards' (`libs.common.mongo.connect`'s options) with a
`pymongo.monitoring.CommandListener`, `commitTransaction` included (on the embedded stand-in it is
a round trip like any other). Not counted: the driver's own handshake and monitoring (`hello`,
`isMaster`, `ping`, `buildInfo`, `endSessions`), sent once per connection, and the outbox relay's
`delete` after the publish (off the request path, in the NATS thread; no bus here). The request's
`get_project_or_404` is counted where the route does it (board reads).
"""
from __future__ import annotations

import pytest
from pymongo import MongoClient, monitoring

from libs.common.mongo import new_id
from libs.common.outbox import Outbox
from libs.common.schemas import load
from services.boards.activity import Actor
from services.boards.schemas import CardIn
from services.boards.service import BoardsService
from services.boards.storage import BoardsStore, rank_between
from tests.support import assert_error

from .helpers import P, cards_of, make_card, make_project, orders

IGNORED = {"hello", "ismaster", "isMaster", "ping", "buildInfo", "buildinfo", "endSessions", "saslStart",
           "saslContinue"}


class Commands(monitoring.CommandListener):
    def __init__(self):
        self.seen: list[tuple[str, str]] = []
        self.on = False

    def started(self, event):
        if self.on and event.command_name not in IGNORED:
            self.seen.append((event.command_name, str(event.command.get(event.command_name))))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


@pytest.fixture(scope="module")
def counted(stack):
    listener = Commands()
    client = MongoClient(f"mongodb://127.0.0.1:{stack.infra.mongo_port}", appname="boards-test", tz_aware=True,
                         serverSelectionTimeoutMS=5000, connectTimeoutMS=3000, retryWrites=False,
                         event_listeners=[listener])
    db = client[f"{stack.env.get('MONGO_DB_PREFIX', 'stellary_')}boards"]
    service = BoardsService(store=BoardsStore(db), outbox=Outbox(db), client=client, bus=None, db=db)
    actor = Actor(user_id=new_id(), workspace_id=new_id(), org_id=new_id(), email="count@example.com", name="Count")
    project = service.create_project(actor=actor, name="Counted", template_id="kanban")
    service.get_project_or_404(actor, project["id"])   # warm up: transactions support, stand-in detection
    yield service, actor, project, listener, db
    client.close()


def run(listener, fn):
    listener.seen, listener.on = [], True
    try:
        result = fn()
    finally:
        listener.on = False
    return result, list(listener.seen)


def test_command_budgets(counted):
    service, actor, project, listener, _ = counted
    pid, cols = project["id"], [c["id"] for c in project["columns"]]
    for i in range(20):
        service.create_card(actor=actor, project_id=pid, column_id=cols[0], data=load(CardIn(), {"title": f"c{i}"}))

    card, seen = run(listener, lambda: service.create_card(actor=actor, project_id=pid, column_id=cols[0],
                                                           data=load(CardIn(), {"title": "counted"})))
    assert card["order"] == 20
    assert len(seen) <= 4, seen            # project (version, count, rank), card, outbox row, commit

    moved, seen = run(listener, lambda: service.update_card(actor=actor, project_id=pid, card_id=card["id"],
                                                            data={"columnId": cols[1]}))
    assert moved["columnId"] == cols[1] and moved["order"] == 0
    assert len(seen) <= 4, seen            # card, project, outbox row, commit

    # a move to a place (neighbours' ranks first) and a reorder inside a column: one command more
    _, seen = run(listener, lambda: service.update_card(actor=actor, project_id=pid, card_id=card["id"],
                                                        data={"columnId": cols[0], "order": 5}))
    assert len(seen) <= 5, seen

    def board_read():
        current = service.get_project_or_404(actor, pid)
        service.list_columns(actor=actor, project_id=pid, project=current)
        return service.list_cards(actor=actor, project_id=pid, project=current)

    (cards, _), seen = run(listener, board_read)
    assert len(cards) == 21
    per_collection: dict[str, int] = {}
    for name, collection in seen:
        per_collection[collection] = per_collection.get(collection, 0) + 1
    assert all(n == 1 for n in per_collection.values()) and set(per_collection) == {"projects", "columns", "cards"}, seen
    assert [c["order"] for c in cards if c["columnId"] == cols[0]] == list(range(21))


def test_column_queries_use_the_index(counted):
    _, actor, project, _, db = counted
    pid, col = project["id"], project["columns"][2]["id"]
    for name, command in {
        "end of a column": {"find": "cards", "filter": {"projectId": {"$eq": pid}, "columnId": {"$eq": col}},
                            "sort": {"rank": -1}, "limit": 1},
        "neighbours": {"find": "cards", "filter": {"projectId": {"$eq": pid}, "columnId": {"$eq": col},
                                                   "_id": {"$ne": "x"}}, "sort": {"rank": 1, "_id": 1}},
        "position": {"find": "cards", "filter": {"projectId": {"$eq": pid}, "columnId": {"$eq": col},
                                                 "rank": {"$lt": 1}}},
        "board": {"find": "cards", "filter": {"projectId": {"$eq": pid}, "workspaceId": {"$eq": actor.workspace_id}}},
    }.items():
        plan = db.command("explain", command)
        details = " ".join(str(step) for step in plan["queryPlanner"]["winningPlan"])
        assert "USING INDEX" in details or "IXSCAN" in details, (name, details)


def test_rank_between():
    assert rank_between(10, 20) == 15
    assert rank_between(None, 2 ** 21) == 2 ** 20
    assert rank_between(1, None) is None and rank_between(None, None) is None
    assert rank_between(1, 1) is None and rank_between(1, 2) is None and rank_between(1, 3) == 2


def test_many_moves_to_one_place_stay_dense(owner):
    """Moving cards again and again between the same two neighbours exhausts the floats between them:
    the column is rebalanced and the orders stay dense and right."""
    p = make_project(owner)
    todo = p["columns"][0]["id"]
    cards = [make_card(owner, p, 0, title=f"c{i}") for i in range(4)]
    expected = [c["title"] for c in cards]
    for i in range(70):
        card = cards[2 + i % 2]
        r = owner.patch(f"{P(owner, p)}/cards/{card['id']}", json={"order": 1})
        assert r.status_code == 200 and r.json()["order"] == 1, r.text
        expected.remove(card["title"])
        expected.insert(1, card["title"])
    assert orders(owner, p, todo) == [(t, n) for n, t in enumerate(expected)]


def test_moves_keep_orders_dense_and_responses_right(owner):
    p = make_project(owner)
    a, b, c = (col["id"] for col in p["columns"])
    cards = [make_card(owner, p, 0, title=f"c{i}") for i in range(5)]
    assert [x["order"] for x in cards] == list(range(5))
    r = owner.patch(f"{P(owner, p)}/cards/{cards[1]['id']}", json={"columnId": b})
    assert r.json()["order"] == 0 and r.json()["columnId"] == b
    r = owner.patch(f"{P(owner, p)}/cards/{cards[3]['id']}", json={"columnId": b, "order": 0})
    assert r.json()["order"] == 0
    r = owner.patch(f"{P(owner, p)}/cards/{cards[4]['id']}", json={"columnId": b, "order": 99})
    assert r.json()["order"] == 2
    assert orders(owner, p, a) == [("c0", 0), ("c2", 1)]
    assert orders(owner, p, b) == [("c3", 0), ("c1", 1), ("c4", 2)]
    r = owner.patch(f"{P(owner, p)}/cards/{cards[4]['id']}", json={"columnId": b})   # already there: nothing
    assert r.json()["order"] == 2
    r = owner.post(f"{P(owner, p)}/columns/{a}/cards", json={"title": "top", "order": 0})
    assert r.json()["order"] == 0
    assert orders(owner, p, a) == [("top", 0), ("c0", 1), ("c2", 2)]
    assert owner.get(f"{P(owner, p)}/cards/{cards[2]['id']}").json()["order"] == 2
    assert_error(owner.patch(f"{P(owner, p)}/cards/{cards[2]['id']}", json={"columnId": "f" * 24}), 404)
    assert_error(owner.patch(f"{P(owner, p)}/cards/{'f' * 24}", json={"columnId": c}), 404)
    assert_error(owner.patch(f"{P(owner, p)}/cards/bad", json={"columnId": c}), 404)
    other = make_project(owner)
    assert_error(owner.patch(f"{P(owner, p)}/cards/{cards[2]['id']}", json={"columnId": other["columns"][0]["id"]}),
                 404)
    assert_error(owner.patch(f"{P(owner, other)}/cards/{cards[2]['id']}", json={"columnId": other["columns"][0]["id"]}),
                 404)
    assert orders(owner, p, a) == [("top", 0), ("c0", 1), ("c2", 2)]
    # a deleted card leaves the orders dense
    assert owner.delete(f"{P(owner, p)}/cards/{cards[0]['id']}").status_code == 200
    assert orders(owner, p, a) == [("top", 0), ("c2", 1)]
    assert make_card(owner, p, 0, title="end")["order"] == 2


def test_etag_and_304(owner):
    p = make_project(owner)
    for path in ("/cards", "/columns", ""):
        url = P(owner, p) + path
        first = owner.get(url)
        tag = first.headers.get("ETag")
        assert first.status_code == 200 and tag, first.headers
        again = owner.get(url, headers={"If-None-Match": tag})
        assert again.status_code == 304 and again.content == b"" and again.headers.get("ETag") == tag
        assert owner.get(url + ("?archived=all" if path == "/cards" else "?x=1"),
                         headers={"If-None-Match": tag}).status_code != 304
    tag = owner.get(P(owner, p) + "/cards").headers["ETag"]
    card = make_card(owner, p, 0)
    changed = owner.get(P(owner, p) + "/cards", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and [c["id"] for c in changed.json()] == [card["id"]]
    for change in (lambda: owner.patch(f"{P(owner, p)}/cards/{card['id']}", json={"title": "renamed"}),
                   lambda: owner.post(f"{P(owner, p)}/cards/{card['id']}/comments", json={"content": "hi"}),
                   lambda: owner.post(f"{P(owner, p)}/cards/{card['id']}/checklist", json={"title": "x"}),
                   lambda: owner.patch(f"{P(owner, p)}/cards/{card['id']}", json={"columnId": p["columns"][1]["id"]}),
                   lambda: owner.patch(f"{P(owner, p)}/columns/{p['columns'][1]['id']}", json={"name": "Doing"})):
        tags = {path: owner.get(P(owner, p) + path).headers["ETag"] for path in ("/cards", "/columns")}
        assert change().status_code in (200, 201)
        assert owner.get(P(owner, p) + "/cards", headers={"If-None-Match": tags["/cards"]}).status_code == 200
    assert owner.get(P(owner, p) + "/columns", headers={"If-None-Match": tags["/columns"]}).status_code == 200


def test_scope_id_on_create_and_filter(owner):
    p = make_project(owner)
    scope = owner.post(f"{P(owner, p)}/scopes", json={"name": "Mobile"}).json()
    col = owner.post(f"{P(owner, p)}/columns", json={"name": "Backlog", "scopeId": scope["id"]}).json()
    main = p["columns"][0]["id"]
    r = owner.post(f"{P(owner, p)}/columns/{col['id']}/cards", json={"title": "scoped"})
    assert r.status_code == 201 and r.json()["scopeId"] == scope["id"]
    r = owner.post(f"{P(owner, p)}/columns/{col['id']}/cards", json={"title": "explicit", "scopeId": scope["id"]})
    assert r.status_code == 201 and r.json()["scopeId"] == scope["id"]
    assert_error(owner.post(f"{P(owner, p)}/columns/{col['id']}/cards", json={"title": "x", "scopeId": None}), 400)
    assert_error(owner.post(f"{P(owner, p)}/columns/{main}/cards", json={"title": "x", "scopeId": scope["id"]}), 400)
    assert_error(owner.post(f"{P(owner, p)}/columns/{main}/cards", json={"title": "x", "scopeId": "nope"}), 400)
    assert owner.post(f"{P(owner, p)}/columns/{main}/cards", json={"title": "m", "scopeId": None}).status_code == 201
    assert [c["title"] for c in cards_of(owner, p, scopeId=scope["id"])] == ["scoped", "explicit"]
    assert [c["title"] for c in cards_of(owner, p, scopeId="main")] == ["m"]
    assert {c["title"] for c in cards_of(owner, p)} == {"scoped", "explicit", "m"}


def test_board_from_before_ranks_is_migrated(owner, db):
    """A project written before ranks (no board map, cards with a dense `order` and no `rank`) reads,
    takes new cards at the end and moves them as before."""
    p = make_project(owner)
    a, b = p["columns"][0]["id"], p["columns"][1]["id"]
    made = [make_card(owner, p, 0, title=f"old{i}") for i in range(4)]
    db.projects.update_one({"_id": p["id"]}, {"$unset": {"board": "", "rankMax": ""}})
    for n, card in enumerate(reversed(made)):   # the old orders say: reversed
        db.cards.update_one({"_id": card["id"]}, {"$unset": {"rank": ""}, "$set": {"order": n}})
    exported = owner.get(f"{P(owner, p)}/export").json()
    assert [c["title"] for c in exported["cards"]] == ["old3", "old2", "old1", "old0"]
    assert orders(owner, p, a) == [("old3", 0), ("old2", 1), ("old1", 2), ("old0", 3)]
    assert make_card(owner, p, 0, title="new")["order"] == 4
    r = owner.patch(f"{P(owner, p)}/cards/{made[0]['id']}", json={"columnId": b})
    assert r.status_code == 200 and r.json()["order"] == 0
    assert orders(owner, p, a) == [("old3", 0), ("old2", 1), ("old1", 2), ("new", 3)]
    # a card of an unmigrated board moved first (the fast path finds no rank: migrates, then moves)
    q = make_project(owner)
    made = [make_card(owner, q, 0, title=f"q{i}") for i in range(3)]
    db.projects.update_one({"_id": q["id"]}, {"$unset": {"board": "", "rankMax": ""}})
    for n, card in enumerate(made):
        db.cards.update_one({"_id": card["id"]}, {"$unset": {"rank": ""}, "$set": {"order": n}})
    r = owner.patch(f"{P(owner, q)}/cards/{made[2]['id']}", json={"columnId": q["columns"][1]["id"], "order": 0})
    assert r.status_code == 200 and r.json()["order"] == 0, r.text
    r = owner.patch(f"{P(owner, q)}/cards/{made[1]['id']}", json={"order": 0})
    assert r.status_code == 200 and r.json()["order"] == 0, r.text
    assert orders(owner, q, q["columns"][0]["id"]) == [("q1", 0), ("q0", 1)]


def test_rebalance_is_local_and_orders_stay_right(counted):
    """Moves again and again to the middle of a 100-card column: the ranks around that place are
    spread again (a window, not the column) and every order stays right."""
    service, actor, _, listener, _ = counted
    project = service.create_project(actor=actor, name="Rebalanced", template_id="kanban")
    pid, col = project["id"], project["columns"][0]["id"]
    made = [service.create_card(actor=actor, project_id=pid, column_id=col, data=load(CardIn(), {"title": f"c{i}"}))
            for i in range(100)]
    expected = [c["id"] for c in made]
    largest = 0
    for i in range(60):
        card = made[i % 2]
        _, seen = run(listener, lambda card=card: service.update_card(actor=actor, project_id=pid, card_id=card["id"],
                                                                      data={"columnId": col, "order": 50}))
        largest = max(largest, len(seen))
        expected.remove(card["id"])
        expected.insert(50, card["id"])
    cards, _ = service.list_cards(actor=actor, project_id=pid)
    assert [c["id"] for c in sorted(cards, key=lambda c: c["order"])] == expected
    assert [c["order"] for c in sorted(cards, key=lambda c: c["order"])] == list(range(100))
    assert largest <= 9   # a rebalance adds a find, a bulk write and the project's rankMax at most


def test_column_moves_write_one_column(counted):
    """A column's place is its rank too: a move or an insertion writes that column only (a board from
    before ranks, with dense orders and no ranks, is renumbered once, on its first insertion between)."""
    service, actor, _, listener, db = counted
    project = service.create_project(actor=actor, name="Columns", column_names=["A", "B", "C", "D"])
    pid = project["id"]
    db.columns.update_many({"projectId": pid}, {"$unset": {"rank": ""}})   # as before ranks

    def names():
        return [(c["name"], c["order"]) for c in service.list_columns(actor=actor, project_id=pid)]

    ids = {c["name"]: c["id"] for c in project["columns"]}
    moved, seen = run(listener, lambda: service.update_column(actor=actor, project_id=pid, column_id=ids["A"],
                                                              data={"order": 2}))
    assert moved["order"] == 2
    assert names() == [("B", 0), ("C", 1), ("A", 2), ("D", 3)]
    made = service.create_column(actor=actor, project_id=pid, name="E", order=1)
    assert made["order"] == 1 and names() == [("B", 0), ("E", 1), ("C", 2), ("A", 3), ("D", 4)]
    moved, seen = run(listener, lambda: service.update_column(actor=actor, project_id=pid, column_id=ids["D"],
                                                              data={"order": 0}))
    writes = [name for name, collection in seen if collection == "columns" and name in ("update", "findAndModify")]
    assert writes == ["findAndModify"], seen
    assert moved["order"] == 0 and names() == [("D", 0), ("B", 1), ("E", 2), ("C", 3), ("A", 4)]
    assert service.update_column(actor=actor, project_id=pid, column_id=ids["B"], data={"order": 99})["order"] == 4
    service.delete_column(actor=actor, project_id=pid, column_id=ids["C"])
    assert names() == [("D", 0), ("E", 1), ("A", 2), ("B", 3)]
