"""The response schemas' fast `Out.dump` gives exactly what marshmallow's `Schema.dump` gives, for every
response schema of boards (the handlers' bodies and the OpenAPI document come from these classes)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from marshmallow import Schema

from services.boards.cards.schemas import CardOut
from services.boards.checklists.schemas import ChecklistItemOut
from services.boards.columns.schemas import ColumnOut
from services.boards.comments.schemas import CommentOut
from services.boards.fields.schemas import FieldOut
from services.boards.labels.schemas import LabelOut
from services.boards.projects.schemas import ImportOut, MemberOut, PortfolioRow, ProjectOut, TemplateOut
from services.boards.relations.schemas import RelationOut
from services.boards.scopes.schemas import ScopeOut, ViewsOut
from services.boards.shapes import Out

T = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=timezone.utc)
ID = "a" * 24
COLUMN = {"id": ID, "name": "To Do", "projectId": ID, "scopeId": None, "order": 0, "rank": 5, "createdAt": T,
          "orgId": ID, "workspaceId": ID}
CARD = {"id": ID, "projectId": ID, "columnId": ID, "title": "t", "order": 3, "rank": 9, "archived": 1,
        "priority": "high", "dueDate": "2026-01-02 03:04:05.123000", "labelIds": ("x",),
        "customFields": {"f": True},
        "checklist": [{"_id": "i2", "title": "b", "done": 0, "order": 1}, {"_id": "i1", "title": "a", "done": True}],
        "createdAt": T, "updatedAt": None, "orgId": ID}
PROJECT = {"id": ID, "name": "P", "workspaceId": ID, "members": [{"userId": "u1"}, {"userId": "u2"}],
           "createdAt": T, "board": {}, "columns": [COLUMN]}
CASES = [
    (CardOut, CARD), (CardOut, dict(CARD, checklist=None, updatedAt=T, scopeId=ID)),
    (ChecklistItemOut, {"_id": "i", "title": "x", "done": False, "order": 2}),
    (ColumnOut, COLUMN), (CommentOut, {"id": ID, "cardId": ID, "projectId": ID, "authorId": ID, "content": "c",
                                       "createdAt": T}),
    (FieldOut, {"id": ID, "projectId": ID, "name": "n", "type": "select", "options": None, "createdAt": T}),
    (LabelOut, {"id": ID, "projectId": ID, "name": "n", "color": "#FFFFFF", "createdAt": T}),
    (ProjectOut, PROJECT), (ProjectOut, dict(PROJECT, columns=None) | {"updatedAt": T}),
    (ImportOut, dict(PROJECT, counts={"cards": 2, "columns": 1})),
    (MemberOut, {"userId": "u", "email": None, "addedAt": T}),
    (PortfolioRow, {"projectId": ID, "name": "n", "totalCards": 1, "byPriority": {"low": 1}, "updatedAt": T}),
    (TemplateOut, {"id": "kanban", "name": "K", "description": "d", "columns": [{"name": "A"}]}),
    (RelationOut, {"id": ID, "projectId": ID, "sourceCardId": ID, "targetCardId": ID, "type": "blocks",
                   "direction": "incoming", "createdAt": T}),
    (ScopeOut, {"id": ID, "projectId": ID, "name": "s", "order": 1, "activeView": None, "createdAt": T}),
    (ViewsOut, {"views": ["kanban"], "activeView": "kanban"}),
]


@pytest.mark.parametrize("schema, obj", CASES, ids=[f"{s.__name__}-{n}" for n, (s, _) in enumerate(CASES)])
def test_fast_dump_is_marshmallow_dump(schema, obj):
    fast = schema().dump(obj)
    assert fast == Schema.dump(schema(), obj)
    assert schema(many=True).dump([obj, obj]) == [fast, fast]
    assert not {"rank", "board", "members", "workspaceId"} & set(fast) - set(schema().dump_fields)   # undeclared stays home


def test_every_response_schema_is_an_out():
    for schema, _ in CASES:
        assert issubclass(schema, Out)
