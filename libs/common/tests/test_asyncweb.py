"""libs/common/asyncweb.py: a Flask app under gunicorn's asgi worker (deploy/gunicorn.conf.py picks it
for a `create_asgi()` target). Ordinary requests run on the pool (bodies read as they come, chunked
too); an AsyncBody is streamed on the loop, so more streams than threads stay open and ordinary
requests still pass; a client that leaves ends its stream at once; under a WSGI server the same
body iterates synchronously."""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from devtools.infra import free_port, wait_tcp
from libs.common.asyncweb import AsyncBody, ClosingBody

ROOT = Path(__file__).resolve().parents[3]
APP = '''
import asyncio
from flask import Flask, Response, request
from libs.common.asyncweb import AsyncBody, ClosingBody, WsgiBridge, run_blocking

app = Flask("t")
closed = []

@app.post("/echo")
def echo():
    return {"got": len(request.get_data()), "tail": request.get_data()[-3:].decode()}

@app.get("/closed")
def count_closed():
    return {"closed": len(closed)}

@app.get("/ticks")
def ticks():
    async def frames():
        n = await run_blocking(lambda: int(request_arg))
        for i in range(n):
            yield f"data: {i}\\n\\n"
            await asyncio.sleep(0.05)
        await asyncio.sleep(3600)        # open until the client leaves
    request_arg = request.args.get("n", "2")
    body = ClosingBody(AsyncBody(frames), lambda: closed.append(1))
    return Response(body, mimetype="text/event-stream", direct_passthrough=True)

def create_asgi():
    return WsgiBridge(app, threads=2)
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    where = tmp_path_factory.mktemp("asyncweb")
    (where / "bridgeapp.py").write_text(APP)
    port = free_port()
    env = dict(os.environ, PYTHONPATH=f"{where}{os.pathsep}{ROOT}", WEB_CONCURRENCY="1")
    env.pop("METRICS_PORT", None)
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                             "-b", f"127.0.0.1:{port}", "bridgeapp:create_asgi()"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_tcp(port, timeout=30, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        output = proc.stdout.read().decode(errors="replace")
        assert "Using worker: asgi" in output, output


def test_bodies_reach_the_app_whole_with_a_length_or_chunked(server):
    big = b"x" * 300_000 + b"end"
    assert requests.post(server + "/echo", data=big, timeout=10).json() == {"got": len(big), "tail": "end"}
    chunked = requests.post(server + "/echo", data=iter([b"a" * 70_000, b"b" * 70_000, b"end"]), timeout=10)
    assert chunked.json() == {"got": 140_003, "tail": "end"}


def test_more_streams_than_threads_stay_open_and_ordinary_requests_pass(server):
    streams = [requests.get(server + "/ticks?n=2", stream=True, timeout=10) for _ in range(20)]  # 2 threads
    try:
        for s in streams:
            lines = s.iter_lines(decode_unicode=True)
            assert [next(lines), next(lines), next(lines)] == ["data: 0", "", "data: 1"]
        started = time.monotonic()
        assert requests.post(server + "/echo", data=b"abc", timeout=5).json() == {"got": 3, "tail": "abc"}
        assert time.monotonic() - started < 2
    finally:
        for s in streams:
            s.close()


def test_a_client_that_leaves_ends_its_stream_at_once(server):
    before = requests.get(server + "/closed", timeout=5).json()["closed"]
    with socket.create_connection(("127.0.0.1", int(server.rsplit(":", 1)[1])), timeout=5) as sock:
        sock.sendall(b"GET /ticks?n=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        seen = b""
        while b"data: 0" not in seen:
            seen += sock.recv(4096)
    deadline = time.monotonic() + 2          # the stream would sleep an hour; gunicorn cancels it after 3 s
    while requests.get(server + "/closed", timeout=5).json()["closed"] == before:
        assert time.monotonic() < deadline, "the stream of a gone client is still open"
        time.sleep(0.1)


def test_an_async_body_iterates_synchronously_and_closing_it_runs_its_cleanup():
    done = []

    async def frames():
        try:
            for i in range(3):
                await asyncio.sleep(0)
                yield f"{i}"
        finally:
            done.append("cleanup")

    body = ClosingBody(AsyncBody(frames), lambda: done.append("closed"))
    chunks = iter(body)
    assert [next(chunks), next(chunks)] == [b"0", b"1"]
    chunks.close()
    body.close()
    assert done == ["cleanup", "closed"]
    assert list(AsyncBody(frames)) == [b"0", b"1", b"2"]
    abandoned = []
    AsyncBody(frames, on_abandon=lambda: abandoned.append(1)).close()   # never iterated: its resources go
    assert abandoned == [1]
