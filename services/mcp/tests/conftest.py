"""mcp fixtures: the SDK's own client, over Streamable HTTP through the gateway or over stdio
(`python -m services.mcp --stdio` as a subprocess), and a workspace with something in it."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.support import register

ROOT = Path(__file__).resolve().parents[3]
TOOLS = {"list_workspaces", "get_pilotage_state", "list_projects", "get_board", "get_card", "create_card",
         "update_card", "move_card", "add_comment", "list_todos", "create_todo", "update_todo", "record_decision",
         "propose_action", "search_documents", "get_document"}
WRITE_TOOLS = {"create_card", "update_card", "move_card", "add_comment", "create_todo", "update_todo",
               "record_decision", "propose_action"}
MISSING = "0123456789abcdef01234567"


def mcp_client(base: str, token: str | None, *, transport: str = "http", mode: str = "auto") -> Client:
    if transport == "stdio":
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "STELLARY_URL": base,
               "STELLARY_TOKEN": token or ""}
        return Client(StdioServerParameters(command=sys.executable, args=["-m", "services.mcp", "--stdio"], env=env,
                                            cwd=str(ROOT)), mode=mode)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client(streamable_http_client(base + "/mcp", http_client=httpx2.AsyncClient(headers=headers)), mode=mode)


def run(base: str, token: str | None, scenario, *, transport: str = "http", mode: str = "auto"):
    """Run `async scenario(session)` on one MCP connection; returns what it returns."""
    async def main():
        async with mcp_client(base, token, transport=transport, mode=mode) as client:
            return await scenario(McpSession(client))
    return anyio.run(main)


class McpSession:
    def __init__(self, client: Client):
        self.client = client

    async def names(self) -> set[str]:
        return {t.name for t in (await self.client.list_tools()).tools}

    async def call(self, name: str, **arguments) -> dict:
        """A tool's JSON answer (asserting it is not an error)."""
        result = await self.client.call_tool(name, arguments)
        assert not result.is_error, (name, result.content)
        return json.loads(result.content[0].text)

    async def fail(self, name: str, **arguments) -> dict:
        """A tool's error body {statusCode, message, error} (asserting it is an error)."""
        result = await self.client.call_tool(name, arguments)
        assert result.is_error, (name, result.content)
        body = json.loads(result.content[0].text)
        assert set(body) == {"statusCode", "message", "error"} and body["message"], body
        return body


def make_pat(client, scopes=None, name="mcp") -> dict:
    body = {"name": name} | ({"scopes": scopes} if scopes is not None else {})
    r = client.post("/api-tokens", json=body)
    assert r.status_code == 201, r.text
    return r.json()


class World:
    """Alice's workspace: a kanban project with a card (checklist), a pilotage mission, a document."""

    def __init__(self, base):
        self.owner = owner = register(base, name="Alice")
        self.org, self.ws = owner.org, owner.ws
        r = owner.post(owner.W + "/projects", json={"name": "Launch", "templateId": "kanban"})
        assert r.status_code == 201, r.text
        self.project = r.json()
        self.P = f"{owner.W}/projects/{self.project['id']}"
        self.columns = {c["name"]: c["id"] for c in self.project["columns"]}
        r = owner.post(f"{self.P}/columns/{self.columns['To Do']}/cards",
                       json={"title": "Existing card", "checklist": [{"title": "step one"}]})
        assert r.status_code == 201, r.text
        self.card = r.json()
        r = owner.post(owner.W + "/pilotage/missions", json={"objective": "Ship billing"})
        assert r.status_code == 201, r.text
        self.mission = r.json()
        r = owner.post(owner.W + "/documents", json={
            "title": "Billing spec", "docType": "spec",
            "content": {"type": "doc", "content": [{"type": "paragraph", "content": [
                {"type": "text", "text": "Invoices are monthly."}]}]}})
        assert r.status_code == 201, r.text
        self.document = r.json()
        r = owner.post(owner.W + "/pilotage/todos", json={"label": "Existing todo"})
        assert r.status_code == 201, r.text
        self.todo = r.json()

    @property
    def at(self) -> dict:
        return {"orgSlug": self.org, "wsSlug": self.ws}

    def every_tool_call(self) -> dict:
        """Arguments for each workspace tool, naming this world's real ids."""
        at, pid, cid = self.at, self.project["id"], self.card["id"]
        return {
            "get_pilotage_state": at, "list_projects": at, "get_board": at | {"projectId": pid},
            "get_card": at | {"projectId": pid, "cardId": cid},
            "create_card": at | {"projectId": pid, "columnName": "To Do", "title": "Not allowed"},
            "update_card": at | {"projectId": pid, "cardId": cid, "title": "Renamed"},
            "move_card": at | {"projectId": pid, "cardId": cid, "targetColumn": "Done"},
            "add_comment": at | {"projectId": pid, "cardId": cid, "content": "Hello"},
            "list_todos": at, "create_todo": at | {"label": "Another todo"},
            "update_todo": at | {"id": self.todo["id"], "status": "done"},
            "record_decision": at | {"title": "Use Stripe"},
            "propose_action": at | {"actionType": "create_todo", "explanation": "Because", "payload": {"label": "x"}},
            "search_documents": at | {"query": "Billing"},
            "get_document": at | {"documentId": self.document["id"]},
        }


@pytest.fixture
def world(base) -> World:
    return World(base)
