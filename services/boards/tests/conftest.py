"""Boards test fixtures: a boards-event tap on the test stack's NATS, and fresh users."""
import pytest

from tests.support import register

from .helpers import EventTap, boards_db


@pytest.fixture(scope="session")
def tap(stack):
    t = EventTap(f"nats://127.0.0.1:{stack.infra.nats_port}")
    yield t
    t.close()


@pytest.fixture(scope="session")
def db(stack):
    return boards_db(stack)


@pytest.fixture
def owner(base):
    return register(base, name="Owner Olga")


@pytest.fixture
def outsider(base):
    return register(base, name="Outsider Oscar")
