"""The ways to run Stellary stay in step with the code: docker-compose.yml and deploy/k8s/ parse
and run every built service (web + worker), they only set variables the code reads, README.md
documents every variable the code reads, and `make up`'s process manager (devtools/run.py) reads
the Procfile as written and stops everything it started. Needs no running stack."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from devtools.stack import built_services
from gateway.settings import DEFAULT_PORTS, SERVICES
from gateway.settings import Settings as GatewaySettings
from tests.deploy import processes

ROOT = Path(__file__).resolve().parent.parent

ENV_HELPER = re.compile(r"\benv_(?:str|int|bool|duration|float)\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']")
OS_ENVIRON = re.compile(r"\bos\.(?:environ\.get|getenv)\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']"
                        r"|\bos\.environ\[\s*[\"']([A-Z][A-Z0-9_]*)[\"']\s*\]")
# Set in the containers for Python itself, not read by Stellary's code.
PYTHON_ENV = {"PYTHONPATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"}


def runtime_sources() -> list[Path]:
    """Every module a deployed process runs: libs, gateway, services (not their tests), gunicorn conf."""
    files = [ROOT / "deploy" / "gunicorn.conf.py"]
    for top in ("libs", "gateway", "services"):
        files += [p for p in (ROOT / top).rglob("*.py") if "tests" not in p.relative_to(ROOT).parts]
    return files


def variables_read_by_code() -> set[str]:
    names: set[str] = set()
    for path in runtime_sources():
        text = path.read_text(encoding="utf-8")
        names.update(ENV_HELPER.findall(text))
        for a, b in OS_ENVIRON.findall(text):
            names.add(a or b)
    # gateway/settings.py builds these names: f"{name.upper()}_URL" for every service.
    names.update(f"{name.upper()}_URL" for name in SERVICES)
    return names


def readme_table_variables() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]*)`", text, flags=re.M))


def has_worker(name: str) -> bool:
    return (ROOT / "services" / name / "worker.py").exists()


def load_compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------- README

def test_the_scanner_finds_what_the_code_reads():
    names = variables_read_by_code()
    # one of each way of reading: env helper, os.environ in gunicorn conf and libs, built name
    assert {"MONGO_URI", "JWT_EXPIRES_IN", "WEB_CONCURRENCY", "MONGO_TRANSACTIONS", "BOARDS_URL"} <= names


def test_readme_documents_every_variable_the_code_reads():
    missing = sorted(variables_read_by_code() - readme_table_variables())
    assert not missing, f"add these to the README configuration table: {missing}"


def test_readme_keeps_its_first_lines():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# Stellary"
    assert lines[3].startswith("make up") and lines[4].startswith("make test")


# --------------------------------------------------------------------------------------- compose

@pytest.mark.parametrize("proc", processes(), ids=lambda p: p.name)
def test_compose_runs_every_procfile_process_as_make_up_does(proc):
    services = load_compose()["services"]
    svc = services.get(proc.name)
    assert svc, f"docker-compose.yml has no '{proc.name}' service"
    assert svc["command"] == proc.argv, f"{proc.name}: compose runs something else than the Procfile"
    env = svc["environment"]
    for key, value in proc.env.items():
        assert env.get(key) == value, f"{proc.name}: the Procfile sets {key}={value}"
    assert svc["image"] == services["gateway"]["image"], "one image for every process"
    if proc.web:
        test = " ".join(svc["healthcheck"]["test"])
        assert f"127.0.0.1:{proc.port}/" in test, f"{proc.name}: its healthcheck asks another port"


def test_compose_has_every_built_service_and_a_healthcheck_for_every_server():
    services = load_compose()["services"]
    names = {p.name for p in processes()}
    for name in built_services():
        assert name in names and name in services
        if has_worker(name):
            assert f"{name}-worker" in names and f"{name}-worker" in services
    port = services["gateway"]["environment"]["METRICS_PORT"]
    for name, svc in services.items():
        test = " ".join(svc.get("healthcheck", {}).get("test") or [])
        assert test, f"compose service {name} has no healthcheck"
        if name.endswith("-worker"):   # a worker's only listener: its metrics
            assert f"127.0.0.1:{port}/metrics" in test, name


def test_compose_gateway_reaches_every_built_service_by_its_compose_name(monkeypatch):
    services = load_compose()["services"]
    gateway = services["gateway"]
    for key, value in gateway["environment"].items():
        monkeypatch.setenv(key, str(value))
    settings = GatewaySettings()
    assert set(built_services()) <= set(settings.enabled_services)
    assert any(str(p).endswith(":3001") for p in gateway["ports"])
    for name in settings.enabled_services:
        assert name in services, f"the gateway routes to {name} but compose does not run it"
        assert settings.service_urls[name] == f"http://{name}:{DEFAULT_PORTS[name]}"
        assert gateway["depends_on"][name]["condition"] == "service_healthy"
    published = [n for n, s in services.items() if s.get("ports")]
    assert published == ["gateway"], "only the gateway publishes a port"


COMPOSE = shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not COMPOSE, reason="no docker compose client: the YAML-level checks above stand alone")
def test_docker_compose_config_accepts_the_file(tmp_path):
    env = dict(os.environ, JWT_SECRET="x" * 40, INTERNAL_TOKEN_SECRET="y" * 40, S3_SECRET_KEY="z" * 24)
    out = subprocess.run(["docker", "compose", "-f", str(ROOT / "docker-compose.yml"), "config", "--quiet"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert out.returncode == 0, out.stderr


def test_compose_sets_only_variables_the_code_reads_and_no_secret():
    known = variables_read_by_code() | PYTHON_ENV
    services = load_compose()["services"]
    for name, svc in services.items():
        if svc.get("image") != services["gateway"]["image"]:
            continue  # infrastructure images
        env = svc["environment"]
        unknown = sorted(set(env) - known)
        assert not unknown, f"compose service {name} sets variables no code reads: {unknown}"
        for secret in ("JWT_SECRET", "INTERNAL_TOKEN_SECRET", "S3_SECRET_KEY"):
            assert re.fullmatch(r"\$\{" + secret + r":\?[^}]+\}", env[secret]), \
                f"{name}: {secret} must come from .env (${{{secret}:?…}}), never be written here"


def test_compose_mongo_is_a_replica_set():
    compose = load_compose()
    mongo = compose["services"]["mongo"]
    assert "--replSet" in mongo["command"] and "rs.initiate" in " ".join(mongo["healthcheck"]["test"])
    assert "replicaSet=rs0" in compose["services"]["gateway"]["environment"]["MONGO_URI"]


def test_docker_image_installs_runtime_dependencies_only_and_runs_unprivileged():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    dockerfile = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "pip install -r requirements.txt" in dockerfile
    assert "requirements-dev" not in dockerfile
    user = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.M)
    assert user and user[-1] not in {"root", "0"}
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".venv", ".data", ".git", ".env"} <= set(ignored)


# ------------------------------------------------------------------------- make up (devtools.run)

from devtools.run import Entry, fork_target, parse_env, parse_procfile, procfile_modules  # noqa: E402


def repo_procfile() -> list[Entry]:
    return parse_procfile((ROOT / "Procfile").read_text(encoding="utf-8"))


def test_procfile_lines_with_env_prefixes_and_quotes():
    entries = parse_procfile("""
