"""The embedded stand-in (nx-27017) as make up and the test stacks run it: `python -m devtools.infra
mongo`, each command handled on the server's event loop, without its pool of threads
(devtools/infra.py `handle_commands_on_the_loop`: ~40 % of the stand-in's CPU per card create)."""
import os
import threading
from pathlib import Path

import pytest
from pymongo import MongoClient

from devtools.infra import Infra


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no Threads line")


@pytest.mark.parametrize("pool", [False, True])
def test_commands_from_many_connections_are_served_on_the_loop(tmp_path, monkeypatch, pool):
    if pool:   # the way back (STANDIN_THREAD_POOL=1): nx-27017's own thread hop per command
        monkeypatch.setenv("STANDIN_THREAD_POOL", "1")
    else:
        monkeypatch.delenv("STANDIN_THREAD_POOL", raising=False)
    infra = Infra.start(tmp_path, s3=False)
    errors: list = []
    try:
        clients = [MongoClient(infra.env["MONGO_URI"], serverSelectionTimeoutMS=5000) for _ in range(8)]

        def burst(client, n):
            try:
                col = client.t.cards
                for i in range(50):
                    col.insert_one({"_id": f"{n}-{i}", "n": n})
                    assert col.find_one({"_id": f"{n}-{i}"})["n"] == n
                    col.update_one({"_id": f"{n}-{i}"}, {"$inc": {"seen": 1}})
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=burst, args=(c, n)) for n, c in enumerate(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert clients[0].t.cards.count_documents({"seen": 1}) == 400
        served_by = _threads(infra.procs["mongo"].pid)
        for c in clients:
            c.close()
    finally:
        infra.stop()
    if pool:
        assert served_by > 1     # asyncio.to_thread's workers
    else:
        assert served_by == 1    # the loop alone: no thread hop, no pool
    assert "STANDIN_THREAD_POOL" not in os.environ or pool
