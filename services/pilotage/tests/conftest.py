"""Pilotage fixtures: a workspace owner with a viewer and a reviewer in the same workspace,
and a direct handle on the pilotage database (to check events reached the outbox)."""
import pytest
from pymongo import MongoClient

from tests.support import register, team


@pytest.fixture
def owner(base):
    return register(base, name="Owner")


@pytest.fixture
def viewer(base, owner):
    return team(base, owner, role="member", pilotage_role="viewer")


@pytest.fixture
def reviewer(base, owner):
    return team(base, owner, role="member", pilotage_role="reviewer")


@pytest.fixture
def outsider(base):
    return register(base, name="Outsider")


@pytest.fixture(scope="session")
def pilotage_db(stack):
    client = MongoClient(stack.env["MONGO_URI"], tz_aware=True)
    yield client["stellary_pilotage"]
    client.close()


def events_of(db, workspace_id, subject):
    """Envelopes of `subject` for one workspace, oldest first (from the outbox)."""
    rows = db["outbox"].find({"subject": subject, "envelope.workspaceId": workspace_id}).sort("seq", 1)
    return [r["envelope"] for r in rows]


def workspace_id(client):
    return client.get(client.W).json()["id"]
