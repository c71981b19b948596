"""Pilotage through the API reads dates and booleans back as the types it wrote, on the stand-in too
(the dialect of libs/common/mongo.py; each gap itself is shown in libs/common/tests/test_dialect.py)."""
import pytest
from pymongo import MongoClient

from libs.common.mongo import now


@pytest.fixture(scope="module")
def scratch(stack):
    client = MongoClient(stack.env["MONGO_URI"], tz_aware=True)
    db = client["pilotage_standin_checks"]
    yield db, "version" not in client.server_info()
    client.drop_database("pilotage_standin_checks")
    client.close()


def test_set_of_a_boolean_reads_back_as_bool_through_the_api(owner, pilotage_db, scratch):
    db, standin = scratch
    db.create_collection("flags")
    db.flags.insert_one({"_id": "a", "active": True})
    db.flags.update_one({"_id": "a"}, {"$set": {"active": False}})
    raw = db.flags.find_one({"_id": "a"})["active"]
    assert raw == 0 and (raw is not False) == standin  # the stand-in stores 0, MongoDB False
    assert db.flags.count_documents({"active": False}) == 1  # its filters still match
    p = owner.post(owner.W + "/pilotage/priorities", json={"label": "l"}).json()
    r = owner.patch(owner.W + f"/pilotage/priorities/{p['id']}", json={"active": False})
    assert r.json()["active"] is False and owner.get(owner.W + f"/pilotage/priorities/{p['id']}").json()["active"] is False


def test_set_of_a_datetime_is_stored_as_text_so_dates_go_through_currentdate(owner, pilotage_db, scratch):
    db, standin = scratch
    db.create_collection("stamps")
    db.stamps.insert_one({"_id": "a"})
    db.stamps.update_one({"_id": "a"}, {"$set": {"at": now()}})
    assert isinstance(db.stamps.find_one({"_id": "a"})["at"], str) == standin
    m = owner.post(owner.W + "/pilotage/missions", json={"objective": "o"}).json()
    owner.patch(owner.W + f"/pilotage/missions/{m['id']}", json={"status": "done"})
    stored = pilotage_db["missions"].find_one({"_id": m["id"]})
    assert not isinstance(stored["updatedAt"], str)
