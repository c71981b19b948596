"""`make up` runs the Procfile: every built service has its web and worker lines on its port, the
gateway is on 3001, and deploy/dev.env points the gateway at the same ports. Web lines are gunicorn
(`-b 127.0.0.1:PORT 'services.X.app:create_app()'`, or `create_asgi()` for the processes holding SSE
streams: gunicorn's asgi worker), or uvicorn for the ASGI services
(`--factory services.X.app:create_app --host 127.0.0.1 --port PORT`)."""
import re
from pathlib import Path

from devtools.stack import ASGI_SERVICES, STREAMING, built_services
from gateway.settings import DEFAULT_PORTS

ROOT = Path(__file__).resolve().parents[1]


def _procfile() -> dict[str, str]:
    lines = [line for line in (ROOT / "Procfile").read_text().splitlines() if line.strip() and not line.startswith("#")]
    return dict(line.split(":", 1) for line in lines)


def test_every_built_service_runs_web_and_worker_on_its_port():
    procs = _procfile()
    for name in built_services():
        if name in ASGI_SERVICES:
            assert procs[name].split()[:4] == ["python", "-m", "libs.common.asgi", f"services.{name}.app:create_app"]
            assert f"--host 127.0.0.1 --port {DEFAULT_PORTS[name]}" in procs[name]
        else:  # the processes holding SSE streams: create_asgi(), gunicorn's asgi worker (deploy/gunicorn.conf.py)
            factory = "create_asgi()" if name in STREAMING else "create_app()"
            assert f"services.{name}.app:{factory}" in procs[name]
            assert f"127.0.0.1:{DEFAULT_PORTS[name]}" in procs[name]
        if (ROOT / "services" / name / "worker.py").exists():
            assert procs[f"{name}-worker"].strip() == f"python -m services.{name}.worker"
    assert "0.0.0.0:3001" in procs["gateway"] and "gateway.app:create_asgi()" in procs["gateway"]
    assert {"mongo", "nats", "s3"} <= set(procs)


def test_dev_env_matches_the_ports_and_every_procfile_module_imports():
    env = dict(line.split("=", 1) for line in (ROOT / "deploy" / "dev.env").read_text().splitlines()
               if line.strip() and not line.startswith("#"))
    for name, port in DEFAULT_PORTS.items():
        assert env[f"{name.upper()}_URL"] == f"http://127.0.0.1:{port}"
    import importlib
    for command in _procfile().values():
        for module in re.findall(r"(services\.\w+\.(?:app|worker)|gateway\.app)", command):
            importlib.import_module(module)