# a comment
web: WEB_THREADS=64 A=\"x y\" gunicorn -b 0.0.0.0:3001 'gateway.app:create_app()'
worker:python -m services.boards.worker --flag=1   # trailing comment
""")
    assert entries == [
        Entry("web", ["gunicorn", "-b", "0.0.0.0:3001", "gateway.app:create_app()"], {"WEB_THREADS": "64", "A": "x y"}),
        Entry("worker", ["python", "-m", "services.boards.worker", "--flag=1"]),
    ]
    for bad in ("no colon here", "a: b\na: c", "x: ONLY=env"):
        with pytest.raises(ValueError):
            parse_procfile(bad)


def test_env_files_parse():
    assert parse_env("# c\nA=1\nexport B = 'two words'\nC=\"q\"\nD=\n") == {"A": "1", "B": "two words", "C": "q", "D": ""}
    with pytest.raises(ValueError):
        parse_env("not a pair")


def test_make_up_runs_the_procfile_with_devtools_run_and_a_sized_dev_env():
    up = re.search(r"^up:.*?(?=^\S)", (ROOT / "Makefile").read_text(encoding="utf-8"), flags=re.M | re.S).group(0)
    assert "-m devtools.run -f Procfile -e deploy/dev.env,.data/secrets.env" in up and "@procfile" in up
    assert "honcho" not in (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    env = parse_env((ROOT / "deploy" / "dev.env").read_text(encoding="utf-8"))
    assert env["WEB_CONCURRENCY"] == "1" and int(env["WEB_THREADS"]) <= 16
    entries = {e.name: e for e in repo_procfile()}
    for name in ("gateway", "notifications"):  # on an event loop: an open SSE stream holds no thread
        assert ":create_asgi()" in entries[name].argv[-1] and int(entries[name].env.get("WEB_THREADS", "8")) <= 16
    venv_python = ROOT / ".venv" / "bin" / "python"
    for entry in entries.values():
        assert not any(c in " ".join(entry.argv) for c in ("|", ">", "&&", "$(")), f"{entry.name}: no shell here"
        assert not any(k.startswith("PYTHON") for k in entry.env), f"{entry.name} would not be forked"
        if venv_python.exists():  # every command of the Procfile is forked from the preloaded server
            exe = str(venv_python) if entry.argv[0] == "python" else str(ROOT / ".venv" / "bin" / entry.argv[0])
            assert fork_target([exe] + entry.argv[1:], exe, str(venv_python)), entry
    modules = procfile_modules(list(entries.values()))
    assert "gateway.app" in modules and "devtools.infra" in modules
    assert {f"services.{n}.app" for n in built_services()} <= set(modules)


def _manager(tmp_path, procfile: str, *args) -> subprocess.Popen:
    (tmp_path / "Procfile").write_text(procfile, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT), PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.Popen([sys.executable, "-m", "devtools.run", "-f", str(tmp_path / "Procfile"), *args],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _pids(output: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"(?:started|forked) (\S+) \(pid (\d+)\)", output)}


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"


SLEEPER = "python -c 'import time; print(\"up\", flush=True); time.sleep(60)'"


def _grandchild(tmp_path) -> int:
    deadline = time.monotonic() + 10
    while not (tmp_path / "grandchild.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return int((tmp_path / "grandchild.pid").read_text())


GRANDPARENT = "sh -c 'sleep 60 & echo $! > grandchild.pid; wait'"


@pytest.mark.parametrize("preload", [False, True], ids=["exec", "forked"])
def test_a_child_exiting_stops_the_others(tmp_path, preload):
    (tmp_path / "hello.py").write_text("import os, sys, time\nprint('hello', sys.argv[1:], os.environ['GREETING'], flush=True)\n"
                                       "time.sleep(1.5)\nsys.exit(3)\n", encoding="utf-8")
    proc = _manager(tmp_path, f"sleeper: {SLEEPER}\nshell: {GRANDPARENT}\n"
                              "hello: GREETING=hi python hello.py a 'b c'\n", *(["--preload", "json"] if preload else []))
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 3, out
    assert re.search(r"^\d\d:\d\d:\d\d hello +\| hello \['a', 'b c'\] hi$", out, flags=re.M), out
    assert ("forked hello" in out) == preload and "started shell" in out
    assert "exited with code 3" in out and "hello stopped: sending SIGTERM" in out
    pids = _pids(out)
    assert set(pids) == {"sleeper", "shell", "hello"}
    assert all(_gone(pid) for pid in [*pids.values(), _grandchild(tmp_path)]), out


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_every_process_and_a_stubborn_one_is_killed(tmp_path, sig):
    stubborn = "python -c 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(\"up\", flush=True); time.sleep(60)'"
    proc = _manager(tmp_path, f"sleeper: {SLEEPER}\nforked: python -m http.server --bind 127.0.0.1 0\n"
                              f"stubborn: {stubborn}\ntree: {GRANDPARENT}\n", "--grace", "2",
                    "--preload", "http.server")
    lines, deadline = [], time.monotonic() + 20
    while sum(("| up" in line) or ("Serving HTTP" in line) for line in lines) < 3 and time.monotonic() < deadline:
        lines.append(proc.stdout.readline())
    pids = _pids("".join(lines))
    assert set(pids) == {"sleeper", "forked", "stubborn", "tree"}, lines
    # the forked process shows its own command line, not the fork server's
    title = open(f"/proc/{pids['forked']}/cmdline", "rb").read().replace(b"\0", b" ").decode()
    assert "-m http.server --bind 127.0.0.1 0" in title and "forkserver" not in title
    grandchild = _grandchild(tmp_path)
    started = time.monotonic()
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=30)
    out = "".join(lines) + out
    assert proc.returncode == 0, out
    assert time.monotonic() - started < 10
    assert f"{signal.Signals(sig).name} received: sending SIGTERM" in out
    assert "SIGKILL to stubborn" in out
    assert all(_gone(pid) for pid in [*pids.values(), grandchild]), out


def test_the_gateway_default_enables_every_built_service(monkeypatch):
    """`make up` sets no GATEWAY_SERVICES: the default must route to every built service (not 503)."""
    from devtools.stack import built_services
    from gateway.settings import Settings as GatewaySettings
    monkeypatch.delenv("GATEWAY_SERVICES", raising=False)
    assert set(GatewaySettings().enabled_services) == set(built_services())
