"""unit_of_work against the real Mongo-protocol server: concurrent transactions from several
processes all commit (the stand-in needs them serialised on the machine), and a failure rolls back."""
import subprocess
import sys
from pathlib import Path

import pytest

from libs.common.mongo import connect, unit_of_work

ROOT = Path(__file__).resolve().parents[3]
WRITER = """
import sys
sys.path.insert(0, {root!r})
from libs.common.mongo import connect, unit_of_work
client = connect({uri!r}, "writer")
db = client.txcheck
errors = 0
for i in range(40):
    try:
        with unit_of_work(client) as s:
            db.rows.insert_one({{"p": sys.argv[1], "i": i}}, session=s)
            db.rows.update_one({{"p": sys.argv[1], "i": i}}, {{"$inc": {{"n": 1}}}}, session=s)
    except Exception as exc:
        errors += 1
print(errors)
"""


def test_concurrent_transactions_from_three_processes_all_commit(mongo_uri):
    client = connect(mongo_uri, "test")
    client.txcheck.create_collection("rows")
    code = WRITER.format(root=str(ROOT), uri=mongo_uri)
    procs = [subprocess.Popen([sys.executable, "-c", code, name], stdout=subprocess.PIPE, text=True)
             for name in ("a", "b", "c")]
    errors = [int(p.communicate(timeout=120)[0].strip() or -1) for p in procs]
    assert errors == [0, 0, 0]
    assert client.txcheck.rows.count_documents({"n": 1}) == 120


def test_a_failure_inside_the_unit_of_work_rolls_back(mongo_uri):
    client = connect(mongo_uri, "test")
    client.txcheck.create_collection("rollback")
    with pytest.raises(RuntimeError):
        with unit_of_work(client) as s:
            client.txcheck.rollback.insert_one({"_id": "x"}, session=s)
            raise RuntimeError("domain error after a write")
    assert client.txcheck.rollback.find_one({"_id": "x"}) is None


def test_slow_commands_log_the_collection_and_a_value_free_shape(mongo_uri, monkeypatch, caplog):
    monkeypatch.setenv("MONGO_SLOW_MS", "0")     # 0 turns it off: nothing is listened to
    assert connect(mongo_uri, "quiet").options.event_listeners == []
    from libs.common.mongo import SlowCommands
    listener = SlowCommands(0)
    from pymongo import MongoClient
    client = MongoClient(mongo_uri, event_listeners=[listener])
    client.slowcheck.rows.insert_one({"email": "secret@x.io", "n": 7})
    with caplog.at_level("WARNING", logger="libs.common.mongo"):
        list(client.slowcheck.rows.find({"email": "secret@x.io", "n": {"$gt": 5}}).sort("n", -1))
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("slow mongo command find")]
    assert lines, caplog.text
    assert "slowcheck.rows" in lines[0]
    assert '"email": "str"' in lines[0] and '"$gt": "num"' in lines[0] and '"n": -1' in lines[0]
    assert "secret@x.io" not in caplog.text
    assert listener.pending == {}                 # nothing kept once a command ends
