"""Agents fixtures and helpers: a workspace owner with a kanban project and a card, agents, missions,
the mission's SSE stream, a worker restarted with other settings."""
from __future__ import annotations

import contextlib
import itertools
import json

import pytest

from tests.support import register, wait_until

MISSING = "0123456789abcdef01234567"
TERMINAL = ("completed", "failed", "cancelled")
DESCRIPTION = "- Write the API spec\n- Implement the endpoints\n- Add integration tests"


def P(client, project) -> str:
    return f"{client.W}/projects/{project['id']}"


def make_project(client, name="Board") -> dict:
    r = client.post(client.W + "/projects", json={"name": name, "templateId": "kanban"})
    assert r.status_code == 201, r.text
    return r.json()


def make_card(client, project, column=0, **fields) -> dict:
    body = {"title": "Billing API", "description": DESCRIPTION} | fields
    r = client.post(f"{P(client, project)}/columns/{project['columns'][column]['id']}/cards", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def get_card(client, project, card) -> dict:
    r = client.get(f"{P(client, project)}/cards", params={"archived": "all"})
    assert r.status_code == 200, r.text
    return next(c for c in r.json() if c["id"] == card["id"])


def comments(client, project, card) -> list[dict]:
    r = client.get(f"{P(client, project)}/cards/{card['id']}/comments")
    assert r.status_code == 200, r.text
    return r.json()


_agents = itertools.count(1)


def make_agent(client, **fields) -> dict:
    body = {"name": f"Helper {next(_agents)}", "autonomyMode": "autonomous"} | fields
    r = client.post(client.W + "/agents", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def start(client, agent, card, prompt="Break this card down", **extra) -> dict:
    r = client.post(f"{client.W}/agents/{agent['id']}/missions", json={"cardId": card["id"], "prompt": prompt} | extra)
    assert r.status_code == 201, r.text
    return r.json()


def mission(client, m) -> dict:
    r = client.get(f"{client.W}/missions/{m['id']}")
    assert r.status_code == 200, r.text
    return r.json()


def wait_status(client, m, statuses=TERMINAL, timeout=30.0) -> dict:
    """The mission once in one of `statuses` with that status's step in its log (the stand-in lets a read see a
    transaction's first writes before its last: the status before its step)."""
    statuses = (statuses,) if isinstance(statuses, str) else statuses

    def reached():
        x = mission(client, m)
        logged = any(s["type"] == "status" and s["data"]["status"] == x["status"] for s in x["steps"])
        return x if x["status"] in statuses and logged else None

    return wait_until(reached, timeout=timeout, message=f"mission {statuses}")


def proposals(client, m) -> list[dict]:
    r = client.get(f"{client.W}/missions/{m['id']}/proposals")
    assert r.status_code == 200, r.text
    return r.json()


def sse(client, m, last_event_id=None, timeout=30) -> list[dict]:
    """The whole stream (it ends after a terminal status): [{id, event, data}]."""
    headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
    r = client.get(f"{client.W}/missions/{m['id']}/stream", headers=headers, stream=True, timeout=timeout)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/event-stream")
    events, current = [], {}
    for raw in r.iter_lines(chunk_size=1, decode_unicode=True):
        if raw == "":
            if "event" in current:
                events.append(current)
            current = {}
            continue
        if raw.startswith(":"):
            continue
        key, _, value = raw.partition(": ")
        if key == "data":
            value = json.loads(value)
        elif key == "id":
            value = int(value)
        current[key] = value
    return events


@contextlib.contextmanager
def worker_with(stack, **env):
    """The agents worker restarted with `env` for the block, then restarted as it was."""
    saved = {k: stack.env.get(k) for k in env}
    stack.kill("agents", "worker")
    stack.env.update({k: str(v) for k, v in env.items()})
    try:
        stack.spawn("agents", "worker")
        yield
    finally:
        stack.kill("agents", "worker")
        for k, v in saved.items():
            if v is None:
                stack.env.pop(k, None)
            else:
                stack.env[k] = v
        stack.spawn("agents", "worker")


@pytest.fixture
def owner(base):
    return register(base, name="Owner")


@pytest.fixture
def project(owner):
    return make_project(owner)


@pytest.fixture
def card(owner, project):
    return make_card(owner, project)
