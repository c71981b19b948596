"""Every tool is bounded like the REST API: a PAT's scopes, workspace membership, tenant isolation.
Nothing reaches mcp but through the gateway, and only mcp can label a change `via: "mcp"`."""
import jwt
import requests

from libs.common.context import VIA_HEADER, sign_via
from tests.support import register

from .conftest import MISSING, WRITE_TOOLS, make_pat, run


def _snapshot(world) -> dict:
    o, P = world.owner, world.P
    cards = o.get(P + "/cards", params={"archived": "all"}).json()
    return {"cards": cards, "comments": o.get(f"{P}/cards/{world.card['id']}/comments").json(),
            "todos": o.get(o.W + "/pilotage/todos").json(), "decisions": o.get(o.W + "/pilotage/decisions").json(),
            "actions": o.get(o.W + "/pilotage/actions").json()}


def test_a_read_only_token_reads_but_changes_nothing_through_a_write_tool(base, world):
    pat = make_pat(world.owner, ["account:read", "projects:read", "pilotage:read"])
    before = _snapshot(world)
    calls = world.every_tool_call()

    async def scenario(mcp):
        errors = {name: await mcp.fail(name, **calls[name]) for name in sorted(WRITE_TOOLS)}
        reads = {name: await mcp.call(name, **args) for name, args in calls.items() if name not in WRITE_TOOLS}
        return errors, reads

    errors, reads = run(base, pat["token"], scenario)
    for name, body in errors.items():
        assert body["statusCode"] == 403 and "scope" in body["message"], (name, body)
    assert reads["get_board"]["columns"][0]["cards"][0]["id"] == world.card["id"]
    assert _snapshot(world) == before


def test_a_token_without_the_read_scope_cannot_read_either(base, world):
    pat = make_pat(world.owner, ["pilotage:read"])

    async def scenario(mcp):
        return (await mcp.fail("get_board", **world.at, projectId=world.project["id"]),
                await mcp.call("list_todos", **world.at), await mcp.fail("list_workspaces"))

    board, todos, workspaces = run(base, pat["token"], scenario)
    assert board["statusCode"] == 403 and "projects:read" in board["message"]
    assert [t["id"] for t in todos["todos"]] == [world.todo["id"]]
    assert workspaces["statusCode"] == 403


def test_a_user_of_another_org_gets_an_error_for_every_tool_on_a_foreign_workspace(base, world):
    outsider = register(base, name="Mallory")
    before = _snapshot(world)
    calls = world.every_tool_call()

    async def scenario(mcp):
        out = {name: await mcp.fail(name, **args) for name, args in calls.items()}
        # Their own org's slug with the victim's workspace slug, and the victim's ids under their own workspace.
        own = {"orgSlug": outsider.org, "wsSlug": outsider.ws}
        out["mixed_slugs"] = await mcp.fail("list_projects", orgSlug=outsider.org, wsSlug="no-such-ws")
        out["foreign_project"] = await mcp.fail("get_board", **own, projectId=world.project["id"])
        out["foreign_card"] = await mcp.fail("move_card", **own, projectId=world.project["id"],
                                             cardId=world.card["id"], targetColumn="Done")
        out["foreign_document"] = await mcp.fail("get_document", **own, documentId=world.document["id"])
        out["foreign_todo"] = await mcp.fail("update_todo", **own, id=world.todo["id"], status="done")
        out["path_tricks"] = await mcp.fail("get_card", **own, projectId="../../" + world.project["id"],
                                            cardId=MISSING)
        workspaces = await mcp.call("list_workspaces")
        return out, workspaces

    out, workspaces = run(base, outsider.token, scenario)
    for name, body in out.items():
        assert body["statusCode"] == 404, (name, body)
    assert {w["orgSlug"] for w in workspaces["workspaces"]} == {outsider.org}
    assert _snapshot(world) == before


def test_mcp_is_reached_only_through_the_gateway(stack, base, world):
    direct = requests.post(stack.service_url("mcp") + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                           headers={"Authorization": f"Bearer {world.owner.token}",
                                    "Accept": "application/json, text/event-stream"}, timeout=10)
    assert direct.status_code == 401 and direct.json()["statusCode"] == 401


def test_an_outside_client_cannot_forge_the_via_marker(stack, base, world):
    o = world.owner
    card_url = f"{world.P}/cards/{world.card['id']}"
    forged = [
        "not-a-token",
        sign_via(user_id=o.user_id, via="mcp", secret="a-guessed-secret-that-is-long-enough-for-hs256"),
        jwt.encode({"sub": o.user_id, "via": "mcp", "aud": "stellary-via", "exp": 9999999999}, "y" * 32, algorithm="HS256"),
        # Signed right, but for another user: a marker cannot be replayed with someone else's token.
        sign_via(user_id=MISSING, via="mcp", secret=stack.env["INTERNAL_TOKEN_SECRET"]),
    ]
    for marker in forged:
        r = o.patch(card_url, json={"title": "Forged"}, headers={VIA_HEADER: marker})
        assert r.status_code == 401 and r.json()["message"] == "Invalid via marker", r.text
    assert o.get(card_url).json()["title"] == "Existing card"
