"""Fixtures of the notifications tests (the session `stack` comes from the root conftest)."""
import os

import pytest
from pymongo import MongoClient

from services.notifications.tests.support import Publisher

# Before the stack starts: a short SSE heartbeat so a test can see one (default 15 s).
os.environ.setdefault("NOTIFICATIONS_STREAM_HEARTBEAT", "1s")


@pytest.fixture(scope="session")
def publisher(stack):
    pub = Publisher(stack.env["NATS_URL"])
    yield pub
    pub.close()


@pytest.fixture(scope="session")
def ndb(stack):
    client = MongoClient(stack.env["MONGO_URI"], tz_aware=True)
    yield client["stellary_notifications"]
    client.close()
