"""Every boards endpoint of the contract (endpoints.tsv, service=boards, attachments aside) is declared in
the gateway's OpenAPI document, with its request schema."""
import re

import requests

ENDPOINTS = [
    ("POST", "W/projects"),
    ("GET", "W/projects"),
    ("GET", "W/projects/:projectId"),
    ("PATCH", "W/projects/:projectId"),
    ("GET", "W/projects/portfolio"),
    ("GET", "W/projects/templates"),
    ("GET", "W/projects/:projectId/export"),
    ("POST", "W/projects/import"),
    ("GET", "W/projects/:projectId/members"),
    ("POST", "W/projects/:projectId/members"),
    ("DELETE", "W/projects/:projectId/members/:userId"),
    ("POST", "W/projects/:projectId/columns"),
    ("GET", "W/projects/:projectId/columns"),
    ("PATCH", "W/projects/:projectId/columns/:columnId"),
    ("DELETE", "W/projects/:projectId/columns/:columnId"),
    ("GET", "W/projects/:projectId/cards"),
    ("POST", "W/projects/:projectId/columns/:columnId/cards"),
    ("PATCH", "W/projects/:projectId/cards/:cardId"),
    ("DELETE", "W/projects/:projectId/cards/:cardId"),
    ("GET", "W/projects/:projectId/cards/:cardId/comments"),
    ("POST", "W/projects/:projectId/cards/:cardId/comments"),
    ("DELETE", "W/projects/:projectId/cards/:cardId/comments/:commentId"),
    ("POST", "W/projects/:projectId/scopes"),
    ("GET", "W/projects/:projectId/scopes"),
    ("GET", "W/projects/:projectId/scopes/:scopeId"),
    ("PATCH", "W/projects/:projectId/scopes/:scopeId"),
    ("DELETE", "W/projects/:projectId/scopes/:scopeId"),
    ("GET", "W/projects/:projectId/scopes/:scopeId/views"),
    ("PATCH", "W/projects/:projectId/scopes/:scopeId/views"),
    ("POST", "W/projects/:projectId/labels"),
    ("GET", "W/projects/:projectId/labels"),
    ("PATCH", "W/projects/:projectId/labels/:labelId"),
    ("DELETE", "W/projects/:projectId/labels/:labelId"),
    ("POST", "W/projects/:projectId/cards/:cardId/labels/:labelId"),
    ("DELETE", "W/projects/:projectId/cards/:cardId/labels/:labelId"),
    ("POST", "W/projects/:projectId/custom-fields"),
    ("GET", "W/projects/:projectId/custom-fields"),
    ("PATCH", "W/projects/:projectId/custom-fields/:fieldId"),
    ("DELETE", "W/projects/:projectId/custom-fields/:fieldId"),
    ("PATCH", "W/projects/:projectId/cards/:cardId/custom-fields"),
    ("POST", "W/projects/:projectId/cards/:cardId/relations"),
    ("GET", "W/projects/:projectId/cards/:cardId/relations"),
    ("DELETE", "W/projects/:projectId/relations/:relationId"),
    ("POST", "W/projects/:projectId/cards/:cardId/checklist"),
    ("PATCH", "W/projects/:projectId/cards/:cardId/checklist/:itemId"),
    ("DELETE", "W/projects/:projectId/cards/:cardId/checklist/:itemId"),
    ("DELETE", "W/projects/:projectId"),
    ("GET", "W/projects/:projectId/cards/:cardId"),
]


def _norm(path: str) -> str:
    path = path.replace("W/", "/orgs/{}/workspaces/{}/", 1)
    return re.sub(r"\{[^}]*\}|:[A-Za-z_]+", "{}", path).rstrip("/")


def test_openapi_declares_every_boards_endpoint(base):
    doc = requests.get(base + "/openapi.json", timeout=30).json()
    declared = {(m.upper(), _norm(p)): op for p, ops in doc["paths"].items() for m, op in ops.items()}
    missing = [(m, p) for m, p in ENDPOINTS if (m, _norm(p)) not in declared]
    assert not missing, missing
    create_card = declared[("POST", _norm("W/projects/:projectId/columns/:columnId/cards"))]
    assert "requestBody" in create_card and create_card["summary"]
    list_cards = declared[("GET", _norm("W/projects/:projectId/cards"))]
    assert any(p.get("in") == "query" for p in list_cards.get("parameters", []))
