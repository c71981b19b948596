"""The response schemas of boards dump what the API answered before they were the source (defaults,
derived values, dates), and nothing they do not declare."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

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
def test_only_declared_keys(schema, obj):
    body = schema().dump(obj)
    assert schema(many=True).dump([obj, obj]) == [body, body]
    declared = {f.data_key or name for name, f in schema().dump_fields.items()}
    assert set(body) <= declared and not {"rank", "board", "members"} & set(body)


def test_a_card_as_the_api_answered_it():
    body = CardOut().dump(CARD)
    assert body == {
        "id": ID, "projectId": ID, "columnId": ID, "scopeId": None, "title": "t", "description": None, "order": 3,
        "archived": True, "priority": "high", "startDate": None, "dueDate": "2026-01-02T03:04:05.123Z",
        "assigneeId": None, "labelIds": ["x"], "customFields": {"f": True},
        "checklist": [{"_id": "i1", "title": "a", "done": True, "order": 0},
                      {"_id": "i2", "title": "b", "done": False, "order": 1}],
        "checklistProgress": 50, "commentCount": 0, "attachmentCount": 0, "createdBy": None,
        "createdAt": "2026-03-04T05:06:07.890Z", "updatedAt": "2026-03-04T05:06:07.890Z"}
    assert list(body) == list(CardOut().dump_fields)   # the declared order, as before


def test_a_project_with_and_without_columns():
    with_columns = ProjectOut().dump(PROJECT)
    assert with_columns["memberIds"] == ["u1", "u2"] and with_columns["columns"][0]["updatedAt"] == with_columns[
        "columns"][0]["createdAt"] == "2026-03-04T05:06:07.890Z"
    bare = ProjectOut().dump({k: v for k, v in PROJECT.items() if k != "columns"})
    assert "columns" not in bare and bare["orgId"] is None and bare["description"] is None
    assert ScopeOut().dump(CASES[-2][1])["activeView"] == "kanban"


def test_every_response_schema_is_an_out():
    for schema, _ in CASES:
        assert issubclass(schema, Out)
