"""What the embedded MongoDB stand-in (nx-27017 0.8.1) does differently, and the workaround storage.py
uses. On the stand-in each gap is asserted as it is (a fixed stand-in fails here: drop the workaround);
on MongoDB the ordinary behaviour is asserted. The workaround is asserted to work on both."""
from datetime import datetime

import pytest
from pymongo.errors import PyMongoError

from libs.common.mongo import new_id, now


@pytest.fixture
def col(ndb):
    c = ndb[f"standin_{new_id()}"]
    yield c
    c.drop()


@pytest.fixture
def standin(ndb) -> bool:
    return "version" not in ndb.client.server_info()  # as libs.common.mongo detects it


def test_count_of_a_null_field_under_an_index_needs_eq(col, standin):
    col.create_index([("userId", 1), ("readAt", 1)])
    col.insert_many([{"userId": "u", "readAt": None}, {"userId": "u", "readAt": None},
                     {"userId": "u", "readAt": now()}])
    assert col.count_documents({"userId": "u", "readAt": {"$eq": None}}) == 2  # storage.UNREAD
    assert len(list(col.find({"userId": "u", "readAt": None}))) == 2
    assert col.count_documents({"userId": "u", "readAt": None}) == (0 if standin else 2)


def test_a_datetime_given_to_set_is_stored_as_text(col, standin):
    col.insert_one({"_id": "a", "readAt": None})
    col.update_one({"_id": "a"}, {"$currentDate": {"readAt": True}})  # storage.MARK_READ
    assert isinstance(col.find_one({"_id": "a"})["readAt"], datetime)
    col.update_one({"_id": "a"}, {"$set": {"readAt": now()}})
    assert isinstance(col.find_one({"_id": "a"})["readAt"], str if standin else datetime)


def test_a_compound_index_with_id_breaks_every_insert(col, standin):
    col.create_index([("userId", 1), ("seq", -1)])  # what storage.py creates
    col.insert_one({"_id": new_id(), "userId": "u", "seq": 1})
    other = col.database[col.name + "_b"]
    try:
        other.create_index([("userId", 1), ("seq", -1), ("_id", -1)])
        if standin:
            with pytest.raises(PyMongoError, match="_id"):
                other.insert_one({"_id": new_id(), "userId": "u", "seq": 2})
        else:
            other.insert_one({"_id": new_id(), "userId": "u", "seq": 2})
            assert other.count_documents({}) == 1
    finally:
        other.drop()
