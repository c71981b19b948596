"""libs/common/asgi.py: uvicorn whose main loop ticks once a second (not ten times), and which still
serves, refreshes its Date header and stops on SIGTERM."""
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
import uvicorn

from devtools.infra import free_port, wait_tcp
from libs.common.asgi import QuietServer

ROOT = Path(__file__).resolve().parents[3]


def test_the_main_loop_ticks_once_a_second_counting_tenths_like_uvicorn():
    server = QuietServer(uvicorn.Config(lambda scope, receive, send: None))
    seen = []

    async def on_tick(counter):
        seen.append((time.monotonic(), counter))
        return len(seen) >= 3

    server.on_tick = on_tick
    asyncio.run(server.main_loop())
    assert [c for _, c in seen] == [0, 10, 20]          # every call refreshes the Date header
    assert seen[-1][0] - seen[0][0] >= 1.8               # two sleeps of a second, not of 0.1 s


def test_it_serves_a_factory_and_stops_on_sigterm(tmp_path):
    (tmp_path / "tinyapp.py").write_text(
        "def create_app():\n"
        "    async def app(scope, receive, send):\n"
        "        if scope['type'] != 'http':\n"
        "            return\n"
        "        await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'text/plain')]})\n"
        "        await send({'type': 'http.response.body', 'body': b'hello'})\n"
        "    return app\n")
    port = free_port()
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}")
    proc = subprocess.Popen([sys.executable, "-m", "libs.common.asgi", "tinyapp:create_app", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_tcp(port, timeout=30, proc=proc)
        r = requests.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert r.status_code == 200 and r.text == "hello" and r.headers.get("date")
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) in (0, -signal.SIGTERM)    # uvicorn re-raises the signal once stopped
        assert time.monotonic() - started < 5
    finally:
        if proc.poll() is None:
            proc.kill()
