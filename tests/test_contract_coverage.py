"""Every endpoint of the contract (docs/endpoints.tsv, the repository's copy of the shared one) whose
service runs in this stack is declared in the gateway's merged OpenAPI document."""
import re
from pathlib import Path

import requests

TSV = Path(__file__).resolve().parents[1] / "docs" / "endpoints.tsv"


def _norm(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", re.sub(r":[A-Za-z_]+", "{}", path))


def test_every_endpoint_of_a_running_service_is_declared(stack, base):
    doc = requests.get(base + "/openapi.json", timeout=30).json()
    declared = {(m.upper(), _norm(p)) for p, ops in doc["paths"].items() for m in ops}
    rows = [line.split("\t") for line in TSV.read_text().splitlines()[1:] if line.strip()]
    wanted = {(r[0], _norm(r[1])) for r in rows if r[2] in stack.services}
    assert len(wanted) > 100
    assert sorted(wanted - declared) == []
