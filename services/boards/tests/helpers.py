"""Helpers of the boards tests: project/card factories and a real NATS subscriber for boards' events."""
from __future__ import annotations

import asyncio
import json
import threading
import time

import nats
from pymongo import MongoClient


def P(client, project) -> str:
    return f"{client.W}/projects/{project['id'] if isinstance(project, dict) else project}"


def make_project(client, *, name="Board", template="kanban", **extra) -> dict:
    body = {"name": name, **extra}
    if template:
        body["templateId"] = template
    r = client.post(client.W + "/projects", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def make_card(client, project, column=0, **fields) -> dict:
    column_id = project["columns"][column]["id"] if isinstance(column, int) else column
    r = client.post(f"{P(client, project)}/columns/{column_id}/cards", json={"title": "Card", **fields})
    assert r.status_code == 201, r.text
    return r.json()


def cards_of(client, project, **params) -> list[dict]:
    r = client.get(f"{P(client, project)}/cards", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def orders(client, project, column_id) -> list[tuple[str, int]]:
    """(title, order) of a column's cards, by order."""
    cards = [c for c in cards_of(client, project, archived="all") if c["columnId"] == column_id]
    return [(c["title"], c["order"]) for c in sorted(cards, key=lambda c: c["order"])]


def boards_db(stack):
    client = MongoClient(f"mongodb://127.0.0.1:{stack.infra.mongo_port}", tz_aware=True, serverSelectionTimeoutMS=5000)
    return client[f"{stack.env.get('MONGO_DB_PREFIX', 'stellary_')}boards"]


class EventTap:
    """Every envelope published on `subject` since the tap started (a core NATS subscription in a thread).

        env = tap.wait_for(lambda e: e["type"] == "boards.card.moved" and e["data"]["card"]["id"] == cid)
    """

    def __init__(self, nats_url: str, subject: str = "boards.>"):
        self.events: list[dict] = []
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def start():
            self.nc = await nats.connect(nats_url)

            async def on_msg(msg):
                with self.lock:
                    self.events.append(json.loads(msg.data))

            await self.nc.subscribe(subject, cb=on_msg)
            await self.nc.flush()
            ready.set()

        self.thread = threading.Thread(target=lambda: (self.loop.run_until_complete(start()),
                                                       self.loop.run_forever()), daemon=True)
        self.thread.start()
        assert ready.wait(10), "could not subscribe to NATS"

    def request(self, subject: str, payload: dict, timeout: float = 10) -> dict:
        """A NATS request (e.g. a cmd.boards.* command) -> the decoded reply."""
        future = asyncio.run_coroutine_threadsafe(
            self.nc.request(subject, json.dumps(payload).encode(), timeout=timeout), self.loop)
        return json.loads(future.result(timeout + 2).data)

    def publish(self, subject: str, payload: dict) -> None:
        """A core NATS publish (JetStream streams capture it like any producer's message)."""
        asyncio.run_coroutine_threadsafe(self._publish(subject, payload), self.loop).result(10)

    async def _publish(self, subject, payload):
        await self.nc.publish(subject, json.dumps(payload).encode())
        await self.nc.flush()

    def matching(self, predicate) -> list[dict]:
        with self.lock:
            return [e for e in self.events if predicate(e)]

    def wait_for(self, predicate, timeout: float = 15.0, message: str = "event") -> dict:
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = self.matching(predicate)
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no {message} within {timeout}s; saw {[e['type'] for e in self.matching(bool)][-20:]}")

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.nc.close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
