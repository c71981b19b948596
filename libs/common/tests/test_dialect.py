"""The stand-in dialect (libs/common/mongo.py): each gap of the embedded stand-in (nx-27017) next to
what MongoDB does, and the rule that makes both give the same answer.

Runs against the stand-in the tests start; set MONGO_TEST_URI=mongodb://… to run the same tests
against a real MongoDB as well (there, every "gap" assertion checks MongoDB's own behaviour). When a
stand-in release closes a gap, its test fails here: drop the workaround then.
"""
import os
from datetime import datetime, timedelta, timezone

import pytest
from pymongo.errors import DuplicateKeyError, PyMongoError

from libs.common.mongo import (
    CURRENT,
    _is_stand_in,
    after_commit,
    connect,
    count,
    ensure_collections,
    from_ms,
    new_id,
    read_bool,
    read_date,
    reader,
    set_update,
    to_ms,
    unit_of_work,
)

WHEN = datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=timezone.utc)
SERVERS = ["stand-in"] + (["mongodb"] if os.environ.get("MONGO_TEST_URI") else [])


@pytest.fixture(params=SERVERS)
def server(request, mongo_uri):
    uri = mongo_uri if request.param == "stand-in" else os.environ["MONGO_TEST_URI"]
    client = connect(uri, "dialect-test")
    db = client[f"dialect_{new_id()[-8:]}"]
    ensure_collections(db, ["c"])
    yield client, db["c"], _is_stand_in(client)
    client.drop_database(db.name)


def test_set_of_a_top_level_date(server):
    _, col, stand_in = server
    col.insert_one({"_id": "a", "inserted": WHEN})
    col.update_one({"_id": "a"}, {"$set": {"d": WHEN, "sub": {"d": WHEN}}})
    raw = col.find_one({"_id": "a"})
    assert raw["inserted"] == WHEN and raw["sub"]["d"] == WHEN          # inserted / nested: dates on both
    if stand_in:
        assert raw["d"] == "2026-01-02 03:04:05.123000"                  # gap: text
    else:
        assert raw["d"] == WHEN
    out = reader(dates=("d", "inserted"))(raw)                           # rule: read back through the dialect
    assert out["d"] == WHEN and out["inserted"] == WHEN and out["id"] == "a"
    assert read_date("not a date") == "not a date" and read_date(None) is None


def test_stamps_of_now_go_through_current_date(server):
    _, col, stand_in = server
    col.insert_one({"_id": "a"})
    before = datetime.now(timezone.utc) - timedelta(seconds=5)
    col.update_one({"_id": "a"}, set_update({"title": "x", "readAt": CURRENT}))
    raw = col.find_one({"_id": "a"})
    assert isinstance(raw["readAt"], datetime) and isinstance(raw["updatedAt"], datetime)   # real dates on both
    assert raw["title"] == "x"
    # gap: even a `$currentDate` stamp does not match a date range on the stand-in (an inserted date
    # does): compare epoch ms in queries (next test)
    assert col.count_documents({"readAt": {"$gte": before}}) == (0 if stand_in else 1)
    assert set_update({"a": 1}, stamp=(), unset=("b",)) == {"$set": {"a": 1}, "$unset": {"b": ""}}


def test_range_queries_compare_epoch_milliseconds(server):
    _, col, stand_in = server
    col.insert_one({"_id": "a"})
    col.update_one({"_id": "a"}, {"$set": {"due": WHEN, "dueAtMs": to_ms(WHEN)}})
    later = WHEN + timedelta(days=1)
    matched = col.count_documents({"due": {"$lt": later}})
    assert matched == (0 if stand_in else 1)                              # gap: a `$set` date never matches
    assert col.count_documents({"dueAtMs": {"$lt": to_ms(later)}}) == 1   # rule: epoch ms match on both
    assert from_ms(to_ms(WHEN)) == WHEN


def test_set_of_a_top_level_boolean(server):
    _, col, stand_in = server
    col.insert_one({"_id": "a", "b": False})
    col.update_one({"_id": "a"}, {"$set": {"b": True}})
    raw = col.find_one({"_id": "a"})
    if stand_in:
        assert raw["b"] == 1 and raw["b"] is not True                     # gap: 0 / 1
    else:
        assert raw["b"] is True
    assert col.count_documents({"b": True}) == 1                          # filters match on both
    assert reader(bools=("b",))(raw)["b"] is True and read_bool(0) is False and read_bool(None) is None


