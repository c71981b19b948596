"""The contract around the endpoints: every pilotage row of endpoints.tsv is declared in the
gateway's OpenAPI, PAT scopes apply, the worker's commands answer, and the state is built with
one query per collection whatever the workspace holds."""
from pathlib import Path

import pytest
from pymongo import MongoClient, monitoring

from libs.common.bus import SyncNats
from services.pilotage.state import build_state
from services.pilotage.storage import PilotageStore
from tests.support import assert_error

from .conftest import workspace_id

TSV = Path(__file__).resolve().parents[3] / "docs" / "endpoints.tsv"   # the contract, kept in the repository


def test_every_pilotage_endpoint_is_declared(base):
    import re

    import requests
    doc = requests.get(base + "/openapi.json", timeout=30).json()
    declared = {(m.upper(), re.sub(r"\{[^}]*\}", "{}", p)) for p, ops in doc["paths"].items() for m in ops}
    rows = [line.split("\t") for line in TSV.read_text().splitlines()[1:] if line.strip()]
    wanted = {(r[0], re.sub(r":[A-Za-z_]+", "{}", r[1])) for r in rows if r[2] == "pilotage"}
    assert len(wanted) >= 35
    assert sorted(wanted - declared) == []


def test_pat_scopes(owner):
    r = owner.post("/api-tokens", json={"name": "read only", "scopes": ["pilotage:read"]})
    assert r.status_code == 201, r.text
    pat = owner.with_token(r.json()["token"])
    assert pat.get(owner.W + "/pilotage/state").status_code == 200
    assert pat.get(owner.W + "/documents").status_code == 200
    assert_error(pat.post(owner.W + "/pilotage/missions", json={"objective": "o"}), 403)
    assert_error(pat.post(owner.W + "/documents", json={"title": "t"}), 403)
    r = owner.post("/api-tokens", json={"name": "boards only", "scopes": ["projects:read"]})
    assert_error(owner.with_token(r.json()["token"]).get(owner.W + "/pilotage/state"), 403)


@pytest.fixture(scope="module")
def nats(stack):
    bus = SyncNats(stack.env["NATS_URL"], "pilotage-tests")
    yield bus
    bus.close()


def test_get_state_command_is_the_http_state(owner, nats):
    owner.post(owner.W + "/pilotage/missions", json={"objective": "via nats"})
    ws = workspace_id(owner)
    got = nats.call("pilotage", "get_state", {"workspaceId": ws, "role": "owner", "profile": "execution",
                                              "detailLevel": "minimal"})
    http = owner.get(owner.W + "/pilotage/state", params={"profile": "execution", "detailLevel": "minimal"}).json()
    assert got == http and got["missions"][0]["objective"] == "via nats"
    from libs.common.errors import BadRequest
    with pytest.raises(BadRequest):
        nats.call("pilotage", "get_state", {"workspaceId": ws, "profile": "boss"})


def test_propose_action_command(owner, nats):
    ws = owner.get(owner.W).json()
    action = nats.call("pilotage", "propose_action", {
        "workspaceId": ws["id"], "orgId": ws["organizationId"], "actionType": "create_todo",
        "explanation": "From an agent", "payload": {"label": "t"}, "actor": {"userId": owner.user_id, "via": "agent"}})
    assert action["status"] == "suggested" and action["proposedBy"] == {"userId": owner.user_id, "via": "agent"}
    listed = owner.get(owner.W + "/pilotage/actions").json()
    assert [a["id"] for a in listed] == [action["id"]]
    from libs.common.errors import BadRequest
    with pytest.raises(BadRequest):
        nats.call("pilotage", "propose_action", {"workspaceId": ws["id"], "actionType": "x" * 101,
                                                  "explanation": "e"})


class _Finds(monitoring.CommandListener):
    def __init__(self):
        self.commands = []

    def started(self, event):
        if event.command_name in ("find", "aggregate", "count", "getMore"):
            self.commands.append(event.command_name)

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_state_reads_each_collection_once(owner, stack):
    for i in range(30):
        m = owner.post(owner.W + "/pilotage/missions", json={"objective": f"m{i}"}).json()
        owner.post(owner.W + "/pilotage/todos", json={"label": f"t{i}", "missionId": m["id"]})
        owner.post(owner.W + "/pilotage/decisions", json={"title": f"d{i}", "missionId": m["id"]})
    listener = _Finds()
    client = MongoClient(stack.env["MONGO_URI"], tz_aware=True, event_listeners=[listener])
    try:
        store = PilotageStore(client["stellary_pilotage"])
        state = build_state(store, workspace_id=workspace_id(owner), role="owner", detail_level="detailed")
    finally:
        client.close()
    assert len(state["missions"]) == 30 and all(len(m["todos"]) == 1 for m in state["missions"])
    # settings, missions, priorities, todos, decisions, docs
    assert listener.commands == ["find"] * 6
