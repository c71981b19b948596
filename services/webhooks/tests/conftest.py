"""Webhooks fixtures: a workspace owner with a kanban project, a local receiver, endpoint factories."""
from __future__ import annotations

import json

import pytest

from tests.support import register, team

from .receiver import Receiver

MISSING = "0123456789abcdef01234567"


def make_project(client, *, name="Board") -> dict:
    r = client.post(client.W + "/projects", json={"name": name, "templateId": "kanban"})
    assert r.status_code == 201, r.text
    return r.json()


def make_card(client, project, column=0, **fields) -> dict:
    r = client.post(f"{client.W}/projects/{project['id']}/columns/{project['columns'][column]['id']}/cards",
                    json={"title": "Card", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def move_card(client, project, card, column) -> dict:
    r = client.patch(f"{client.W}/projects/{project['id']}/cards/{card['id']}",
                     json={"columnId": project["columns"][column]["id"]})
    assert r.status_code == 200, r.text
    return r.json()


def make_webhook(client, url, **fields) -> dict:
    r = client.post(client.W + "/webhooks", json={"url": url, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def deliveries(client, webhook, **params) -> list[dict]:
    r = client.get(f"{client.W}/webhooks/{webhook['id']}/deliveries", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def of_type(kind):
    return lambda req: json.loads(req.body).get("type") == kind


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


@pytest.fixture
def receiver():
    with Receiver() as rx:
        yield rx
