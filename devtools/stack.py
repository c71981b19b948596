"""The whole system on free ports in a temporary directory — what the end-to-end tests and the
benchmarks run against, so they never collide with a running `make up`.

    stack = Stack.start(tmpdir)        # infra + every built service (web + worker) + gateway
    stack.url                          # the gateway
    stack.kill("notifications", "worker", signal.SIGKILL); stack.spawn("notifications", "worker")
    stack.stop()

A service is "built" when services/<name>/app.py exists; it has a worker when worker.py does.
STACK_SERVICES=identity,boards limits the stack to some services (the others answer 503).
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .infra import Infra, free_port, stop_process, wait_tcp

ROOT = Path(__file__).resolve().parent.parent
ALL_SERVICES = ("identity", "boards", "pilotage", "agents", "automations", "notifications", "webhooks", "mcp")
ASGI_SERVICES = ("mcp",)  # served by uvicorn (the Procfile says the same), the others by gunicorn
# The processes that hold SSE streams: `create_asgi()` under gunicorn's asgi worker (an open stream
# holds no thread: libs/common/asyncweb.py); the others `create_app()` under gthread.
STREAMING = ("gateway", "notifications", "agents")


def built_services() -> list[str]:
    return [s for s in ALL_SERVICES if (ROOT / "services" / s / "app.py").exists()]


class Stack:
    def __init__(self, root: Path, infra: Infra, env: dict, services: list[str]):
        self.root = root
        self.infra = infra
        self.env = env
        self.services = services
        self.procs: dict[tuple[str, str], subprocess.Popen] = {}
        self.ports: dict[str, int] = {}
        # every process's METRICS_PORT (libs/common/observability.py): kept across a respawn
        self.metrics_ports: dict[tuple[str, str], int] = {}
        self.laptop = env.get("WEB_ARBITER") == "off"

    @classmethod
    def start(cls, root: Path, *, services: list[str] | None = None, extra_env: dict | None = None,
              web_concurrency: int = 1, laptop: bool = False) -> "Stack":
        """`laptop=True`: the layout of `make up` (deploy/dev.env): each service one process, its bus
        worker on a thread (WORKERS_IN_WEB) and no gunicorn master (WEB_ARBITER=off, devtools/serve.py)."""
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        infra = Infra.start(root / "infra")
        only = os.environ.get("STACK_SERVICES")
        services = services or ([x.strip() for x in only.split(",") if x.strip()] if only else built_services())
        env = dict(os.environ)
        env.update(infra.env)
        env.update({
            "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
            "JWT_SECRET": secrets.token_urlsafe(32), "INTERNAL_TOKEN_SECRET": secrets.token_urlsafe(32),
            "MONGO_DB_PREFIX": "stellary_", "S3_BUCKET": "stellary-attachments",
            "PASSWORD_HASH_TIME_COST": "1", "PASSWORD_HASH_MEMORY_KIB": "8192",
            "WEB_CONCURRENCY": str(web_concurrency), "WEB_THREADS": "32", "LOG_LEVEL": "INFO",
            "ACCESS_LOG": "1",
            "GATEWAY_SERVICES": ",".join(services),
            # Tests and benchmarks run their webhook receivers on this machine (as `make up` does).
            "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
        })
        if laptop:
            env.update({"WORKERS_IN_WEB": "true", "WEB_ARBITER": "off", "WEB_CONCURRENCY": "1"})
        stack = cls(root, infra, env, services)
        for name in list(services) + ["gateway"]:
            stack.ports[name] = free_port()
            env[f"{name.upper()}_URL"] = f"http://127.0.0.1:{stack.ports[name]}"
        env.update(extra_env or {})
        try:
            for name in services:
                stack.spawn(name, "web")
                if (ROOT / "services" / name / "worker.py").exists() and not stack.laptop:
                    stack.spawn(name, "worker")
            stack.spawn("gateway", "web")
            stack.wait_healthy()
        except BaseException:
            stack.stop()   # a stack that never came up leaves no process behind
            raise
        return stack

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def service_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def command(self, name: str, kind: str) -> list[str]:
        python = sys.executable
        if kind == "worker":
            return [python, "-m", f"services.{name}.worker"]
        if name in ASGI_SERVICES:
            return [python, "-m", "libs.common.asgi", f"services.{name}.app:create_app", "--host", "127.0.0.1",
                    "--port", str(self.ports[name]), "--timeout-graceful-shutdown", "5"]
        factory = "create_asgi()" if name in STREAMING else "create_app()"
        target = f"gateway.app:{factory}" if name == "gateway" else f"services.{name}.app:{factory}"
        server = "devtools.serve" if self.laptop else "gunicorn"
        return [python, "-m", server, "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                "-b", f"127.0.0.1:{self.ports[name]}", target]

    def metrics_url(self, name: str, kind: str = "web") -> str:
        return f"http://127.0.0.1:{self.metrics_ports[(name, kind)]}/metrics"

    def logs(self) -> dict[str, str]:
        """Every process's log so far: {"boards-web": text, ...}."""
        return {p.stem: p.read_text(encoding="utf-8", errors="replace") for p in sorted(self.root.glob("*.log"))}

    def spawn(self, name: str, kind: str) -> subprocess.Popen:
        log = open(self.root / f"{name}-{kind}.log", "ab")
        port = self.metrics_ports.setdefault((name, kind), free_port())
        env = dict(self.env, METRICS_PORT=str(port))
        proc = subprocess.Popen(self.command(name, kind), cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[(name, kind)] = proc
        if kind == "web":
            wait_tcp(self.ports[name], timeout=60, proc=proc)
        return proc

    def kill(self, name: str, kind: str, sig: int = signal.SIGTERM) -> None:
        stop_process(self.procs.pop((name, kind), None), sig, grace=15)

    def wait_healthy(self, timeout: float = 90) -> dict:
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=3) as resp:
                    if resp.status == 200:
                        return {"status": "ok"}
            except Exception as exc:  # noqa: BLE001 - not up yet
                last = exc
            time.sleep(0.3)
        raise TimeoutError(f"stack not healthy after {timeout}s: {last}; logs in {self.root}")

    def stop(self) -> None:
        for key in list(self.procs):
            self.kill(*key)
        self.infra.stop()
