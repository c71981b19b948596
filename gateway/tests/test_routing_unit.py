"""Which service owns each path of endpoints.tsv, with which scope and guard (no servers needed)."""
from pathlib import Path

import pytest

from gateway import routing

ROOT = Path(__file__).resolve().parents[2]
TSV = ROOT / "docs" / "endpoints.tsv"                         # the contract, kept in the repository
SHARED_TSV = ROOT.parent / "shared" / "endpoints.tsv"         # its source, beside the checkout when present


def _read(path: Path) -> list[tuple]:
    rows = [line.split("\t") for line in path.read_text().splitlines()[1:] if line.strip()]
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def _rows():
    return _read(TSV)


@pytest.mark.skipif(not SHARED_TSV.exists(), reason="no ../shared beside the checkout")
def test_the_repository_copy_of_the_contract_is_the_shared_one():
    assert set(_read(SHARED_TSV)) == set(_rows()), "docs/endpoints.tsv differs from ../shared/endpoints.tsv: copy it"


def _concrete(path: str) -> str:
    return "/".join("x1" if seg.startswith(":") else seg for seg in path.split("/"))


@pytest.mark.parametrize("method,path,service,scope", _rows() or [("GET", "/auth/me", "identity", "account:read")])
def test_every_contract_endpoint_routes_to_its_service_with_its_scope(method, path, service, scope):
    found = routing.match(_concrete(path))
    assert found is not None, path
    assert found.rule.service == service
    if scope == "(JWT only)":
        assert found.rule.jwt_only
    elif path in ("/auth/register", "/auth/login"):
        assert found.rule.public
    else:
        assert found.required_scope(method) == scope


def test_guard_extracts_org_and_workspace_slugs():
    found = routing.match("/orgs/acme/workspaces/eng/projects/p1/cards")
    assert (found.org, found.ws, found.rule.guard) == ("acme", "eng", "ws")
    found = routing.match("/organizations/acme/members")
    assert (found.org, found.ws, found.rule.guard) == ("acme", None, "org")
    assert routing.match("/notifications").rule.guard == "none"


def test_unknown_paths_do_not_route():
    for path in ("/internal/principal", "/orgs/acme", "/nope", "/orgs/a/workspaces/b/unknown"):
        assert routing.match(path) is None, path
