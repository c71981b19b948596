"""A change made through MCP is the REST API's change: visible through REST, announced with
`actor.via: "mcp"`, and notified to the project's members as usual. Every call is recorded."""
from services.mcp.storage import CallLog
from libs.common.mongo import now_ms
from tests.support import EventCapture, service_db, team, wait_until

from .conftest import make_pat, run


def test_a_change_through_mcp_is_visible_through_rest_and_notifies_as_usual(stack, base, world):
    owner, pid = world.owner, world.project["id"]
    bob = team(base, owner)  # assigning him a card makes him a project member

    async def scenario(mcp):
        card = await mcp.call("create_card", **world.at, projectId=pid, columnName="To Do", title="Via MCP",
                              assigneeId=bob.user_id)
        await mcp.call("move_card", **world.at, projectId=pid, cardId=card["id"], targetColumn="In Progress")
        await mcp.call("add_comment", **world.at, projectId=pid, cardId=card["id"], content="Picked up")
        action = await mcp.call("propose_action", **world.at, actionType="create_todo", explanation="Follow up",
                                payload={"label": "Follow up"})
        return card, action

    with EventCapture(stack, "boards.>") as events:
        card, action = run(base, owner.token, scenario)
        for kind in ("boards.card.created", "boards.card.moved", "boards.comment.added"):
            env = events.wait_for(lambda e, k=kind: e["type"] == k and (e["data"].get("card") or {}).get("id") == card["id"])
            assert env["actor"] == {"userId": owner.user_id, "via": "mcp"}, env

    seen = bob.get(f"{world.P}/cards/{card['id']}").json()
    assert seen["title"] == "Via MCP" and seen["columnId"] == world.columns["In Progress"]
    assert seen["assigneeId"] == bob.user_id
    assert action["proposedBy"] == {"userId": owner.user_id, "via": "mcp"}

    def bobs():
        rows = bob.get("/notifications").json()
        mine = [n["activity"] for n in rows if n["activity"].get("actorId") == owner.user_id]
        return mine if {"card_created", "card_moved", "comment_added"} <= {a["type"] for a in mine} else None

    activities = wait_until(bobs, timeout=15)
    assert {a["actorVia"] for a in activities} == {"mcp"}


def test_every_call_is_recorded_with_its_caller_token_tool_workspace_result_and_duration(stack, base, world):
    owner = world.owner
    pat = make_pat(owner, ["projects:read", "account:read"])

    async def as_jwt(mcp):
        await mcp.call("list_projects", **world.at)
        await mcp.fail("get_card", **world.at, projectId=world.project["id"], cardId="0123456789abcdef01234567")
        refused = await mcp.client.call_tool("move_card", {**world.at, "projectId": world.project["id"]})
        unknown = await mcp.client.call_tool("drop_database", {})
        assert refused.is_error and unknown.is_error

    async def as_pat(mcp):
        await mcp.call("get_board", **world.at, projectId=world.project["id"])
        await mcp.fail("add_comment", **world.at, projectId=world.project["id"], cardId=world.card["id"],
                       content="no scope")

    run(base, owner.token, as_jwt)
    run(base, pat["token"], as_pat)
    calls = CallLog(service_db(stack, "mcp"))
    rows = wait_until(lambda: (lambda r: r if len(r) == 6 else None)(calls.recent(user_id=owner.user_id)))
    got = sorted((r["tool"], r["token"], r["status"], r["statusCode"]) for r in rows)
    assert got == sorted([("list_projects", "jwt", "ok", 200), ("get_card", "jwt", "error", 404),
                          ("move_card", "jwt", "error", 400), ("drop_database", "jwt", "error", 400),
                          ("get_board", pat["id"], "ok", 200), ("add_comment", pat["id"], "error", 403)])
    for row in (r for r in rows if r["tool"] != "drop_database"):
        assert row["orgSlug"] == world.org and row["wsSlug"] == world.ws
        assert row["durationMs"] > 0 and row["at"].endswith("Z") and row["transport"] == "http"
    assert next(r for r in rows if r["tool"] == "add_comment")["message"] == "Token lacks the 'projects:write' scope"
    assert "cardId" in next(r for r in rows if r["tool"] == "move_card")["message"]


def test_calls_relayed_over_stdio_are_recorded_as_such(stack, base, world):
    pat = make_pat(world.owner, ["projects:read"])

    async def scenario(mcp):
        await mcp.call("list_projects", **world.at)

    run(base, pat["token"], scenario, transport="stdio")
    rows = wait_until(lambda: CallLog(service_db(stack, "mcp")).recent(user_id=world.owner.user_id))
    assert [(r["tool"], r["token"], r["transport"]) for r in rows] == [("list_projects", pat["id"], "stdio")]


def test_recorded_calls_are_pruned_after_their_retention(stack):
    calls = CallLog(service_db(stack, "mcp"))
    calls.record({"userId": "prune-test", "tool": "list_projects", "status": "ok"})
    calls.col.update_many({"userId": "prune-test"}, {"$set": {"atMs": now_ms() - 40 * 86_400_000}})
    calls.record({"userId": "prune-test", "tool": "get_board", "status": "ok"})
    assert calls.prune(before_ms=now_ms() - 30 * 86_400_000) >= 1
    assert [r["tool"] for r in calls.recent(user_id="prune-test")] == ["get_board"]
