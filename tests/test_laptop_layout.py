"""`make up`'s layout (deploy/dev.env: WORKERS_IN_WEB=true, WEB_ARBITER=off): each service is one
process — its web worker served without a gunicorn master (devtools/serve.py), its bus worker on a
thread of it (libs/common/kit.py EmbeddedWorker). The system behaves as with separate processes:
the outbox is relayed, consumers and commands answer, /health sees the workers' heartbeats, a
SIGTERM stops a service gracefully and a restarted one picks up what was published meanwhile."""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest
import requests

from devtools import run
from devtools.stack import Stack
from tests.support import register, team, wait_until


@pytest.fixture(scope="module")
def lstack():
    root = Path(tempfile.mkdtemp(prefix="stellary-laptop-"))
    s = Stack.start(root, services=["identity", "boards", "notifications"], laptop=True)
    yield s
    s.stop()
    if not os.environ.get("KEEP_TEST_DATA"):
        shutil.rmtree(root, ignore_errors=True)


def children(pid: int) -> list[int]:
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        out += [int(c) for c in open(f"/proc/{pid}/task/{task}/children").read().split()]
    return out


def test_each_service_is_one_process_and_health_sees_its_worker(lstack):
    assert {kind for _, kind in lstack.procs} == {"web"}                  # no worker processes
    for (name, _), proc in lstack.procs.items():
        assert children(proc.pid) == [], f"{name} forked a worker: it should serve alone"
    health = requests.get(lstack.url + "/health", timeout=5).json()
    for name in ("identity-worker", "boards-worker", "notifications-worker"):
        assert health["components"][name] == "up", health


def unread(client) -> int:
    return client.get("/notifications/count").json()["count"]


def test_events_flow_between_embedded_workers_and_survive_a_restart(lstack):
    alice = register(lstack.url, name="Alice")
    bob = team(lstack.url, alice)
    r = alice.post(alice.W + "/projects", json={"name": "Laptop", "templateId": "kanban"})
    assert r.status_code == 201, r.text
    project = r.json()
    P = f"{alice.W}/projects/{project['id']}"
    assert alice.post(P + "/members", json={"email": bob.email}).status_code == 201
    wait_until(lambda: unread(bob) == 1, timeout=20, message="bob's member_added (boards relay → notifications)")
    column = project["columns"][0]["id"]
    assert alice.post(f"{P}/columns/{column}/cards", json={"title": "one"}).status_code == 201
    wait_until(lambda: unread(bob) == 2, timeout=20, message="the card_created notification")

    # notifications stops (SIGTERM: graceful, exit 0); what boards publishes meanwhile waits in
    # JetStream and reaches bob once it is back.
    proc = lstack.procs[("notifications", "web")]
    started = time.monotonic()
    lstack.kill("notifications", "web")
    assert proc.returncode == 0, f"exit status {proc.returncode}"
    assert time.monotonic() - started < 12
    assert alice.post(f"{P}/columns/{column}/cards", json={"title": "two"}).status_code == 201
    lstack.spawn("notifications", "web")
    wait_until(lambda: unread(bob) == 3, timeout=30, message="the notification published while notifications was down")


def test_run_leaves_out_embedded_workers_and_serves_gunicorn_without_its_master():
    entries = run.parse_procfile(
        "boards: gunicorn -c deploy/gunicorn.conf.py -b 127.0.0.1:3102 'services.boards.app:create_app()'\n"
        "boards-worker: python -m services.boards.worker\n"
        "lonely-worker: python -m services.lonely.worker\n"
        "mcp: uvicorn --factory services.mcp.app:create_app\n")
    same = run.without_arbiter(run.embedded_workers(entries, {}), {})
    assert same == entries
    laptop = run.without_arbiter(run.embedded_workers(entries, {"WORKERS_IN_WEB": "true"}), {"WEB_ARBITER": "off"})
    assert [e.name for e in laptop] == ["boards", "lonely-worker", "mcp"]   # a worker without a web stays
    assert laptop[0].argv[1:4] == ["-m", "devtools.serve", "-c"] and laptop[0].argv[-1] == "services.boards.app:create_app()"
    assert laptop[2].argv[0] == "uvicorn"


def test_serve_finishes_an_in_flight_request_on_sigterm(tmp_path):
    app = tmp_path / "slowapp.py"
    app.write_text("import time\n"
                   "def app(environ, start_response):\n"
                   "    time.sleep(float(environ.get('QUERY_STRING') or 0))\n"
                   "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                   "    return [b'done']\n")
    import subprocess
    import sys
    import threading

    from devtools.infra import free_ports, wait_tcp
    port = free_ports(1)[0]
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{root}")
    proc = subprocess.Popen([sys.executable, "-m", "devtools.serve", "-c", str(root / "deploy" / "gunicorn.conf.py"),
                             "-b", f"127.0.0.1:{port}", "slowapp:app"], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_tcp(port, timeout=30, proc=proc)
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).text == "done"
        answers = []
        slow = threading.Thread(target=lambda: answers.append(requests.get(f"http://127.0.0.1:{port}/?1.5", timeout=10)))
        slow.start()
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        slow.join(10)
        assert answers and answers[0].status_code == 200 and answers[0].text == "done"
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        output = proc.stdout.read().decode(errors="replace")
    assert "no arbiter" in output, output
