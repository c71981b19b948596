"""Arbitrary JSON into a sample of every service's endpoints: never a 5xx.

Bodies are generated from each endpoint's OpenAPI request schema (its field names, any JSON
value in each: integers beyond 64 bits, NaN and Infinity, lone surrogates, deep nesting), plus
documents of any shape. Every answer must be the error body or a success, never a 5xx.
"""
from __future__ import annotations

import json

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import register

TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=12)  # surrogates included
LEAF = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2 ** 70, max_value=2 ** 70),
                 st.floats(allow_nan=True, allow_infinity=True), TEXT,
                 st.sampled_from(["2026-04-01", "high", "kanban", "owner", "000000000000000000000000",
                                  "a\ud800@x.io", 9223372036854775808, float("nan"), 1e308]))
JSON = st.recursive(LEAF, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                  st.dictionaries(TEXT, inner, max_size=4)), max_leaves=12)
DEEP = st.integers(min_value=60, max_value=1200).map(lambda n: "[" * n + "]" * n)


def bodies(properties: list[str]):
    shaped = st.fixed_dictionaries({}, optional={name: JSON for name in properties})
    return st.one_of(shaped.map(lambda d: json.dumps(d, allow_nan=True)),
                     JSON.map(lambda d: json.dumps(d, allow_nan=True)),
                     DEEP, DEEP.map(lambda d: '{"title": ' + d + "}"),
                     st.sampled_from(['{"a": 1e999}', '{"a": NaN}', '{"a": -Infinity}', '"\\udc00"',
                                      '{"email": "a\\ud800@x.io", "password": "x"}']))


@pytest.fixture(scope="module")
def world(base):
    owner = register(base)
    project = owner.post(owner.W + "/projects", json={"name": "Fuzz", "templateId": "kanban"}).json()
    P = f"{owner.W}/projects/{project['id']}"
    column = owner.get(P + "/columns").json()[0]["id"]
    card = owner.post(f"{P}/columns/{column}/cards", json={"title": "c"}).json()["id"]
    doc = requests.get(base + "/openapi.json", timeout=30).json()
    ids = {"orgSlug": owner.org, "wsSlug": owner.ws, "org": owner.org, "ws": owner.ws, "project_id": project["id"],
           "column_id": column, "card_id": card}
    return owner, doc, ids


# (method, OpenAPI path) — at least one per service; path parameters come from `world`.
ENDPOINTS = [
    ("identity", "POST", "/auth/login"), ("identity", "POST", "/auth/register"), ("identity", "PATCH", "/auth/me"),
    ("identity", "POST", "/organizations"), ("identity", "POST", "/orgs/{org}/workspaces/{ws}/members/invite"),
    ("boards", "POST", "/orgs/{org}/workspaces/{ws}/projects"),
    ("boards", "PATCH", "/orgs/{org}/workspaces/{ws}/projects/{project_id}/cards/{card_id}"),
    ("boards", "PATCH", "/orgs/{org}/workspaces/{ws}/projects/{project_id}/cards/{card_id}/custom-fields"),
    ("boards", "POST", "/orgs/{org}/workspaces/{ws}/projects/{project_id}/columns/{column_id}/cards"),
    ("boards", "POST", "/orgs/{org}/workspaces/{ws}/projects/import"),
    ("pilotage", "POST", "/orgs/{org}/workspaces/{ws}/pilotage/missions"),
    ("pilotage", "POST", "/orgs/{org}/workspaces/{ws}/pilotage/actions/propose"),
    ("pilotage", "POST", "/orgs/{org}/workspaces/{ws}/documents"),
    ("automations", "POST", "/orgs/{org}/workspaces/{ws}/projects/{project_id}/automations"),
    ("webhooks", "POST", "/orgs/{org}/workspaces/{ws}/webhooks"),
    ("agents", "POST", "/orgs/{org}/workspaces/{ws}/agents"),
    ("agents", "POST", "/orgs/{org}/workspaces/{ws}/project-drafts"),
]
QUERIES = [
    ("notifications", "/notifications"), ("boards", "/orgs/{org}/workspaces/{ws}/projects/{project_id}/cards"),
    ("pilotage", "/orgs/{org}/workspaces/{ws}/pilotage/missions"),
    ("automations", "/orgs/{org}/workspaces/{ws}/projects/{project_id}/automations"),
    ("webhooks", "/orgs/{org}/workspaces/{ws}/webhooks"),
]
QUERY_VALUE = st.one_of(st.sampled_from(["9223372036854775808", "-9223372036854775809", "1e999", "NaN", "Infinity",
                                         "-1", "0", "1.5", "", "a\ud800"]), TEXT, st.integers().map(str))


def _properties(doc: dict, path: str, method: str) -> list[str]:
    op = (doc["paths"].get(path) or {}).get(method.lower())
    assert op is not None, f"{method} {path} not in /openapi.json"
    schema = ((op.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema") or {})
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return sorted(schema.get("properties", {}))


def _url(base: str, path: str, ids: dict) -> str:
    for key, value in ids.items():
        path = path.replace("{" + key + "}", value)
    return base + path


def _no_5xx(resp) -> None:
    assert resp.status_code < 500, f"{resp.status_code}: {resp.text[:300]}"
    if resp.status_code >= 400:
        body = resp.json()
        assert body["statusCode"] == resp.status_code and body["message"], body


@pytest.mark.parametrize("service,method,path", ENDPOINTS, ids=[f"{m} {p}" for _, m, p in ENDPOINTS])
def test_arbitrary_json_never_a_5xx(stack, base, world, service, method, path):
    if service not in stack.services:
        pytest.skip(f"{service} is not in this stack (STACK_SERVICES)")
    owner, doc, ids = world
    url = _url(base, path, ids)
    session = requests.Session()
    headers = {"Authorization": f"Bearer {owner.token}", "Content-Type": "application/json"}

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(body=bodies(_properties(doc, path, method)))
    def check(body):
        _no_5xx(session.request(method, url, data=body.encode("utf-8", "surrogatepass"), headers=headers,
                                timeout=30))

    check()


@pytest.mark.parametrize("service,path", QUERIES, ids=[p for _, p in QUERIES])
def test_arbitrary_query_numbers_never_a_5xx(stack, base, world, service, path):
    if service not in stack.services:
        pytest.skip(f"{service} is not in this stack (STACK_SERVICES)")
    owner, _, ids = world
    url = _url(base, path, ids)
    session = requests.Session()
    headers = {"Authorization": f"Bearer {owner.token}"}

    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(params=st.dictionaries(st.sampled_from(["limit", "cursor", "unreadOnly", "status", "offset"]),
                                  QUERY_VALUE, max_size=3))
    def check(params):
        _no_5xx(session.get(url, params={k: v.encode("utf-8", "surrogatepass") for k, v in params.items()},
                            headers=headers, timeout=30))

    check()