def test_push_of_a_sub_document(server):
    _, col, stand_in = server
    col.insert_one({"_id": "a", "items": []})
    col.update_one({"_id": "a"}, {"$push": {"items": {"d": WHEN}}})
    pushed = col.find_one({"_id": "a"})["items"][0]
    assert isinstance(pushed, str) if stand_in else pushed == {"d": WHEN}   # gap: JSON text
    col.update_one({"_id": "a"}, {"$set": {"items": [{"d": WHEN}]}})        # rule: `$set` the whole list
    assert col.find_one({"_id": "a"})["items"] == [{"d": WHEN}]


def test_find_one_and_update_on_a_unique_violation(server):
    _, col, stand_in = server
    col.create_index("slug", unique=True)
    col.insert_many([{"_id": "a", "slug": "a"}, {"_id": "b", "slug": "b"}])
    if stand_in:
        assert col.find_one_and_update({"_id": "b"}, {"$set": {"slug": "a"}}) is None   # gap: no error
    else:
        with pytest.raises(DuplicateKeyError):
            col.find_one_and_update({"_id": "b"}, {"$set": {"slug": "a"}})
    assert col.find_one({"_id": "b"})["slug"] == "b"   # on both, nothing changed: check by reading back


def test_after_commit_runs_once_committed_and_never_on_rollback(server):
    client, col, _ = server
    ran = []
    with pytest.raises(RuntimeError):
        with unit_of_work(client) as s:
            col.insert_one({"_id": "gone"}, session=s)
            after_commit(s, lambda: ran.append("rolled back"))
            raise RuntimeError("abort")
    with unit_of_work(client) as s:
        col.insert_one({"_id": "kept"}, session=s)
        after_commit(s, lambda: ran.append(col.find_one({"_id": "kept"}) is not None))   # sees the commit
        assert ran == []
    assert ran == [True]
    assert col.find_one({"_id": "gone"}) is None
    after_commit(None, lambda: ran.append("no transaction"))   # without a unit of work: at once
    assert ran[-1] == "no transaction"


def test_count_of_a_null_field_under_an_index(server):
    _, col, stand_in = server
    col.create_index([("userId", 1), ("readAt", 1)])
    col.insert_many([{"userId": "u", "readAt": None}, {"userId": "u", "readAt": None}, {"userId": "u", "readAt": WHEN}])
    assert col.count_documents({"userId": "u", "readAt": None}) == (0 if stand_in else 2)   # gap: counts nothing
    assert col.count_documents({"userId": "u", "readAt": {"$eq": None}}) == 2                # rule: `$eq`
    assert len(list(col.find({"userId": "u", "readAt": None}))) == 2                         # find is right


def test_a_compound_index_containing_id_breaks_inserts(server):
    client, col, stand_in = server
    other = col.database["with_id_index"]
    other.create_index([("userId", 1), ("seq", -1), ("_id", -1)])
    if stand_in:
        with pytest.raises(PyMongoError, match="_id"):   # gap: every insert fails
            other.insert_one({"_id": new_id(), "userId": "u", "seq": 2})
    else:
        other.insert_one({"_id": new_id(), "userId": "u", "seq": 2})
        assert other.count_documents({}) == 1
    col.create_index([("userId", 1), ("seq", -1)])      # rule: never index `_id` with other keys
    col.insert_one({"_id": new_id(), "userId": "u", "seq": 1})
    assert col.count_documents({}) == 1


def test_an_equality_filter_uses_the_index_only_as_eq(server):
    client, col, stand_in = server
    col.create_index([("projectId", 1), ("rank", 1)])
    col.insert_many([{"_id": new_id(), "projectId": "p", "rank": i} for i in range(5)])

    def plan(flt):
        doc = col.database.command("explain", {"find": col.name, "filter": flt, "sort": {"rank": 1}})
        return str(doc.get("queryPlanner", {}).get("winningPlan"))

    if stand_in:
        assert "USING INDEX" not in plan({"projectId": "p"})        # gap: a plain equality scans the table
        assert "USING INDEX" in plan({"projectId": {"$eq": "p"}})   # rule: `$eq` on hot indexed queries
    assert col.count_documents({"projectId": {"$eq": "p"}}) == col.count_documents({"projectId": "p"}) == 5


def test_count_is_count_documents_without_its_cost(server):
    client, col, stand_in = server
    col.create_index([("projectId", 1), ("rank", 1)])
    col.insert_many([{"_id": new_id(), "projectId": "p" if i % 4 else "q", "rank": i} for i in range(2000)])
    flt = {"projectId": {"$eq": "p"}, "rank": {"$lt": 1000}}
    assert count(col, flt) == col.count_documents(flt) == 750
    assert count(col, {"projectId": {"$eq": "none"}}) == col.count_documents({"projectId": "none"}) == 0
    assert count(col, {"readAt": {"$eq": None}, "projectId": {"$eq": "q"}}) == 500   # missing field = None

    # the cost (the gap) is a figure, not an assertion: bench/count.py
