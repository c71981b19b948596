"""System health: the gateway's /health includes each service's worker, known by its heartbeat."""
import time

import requests
from pymongo import MongoClient

from devtools.stack import ROOT
from libs.common.bus import Heartbeats, worker_up


def test_health_lists_every_running_worker_as_up(stack, base):
    body = requests.get(base + "/health", timeout=30).json()
    for name in stack.services:
        if (ROOT / "services" / name / "worker.py").exists():
            assert body["components"][f"{name}-worker"] == "up", body


def test_a_worker_is_alive_only_while_its_heartbeat_is_fresh(stack):
    db = MongoClient(stack.env["MONGO_URI"], tz_aware=True)["heartbeat_checks"]
    beats = Heartbeats(db)
    assert worker_up(db, "ghost") is False
    beats.beat("ghost", {"handled": 1})
    assert worker_up(db, "ghost") is True
    db.workers.update_many({"service": "ghost"}, {"$set": {"at": int((time.time() - 60) * 1000)}})
    assert worker_up(db, "ghost") is False  # a worker that stopped beating 60 s ago is down
    db.client.drop_database("heartbeat_checks")
