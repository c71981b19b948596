"""Every tool of API.md §6 through the SDK's own client: over Streamable HTTP through the gateway
(the newest revision, and the handshake-era one desktop clients still speak) and over stdio."""
import json

import pytest
import requests

from .conftest import TOOLS, make_pat, run


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_the_tools_are_listed_over_streamable_http_through_the_gateway(base, world, mode):
    async def scenario(mcp):
        tools = (await mcp.client.list_tools()).tools
        listed = {t.name: t for t in tools}
        assert set(listed) == TOOLS
        for name in TOOLS - {"list_workspaces"}:
            schema = listed[name].input_schema
            assert {"orgSlug", "wsSlug"} <= set(schema["required"]), name
            assert listed[name].description, name
        assert listed["get_board"].annotations.read_only_hint is True
        assert listed["create_card"].annotations.read_only_hint is False
        workspaces = await mcp.call("list_workspaces")
        return mcp.client.protocol_version, workspaces

    version, workspaces = run(base, world.owner.token, scenario, mode=mode)
    assert version == ("2026-07-28" if mode == "auto" else "2025-11-25")
    assert {"orgSlug": world.org, "wsSlug": world.ws} in [
        {"orgSlug": w["orgSlug"], "wsSlug": w["wsSlug"]} for w in workspaces["workspaces"]]


def test_mcp_needs_a_valid_bearer_token_at_the_gateway(base):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Bearer synth_" + "x" * 40}):
        r = requests.post(base + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                          headers=headers | {"Accept": "application/json, text/event-stream"}, timeout=10)
        assert r.status_code == 401, r.text
        assert r.json()["statusCode"] == 401

    async def scenario(mcp):
        await mcp.client.list_tools()

    with pytest.raises(BaseException):
        run(base, "not-a-token", scenario)


