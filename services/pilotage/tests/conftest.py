"""Pilotage fixtures: a workspace owner with a viewer and a reviewer in the same workspace,
a direct handle on the pilotage database, and the events pilotage published (events_of)."""
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


_NATS = {}


@pytest.fixture(scope="session", autouse=True)
def _nats_url(stack):
    _NATS["url"] = stack.env["NATS_URL"]


async def _stream_events(subject: str) -> list[dict]:
    import json

    import nats
    nc = await nats.connect(_NATS["url"])
    try:
        js = nc.jetstream()
        sub = await js.subscribe(subject, ordered_consumer=True, stream="PILOTAGE")
        out = []
        while True:
            try:
                msg = await sub.next_msg(timeout=0.2)
            except Exception:  # noqa: BLE001 - nothing more
                return out
            out.append(json.loads(msg.data))
    finally:
        await nc.close()


def events_of(db, workspace_id, subject):
    """Envelopes of `subject` for one workspace, oldest first, as published on JetStream (the outbox
    keeps only what is in flight). Waits until they stop changing (they arrive a few ms after the
    response)."""
    import asyncio
    import time

    def read():
        return [e for e in asyncio.run(_stream_events(subject)) if e.get("workspaceId") == workspace_id]

    deadline = time.time() + 5
    last = read()
    while time.time() < deadline:
        time.sleep(0.1)
        now = read()
        if now == last and now:
            return now
        last = now
    return last


def workspace_id(client):
    return client.get(client.W).json()["id"]
