"""Gaps of the embedded MongoDB stand-in (nx-27017) that pilotage works around, shown against the
stack's real server. On MongoDB the raw behaviour is the normal one and the workarounds are no-ops."""
import pytest
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from libs.common.mongo import new_id, now


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


def test_a_compound_index_on_id_breaks_inserts_on_the_standin(scratch):
    db, standin = scratch
    db.create_collection("indexed")
    db.indexed.create_index([("workspaceId", 1), ("_id", 1)])
    try:
        db.indexed.insert_one({"_id": new_id(), "workspaceId": "w"})
        failed = False
    except PyMongoError:
        failed = True
    assert failed == standin  # hence pilotage indexes workspaceId alone