@pytest.mark.parametrize("transport", ["http", "stdio"])
def test_every_tool_does_what_the_rest_api_does(base, world, transport):
    owner = world.owner
    # A desktop client holds a personal access token; over HTTP the login JWT works as well.
    token = make_pat(owner)["token"] if transport == "stdio" else owner.token
    at, pid = world.at, world.project["id"]

    async def scenario(mcp):
        out = {"names": await mcp.names()}
        out["workspaces"] = await mcp.call("list_workspaces")
        out["projects"] = await mcp.call("list_projects", **at)
        out["created"] = created = await mcp.call("create_card", **at, projectId=pid, columnName="to do",
                                                  title="From the assistant", priority="high", dueDate="2026-04-01")
        out["by_id"] = await mcp.call("create_card", **at, projectId=pid, columnId=world.columns["In Progress"],
                                      title="By column id")
        out["updated"] = await mcp.call("update_card", **at, projectId=pid, cardId=created["id"],
                                        title="Renamed by the assistant", description="Details")
        out["cleared"] = await mcp.call("update_card", **at, projectId=pid, cardId=created["id"], clear=["dueDate"])
        out["moved"] = await mcp.call("move_card", **at, projectId=pid, cardId=created["id"], targetColumn="Done")
        out["comment"] = await mcp.call("add_comment", **at, projectId=pid, cardId=created["id"],
                                        content="Looks good")
        out["card"] = await mcp.call("get_card", **at, projectId=pid, cardId=created["id"])
        out["board"] = await mcp.call("get_board", **at, projectId=pid)
        out["state"] = await mcp.call("get_pilotage_state", **at, detailLevel="minimal")
        out["todo"] = todo = await mcp.call("create_todo", **at, label="Write the changelog",
                                            missionId=world.mission["id"])
        out["todo_done"] = await mcp.call("update_todo", **at, id=todo["id"], status="done")
        out["todos"] = await mcp.call("list_todos", **at, status="done")
        out["decision"] = await mcp.call("record_decision", **at, title="Bill monthly", impact="Cash flow")
        out["action"] = await mcp.call("propose_action", **at, actionType="move_card", explanation="It is done",
                                       payload={"cardId": created["id"], "targetColumn": "Done"})
        out["found"] = await mcp.call("search_documents", **at, query="billing", docType="spec")
        out["nothing"] = await mcp.call("search_documents", **at, query="no such title")
        out["document"] = await mcp.call("get_document", **at, documentId=world.document["id"])
        out["no_column"] = await mcp.fail("create_card", **at, projectId=pid, columnName="Nowhere", title="x")
        out["no_card"] = await mcp.fail("get_card", **at, projectId=pid, cardId="0123456789abcdef01234567")
        out["bad_input"] = await mcp.fail("create_card", **at, projectId=pid, columnName="To Do", title="",
                                          priority="urgent")
        return out

    out = run(base, token, scenario, transport=transport)
    assert out["names"] == TOOLS
    assert any(w["orgSlug"] == world.org and w["wsSlug"] == world.ws and w["role"] == "admin"
               for w in out["workspaces"]["workspaces"])
    assert [p["id"] for p in out["projects"]["projects"]] == [pid]

    # What the tools changed is what REST shows.
    card = owner.get(f"{world.P}/cards/{out['created']['id']}").json()
    assert card["title"] == "Renamed by the assistant" and card["description"] == "Details"
    assert card["priority"] == "high" and card["dueDate"] is None and card["columnId"] == world.columns["Done"]
    assert out["by_id"]["columnId"] == world.columns["In Progress"]
    comments = owner.get(f"{world.P}/cards/{card['id']}/comments").json()
    assert [c["content"] for c in comments] == ["Looks good"] and comments[0]["id"] == out["comment"]["id"]
    assert out["card"]["comments"][0]["content"] == "Looks good" and out["card"]["checklist"] == []

    board = out["board"]
    assert [c["name"] for c in board["columns"]] == ["To Do", "In Progress", "Done"]
    cards = {c["name"]: [card["title"] for card in c["cards"]] for c in board["columns"]}
    assert cards == {"To Do": ["Existing card"], "In Progress": ["By column id"], "Done": ["Renamed by the assistant"]}

    assert out["state"]["contractVersion"] == 7
    todo = owner.get(f"{owner.W}/pilotage/todos/{out['todo']['id']}").json()
    assert todo["status"] == "done" and todo["missionId"] == world.mission["id"]
    assert [t["id"] for t in out["todos"]["todos"]] == [todo["id"]]
    decisions = owner.get(f"{owner.W}/pilotage/decisions").json()
    assert [(d["title"], d["impact"]) for d in decisions] == [("Bill monthly", "Cash flow")]
    actions = owner.get(f"{owner.W}/pilotage/actions").json()
    assert [a["id"] for a in actions] == [out["action"]["id"]] and actions[0]["status"] == "suggested"

    assert [d["id"] for d in out["found"]["documents"]] == [world.document["id"]]
    assert out["nothing"]["documents"] == []
    assert out["document"]["text"] == "Invoices are monthly." and out["document"]["docType"] == "spec"

    assert out["no_column"]["statusCode"] == 404 and "Nowhere" in out["no_column"]["message"]
    assert out["no_card"] == {"statusCode": 404, "message": "Card not found", "error": "Not Found"}
    assert out["bad_input"]["statusCode"] == 400


def test_the_gateway_relays_an_sse_answer_and_the_mcp_headers(base, world):
    """A handshake-era POST is answered as an SSE stream: it comes through the gateway as such."""
    headers = {"Authorization": f"Bearer {world.owner.token}", "Accept": "application/json, text/event-stream",
               "Content-Type": "application/json"}
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}
    r = requests.post(base + "/mcp", json=init, headers=headers, timeout=10, stream=True)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/event-stream"), r.headers
    data = [line[5:].strip() for line in r.iter_lines(decode_unicode=True) if line and line.startswith("data:")]
    assert json.loads(data[0])["result"]["serverInfo"]["name"] == "stellary"
    listed = requests.post(base + "/mcp/", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                           headers=headers | {"MCP-Protocol-Version": "2025-06-18"}, timeout=10)
    assert listed.status_code == 200, listed.text
    body = next(line[5:] for line in listed.text.splitlines() if line.startswith("data:"))
    assert {t["name"] for t in json.loads(body)["result"]["tools"]} == TOOLS
