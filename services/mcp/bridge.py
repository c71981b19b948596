"""`python -m services.mcp --stdio`: the same tools over stdio, for a desktop client.

A bridge, not a second implementation: it serves MCP on stdin/stdout and hands every request to
the server's /mcp (Streamable HTTP) at STELLARY_URL with `Authorization: Bearer STELLARY_TOKEN`.
The tools, their checks, the call record and `via: "mcp"` are therefore exactly those of the
server, and the desktop needs no database and no secret but the user's token. Each request is one
self-contained exchange of the newest protocol revision (no session to keep alive or resume).
"""
from __future__ import annotations

import logging
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, CallToolRequestParams, CallToolResult, ListToolsResult, TextContent
from mcp_types.version import LATEST_MODERN_VERSION

from libs.common.settings import env_float, env_str

log = logging.getLogger(__name__)
STDIO_USER_AGENT = "stellary-mcp-stdio/1.0"   # the server records these calls as transport "stdio"


class Remote:
    """The server's /mcp, one exchange per request over one HTTP connection pool (`http`, owned by
    the caller: `async with httpx2.AsyncClient(...)` around the server's run)."""

    def __init__(self, *, url: str, http: httpx2.AsyncClient):
        self.endpoint = url.rstrip("/") + "/mcp"
        self.http = http

    @staticmethod
    def http_client(*, token: str, timeout: float = 60.0) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}", "User-Agent": STDIO_USER_AGENT},
                                  timeout=httpx2.Timeout(timeout))

    def _client(self) -> Client:
        # The newest revision needs no handshake: each request is one self-contained POST.
        return Client(streamable_http_client(self.endpoint, http_client=self.http, terminate_on_close=False),
                      mode=LATEST_MODERN_VERSION, cache=None)

    async def list_tools(self) -> ListToolsResult:
        try:
            async with self._client() as client:
                return await client.list_tools()
        except MCPError:
            raise
        except Exception as exc:  # noqa: BLE001 - unreachable, refused: the desktop client shows it
            raise MCPError(code=INTERNAL_ERROR, message=f"Stellary at {self.endpoint}: {_reason(exc)}") from exc

    async def call_tool(self, name: str, arguments: dict) -> CallToolResult:
        try:
            async with self._client() as client:
                return await client.call_tool(name, arguments)
        except MCPError as exc:
            return _error(exc.error.message if hasattr(exc, "error") else str(exc))
        except Exception as exc:  # noqa: BLE001
            return _error(f"Stellary at {self.endpoint}: {_reason(exc)}")


def _reason(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return str(exc) or type(exc).__name__


def _error(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


def build_bridge(remote: Remote) -> Server:
    async def list_tools(ctx, params) -> ListToolsResult:
        return ListToolsResult(tools=(await remote.list_tools()).tools)

    async def call_tool(ctx, params: CallToolRequestParams) -> CallToolResult:
        result = await remote.call_tool(params.name, params.arguments or {})
        return CallToolResult(content=result.content, structured_content=result.structured_content,
                              is_error=result.is_error)

    return Server("stellary", title="Stellary", version="1.0.0", on_list_tools=list_tools, on_call_tool=call_tool)


async def serve_stdio() -> None:
    url = env_str("STELLARY_URL", "http://localhost:3001")
    token = env_str("STELLARY_TOKEN")
    if not token:
        print("STELLARY_TOKEN is not set: create a personal access token (POST /api-tokens) and set it",
              file=sys.stderr)
        raise SystemExit(2)
    async with Remote.http_client(token=token, timeout=env_float("STELLARY_TIMEOUT", 60.0)) as http:
        server = build_bridge(Remote(url=url, http=http))
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())
