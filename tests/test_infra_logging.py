"""The embedded servers under make up (python -m devtools.infra) log quietly (issue 14): the
stand-in at WARNING through a size-capped rotating file, NATS and weed to size-capped rotated files
under the data directory with nothing but warnings on the console."""
import os
import subprocess
import sys
import time
from pathlib import Path

from pymongo import MongoClient

from devtools import infra

ROOT = Path(__file__).resolve().parent.parent


def _start(args, data: Path, log: Path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("INFRA_LOG_LEVEL", None)
    return subprocess.Popen([sys.executable, "-m", "devtools.infra", *args, "--data", str(data)], cwd=ROOT, env=env,
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)


def test_the_stand_in_logs_warnings_only_into_a_capped_file(tmp_path):
    port = infra.free_port()
    proc = _start(["mongo", "--port", str(port)], tmp_path, tmp_path / "console.log")
    try:
        infra.wait_tcp(port, proc=proc)
        client = MongoClient(f"mongodb://127.0.0.1:{port}", serverSelectionTimeoutMS=5000)
        for i in range(50):
            client.admin.command("ping")
            client.t.c.insert_one({"i": i})
        assert len(list(client.t.c.find({}))) == 50
        client.close()
    finally:
        infra.stop_process(proc)
    server_log = tmp_path / "mongo" / "server.log"
    assert server_log.exists()
    text = server_log.read_text() + (tmp_path / "console.log").read_text()
    assert " INFO " not in text and " - INFO - " not in text, text[:2000]  # no line per command or ping


def test_nats_logs_into_a_capped_file_not_the_console(tmp_path):
    port = infra.free_port()
    proc = _start(["nats", "--port", str(port)], tmp_path, tmp_path / "console.log")
    try:
        infra.wait_tcp(port, proc=proc)
        time.sleep(0.3)
    finally:
        infra.stop_process(proc)
    assert "[INF]" not in (tmp_path / "console.log").read_text()
    assert "[INF]" in (tmp_path / "nats" / "server.log").read_text()
    assert "logfile_max_num" in (tmp_path / "nats" / "logging.conf").read_text()


def test_weed_logs_into_capped_files_not_the_console(tmp_path):
    ports = infra.free_ports(4)
    cmd = infra.s3_cmd(tmp_path, *ports)
    cmd = [cmd[0], *infra.quiet_flags("s3", tmp_path), *cmd[1:]]
    proc = subprocess.Popen(cmd, stdout=open(tmp_path / "console.log", "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        infra.wait_s3(f"http://127.0.0.1:{ports[0]}/", proc=proc)
    finally:
        infra.stop_process(proc, grace=20)
    console = (tmp_path / "console.log").read_text()
    assert not [line for line in console.splitlines() if line[:1] == "I" and line[1:5].isdigit()], console[:2000]
    assert any((tmp_path / "s3" / "logs").iterdir())
