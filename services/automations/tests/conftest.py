"""Automations fixtures and helpers: a workspace owner with a kanban project, rule factories, waits."""
from __future__ import annotations

import pytest
from pymongo import MongoClient

from tests.support import register, team, wait_until

MISSING = "0123456789abcdef01234567"


def P(client, project) -> str:
    return f"{client.W}/projects/{project['id'] if isinstance(project, dict) else project}"


def make_project(client, *, name="Board", template="kanban") -> dict:
    r = client.post(client.W + "/projects", json={"name": name, "templateId": template})
    assert r.status_code == 201, r.text
    return r.json()


def make_card(client, project, column=0, **fields) -> dict:
    column_id = project["columns"][column]["id"] if isinstance(column, int) else column
    r = client.post(f"{P(client, project)}/columns/{column_id}/cards", json={"title": "Card", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def get_card(client, project, card) -> dict:
    r = client.get(f"{P(client, project)}/cards", params={"archived": "all"})
    assert r.status_code == 200, r.text
    return next(c for c in r.json() if c["id"] == (card["id"] if isinstance(card, dict) else card))


def patch_card(client, project, card, **changes) -> dict:
    r = client.patch(f"{P(client, project)}/cards/{card['id']}", json=changes)
    assert r.status_code == 200, r.text
    return r.json()


def make_rule(client, project, trigger="task_moved", action=None, conditions=None, **extra) -> dict:
    body = {"trigger": trigger, "action": action or {"type": "set_priority", "params": {"priority": "high"}}}
    if conditions is not None:
        body["conditions"] = conditions
    body.update(extra)
    r = client.post(f"{P(client, project)}/automations", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def traces(client, project, rule, **params) -> list[dict]:
    r = client.get(f"{P(client, project)}/automations/{rule['id']}/traces", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def wait_traces(client, project, rule, n=1, timeout=15.0, where=None) -> list[dict]:
    """At least `n` traces of the rule (matching `where`), newest first."""
    def enough():
        rows = [t for t in traces(client, project, rule, limit=200) if where is None or where(t)]
        return rows if len(rows) >= n else None
    return wait_until(enough, timeout=timeout, message=f"{n} traces")


def wait_card(client, project, card, predicate, timeout=15.0) -> dict:
    return wait_until(lambda: (lambda c: c if predicate(c) else None)(get_card(client, project, card)),
                      timeout=timeout, message="card change")


@pytest.fixture
def owner(base):
    return register(base, name="Owner")


@pytest.fixture
def member(base, owner):
    return team(base, owner)


@pytest.fixture
def outsider(base):
    return register(base, name="Outsider")


@pytest.fixture
def project(owner):
    return make_project(owner)


@pytest.fixture(scope="session")
def automations_db(stack):
    client = MongoClient(stack.env["MONGO_URI"], tz_aware=True)
    yield client[f"{stack.env.get('MONGO_DB_PREFIX', 'stellary_')}automations"]
    client.close()
