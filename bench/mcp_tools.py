"""MCP through the gateway: what a tool call costs next to the REST calls it makes. On one client
connection (the SDK's own client, newest revision, Streamable HTTP through the gateway): get_board,
create_card, move_card, list_workspaces; the same work through REST; then get_board relayed by the
stdio bridge (`python -m services.mcp --stdio`). Prints figures; no assertions.

    .venv/bin/python bench/mcp_tools.py                        # starts its own stack (identity, boards, pilotage, mcp)
    .venv/bin/python bench/mcp_tools.py --base-url http://127.0.0.1:3001 --n 200

Latencies are per call as the client sees them: gateway → mcp → gateway → service(s) and back for
MCP; gateway → service for REST. A tool is 1 MCP request plus its REST calls (get_board: 2,
create_card by column name: 2, move_card: 2, list_workspaces: 1 + one per organization).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx2
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100.0 * len(ordered) + 0.5) - 1))] if ordered else float("nan")


def line(name: str, lat: list[float]) -> str:
    ms = [x * 1000 for x in lat]
    return (f"{name:<46} n={len(ms):<5} p50 {pct(ms, 50):7.1f} ms   p99 {pct(ms, 99):7.1f} ms   "
            f"mean {statistics.fmean(ms) if ms else float('nan'):7.1f} ms")


def timed(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        started = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - started)
    return out


async def atimed(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        started = time.perf_counter()
        await fn(i)
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url")
    parser.add_argument("--n", type=int, default=100, help="calls per measure")
    parser.add_argument("--cards", type=int, default=50, help="cards on the measured board")
    args = parser.parse_args()

    stack = root = None
    base = args.base_url
    if not base:
        from devtools.stack import Stack
        root = Path(tempfile.mkdtemp(prefix="stellary-bench-mcp-"))
        stack = Stack.start(root, services=["identity", "boards", "pilotage", "mcp"])
        base = stack.url
    try:
        run(base, args)
    finally:
        if stack:
            stack.stop()
            shutil.rmtree(root, ignore_errors=True)


def run(base: str, args) -> None:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters
    from mcp.client.streamable_http import streamable_http_client

    from tests.support import register

    user = register(base, name="Bench")
    http = requests.Session()
    http.trust_env = False
    http.headers["Authorization"] = f"Bearer {user.token}"
    project = http.post(base + user.W + "/projects", json={"name": "Bench", "templateId": "kanban"}, timeout=30).json()
    P = f"{base}{user.W}/projects/{project['id']}"
    todo, done = project["columns"][0]["id"], project["columns"][2]["id"]
    for i in range(args.cards):
        http.post(f"{P}/columns/{todo}/cards", json={"title": f"Seed {i}"}, timeout=30)
    at = {"orgSlug": user.org, "wsSlug": user.ws}
    n = args.n
    print(f"MCP vs REST through the gateway at {base}: a board of {args.cards} cards, {n} calls per line")

    rest = {
        "REST get board (project + cards)": lambda i: (http.get(P, timeout=30), http.get(P + "/cards", timeout=30)),
        "REST create card": lambda i: http.post(f"{P}/columns/{todo}/cards", json={"title": f"R{i}"}, timeout=30),
    }
    for name, fn in rest.items():
        print(line(name, timed(fn, n)))

    async def over_http():
        client = Client(streamable_http_client(base + "/mcp", http_client=httpx2.AsyncClient(
            headers={"Authorization": f"Bearer {user.token}"})))
        async with client:
            async def call(name, **kw):
                result = await client.call_tool(name, kw)
                assert not result.is_error, result.content
                return result.structured_content
            cards = []

            async def create(i):
                cards.append((await call("create_card", **at, projectId=project["id"], columnName="To Do",
                                         title=f"M{i}"))["id"])
            print(line("MCP get_board", await atimed(lambda i: call("get_board", **at, projectId=project["id"]), n)))
            print(line("MCP create_card (column by name)", await atimed(create, n)))
            print(line("MCP move_card", await atimed(lambda i: call("move_card", **at, projectId=project["id"],
                                                                    cardId=cards[i], targetColumn=done), n)))
            print(line("MCP list_workspaces", await atimed(lambda i: call("list_workspaces"), n)))

        async def fresh(i):  # a new client connection per call (discover + call)
            async with Client(streamable_http_client(base + "/mcp", http_client=httpx2.AsyncClient(
                    headers={"Authorization": f"Bearer {user.token}"}))) as c:
                await c.call_tool("list_projects", at)
        print(line("MCP list_projects, a new connection per call", await atimed(fresh, max(10, n // 5))))

    anyio.run(over_http)

    pat = http.post(base + "/api-tokens", json={"name": "bench"}, timeout=30).json()["token"]

    async def over_stdio():
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "STELLARY_URL": base,
               "STELLARY_TOKEN": pat}
        started = time.perf_counter()
        async with Client(StdioServerParameters(command=sys.executable, args=["-m", "services.mcp", "--stdio"],
                                                env=env, cwd=str(ROOT))) as client:
            print(line("stdio bridge: start and connect", [time.perf_counter() - started]))

            async def board(i):
                result = await client.call_tool("get_board", at | {"projectId": project["id"]})
                assert not result.is_error
            print(line("stdio bridge: get_board", await atimed(board, n)))

    anyio.run(over_stdio)


if __name__ == "__main__":
    main()
