"""The pieces of mcp that need no stack: the via marker, path segments, results and their record."""
import pytest
from mcp_types import CallToolResult, TextContent

from libs.common.context import sign_via, verify_via
from libs.common.errors import Unauthorized
from services.mcp.rest import ToolFailure, seg, workspace_path
from services.mcp.tools import _outcome, _plain_text, _result

SECRET = "s" * 40


def test_a_via_marker_is_bound_to_its_user_its_secret_and_its_lifetime():
    marker = sign_via(user_id="u1", via="mcp", secret=SECRET)
    assert verify_via(marker, secret=SECRET, user_id="u1") == "mcp"
    for token, user in ((marker, "u2"), (sign_via(user_id="u1", via="mcp", secret="t" * 40), "u1"),
                        (sign_via(user_id="u1", via="mcp", secret=SECRET, ttl=-5), "u1"), ("junk", "u1")):
        with pytest.raises(Unauthorized):
            verify_via(token, secret=SECRET, user_id=user)
    with pytest.raises(ValueError):
        sign_via(user_id="u1", via="user", secret=SECRET)  # only marked vias: never "user", "system"…


def test_a_path_segment_is_one_segment_or_a_404():
    assert workspace_path("acme", "eng") == "/orgs/acme/workspaces/eng"
    assert seg("0123456789abcdef01234567", "Card") == "0123456789abcdef01234567"
    for bad in ("../x", "a/b", "", ".", "a b", "x" * 200, None, "é"):
        with pytest.raises(ToolFailure) as err:
            seg(bad, "Card")
        assert err.value.body() == {"statusCode": 404, "message": "Card not found", "error": "Not Found"}


def test_results_and_the_outcome_the_record_keeps():
    ok = _result({"projects": []})
    assert not ok.is_error and ok.content[0].text == '{"projects":[]}' and _outcome(ok) == (200, None)
    failed = _result(ToolFailure(403, "Token lacks the 'projects:write' scope").body(), error=True)
    assert _outcome(failed) == (403, "Token lacks the 'projects:write' scope")
    refused = CallToolResult(content=[TextContent(type="text", text="Unknown tool: x")], is_error=True)
    assert _outcome(refused) == (400, "Unknown tool: x")


def test_a_tiptap_document_reads_as_text():
    doc = {"type": "doc", "content": [
        {"type": "heading", "content": [{"type": "text", "text": "Billing"}]},
        {"type": "paragraph", "content": [{"type": "text", "text": "Invoices are "},
                                          {"type": "text", "text": "monthly", "marks": [{"type": "bold"}]}]},
        {"type": "bulletList", "content": [{"type": "listItem", "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "in EUR"}]}]}]}]}
    assert _plain_text(doc).split("\n")[:3] == ["Billing", "Invoices are monthly", "in EUR"]


def test_the_stdio_bridge_reports_an_unreachable_server_and_a_missing_token():
    import subprocess
    import sys

    import anyio
    from mcp.shared.exceptions import MCPError

    from devtools.infra import free_port

    from .conftest import ROOT, mcp_client

    url = f"http://127.0.0.1:{free_port()}"   # nothing listens there

    async def scenario():
        async with mcp_client(url, "synth_" + "x" * 40, transport="stdio") as client:
            result = await client.call_tool("list_workspaces", {})
            with pytest.raises(MCPError) as listed:
                await client.list_tools()
            return result, listed.value

    result, listed = anyio.run(scenario)
    assert result.is_error and url in result.content[0].text
    assert url in str(listed)
    missing = subprocess.run([sys.executable, "-m", "services.mcp", "--stdio"], cwd=ROOT, capture_output=True,
                             text=True, timeout=60, env={"PYTHONPATH": str(ROOT), "STELLARY_URL": url})
    assert missing.returncode == 2 and "STELLARY_TOKEN" in missing.stderr
