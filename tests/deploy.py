"""What the deployment tests compare docker-compose.yml and deploy/k8s/ with: the Procfile's
application processes (`make up` runs them), so a service added there is checked everywhere."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from devtools.run import parse_procfile

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Process:
    name: str                 # "boards", "boards-worker", "gateway"
    argv: list[str]           # as a container runs it: listening on every interface
    env: dict = field(default_factory=dict)   # the Procfile's VAR=value prefixes
    port: int | None = None   # web processes

    @property
    def web(self) -> bool:
        return self.port is not None

    @property
    def service(self) -> str:
        return self.name.removesuffix("-worker")


_PORT = re.compile(r"(?:^|\s)(?:-b|--bind)\s+\S*:(\d+)|--port[ =](\d+)")


def processes() -> list[Process]:
    """Every process of the Procfile but the embedded infrastructure (mongo, nats, s3)."""
    text = (ROOT / "Procfile").read_text(encoding="utf-8")
    out = []
    for entry in parse_procfile(text):
        if "devtools.infra" in entry.argv:
            continue
        argv = [a.replace("127.0.0.1", "0.0.0.0") for a in entry.argv]
        m = _PORT.search(" ".join(entry.argv))
        port = int(m.group(1) or m.group(2)) if m else None
        out.append(Process(entry.name, argv, dict(entry.env), port))
    return out
