"""The REST API as one caller sees it: every tool is a few calls of the gateway's public API with
the caller's own bearer token (so scopes, membership and tenant isolation bound it exactly as they
bound the caller's own requests), plus the `X-Stellary-Via` marker that labels its changes "mcp".
"""
import re
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from libs.common.context import VIA_HEADER

_SEGMENT = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class ToolFailure(Exception):
    """An error a tool answers with: the API's status and message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message

    def body(self) -> dict:
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = "Error"
        return {"statusCode": self.status, "message": self.message, "error": reason}


def seg(value: str, what: str) -> str:
    """One path segment (a slug or an id). Anything else cannot name a resource: 404, as the API
    answers for a malformed id — never a path that would reach another endpoint."""
    if not isinstance(value, str) or not _SEGMENT.match(value):
        raise ToolFailure(404, f"{what} not found")
    return quote(value, safe="")


def workspace_path(org: str, ws: str) -> str:
    return f"/orgs/{seg(org, 'Organization')}/workspaces/{seg(ws, 'Workspace')}"


class Rest:
    def __init__(self, *, http: httpx.AsyncClient, base_url: str, authorization: str,
                 via_marker: str | None = None):
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": authorization, "Accept": "application/json"}
        if via_marker:
            self.headers[VIA_HEADER] = via_marker

    async def call(self, method: str, path: str, *, json: Any = None, params: dict | None = None
                   ) -> tuple[Any, httpx.Headers]:
        params = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            resp = await self.http.request(method, self.base_url + path, json=json, params=params or None,
                                           headers=self.headers)
        except httpx.TimeoutException as exc:
            raise ToolFailure(504, "The Stellary API did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise ToolFailure(503, "The Stellary API is unavailable") from exc
        try:
            body = resp.json() if resp.content else None
        except ValueError:
            body = None
        if resp.status_code >= 400:
            message = body.get("message") if isinstance(body, dict) else None
            raise ToolFailure(resp.status_code, message or HTTPStatus(resp.status_code).phrase)
        return body, resp.headers

    async def get(self, path: str, **params) -> Any:
        return (await self.call("GET", path, params=params))[0]

    async def post(self, path: str, body: dict) -> Any:
        return (await self.call("POST", path, json=body))[0]

    async def patch(self, path: str, body: dict) -> Any:
        return (await self.call("PATCH", path, json=body))[0]

    async def pages(self, path: str, *, limit: int, page: int = 200, **params) -> tuple[list, bool]:
        """Up to `limit` rows of a paged list (X-Next-Cursor); -> (rows, more remain)."""
        rows: list = []
        cursor = None
        while True:
            body, headers = await self.call("GET", path, params={**params, "limit": min(page, limit - len(rows)),
                                                                 "cursor": cursor})
            rows.extend(body or [])
            cursor = headers.get("X-Next-Cursor")
            if not cursor or len(rows) >= limit:
                return rows, bool(cursor)
