"""What every boards domain's schemas share: the vocabularies and limits, the query-string base.

Each domain's `schemas.py` holds its request schemas (`…In`, `…Patch`, `…Query`) and its response schemas
(`…Out`, dumped by its handlers: the one source of both the body and the OpenAPI document).
Limits come from the reference: project name 1–200, column name 1–100, card title 1–500,
description ≤ 5000, checklist ≤ 100 items, comment 1–2000, import ≤ 50 columns and ≤ 500 cards.
"""
from marshmallow import EXCLUDE, Schema, fields, validate

PRIORITIES = ("low", "medium", "high")
VIEWS = ("kanban", "list", "calendar", "roadmap", "stats")
FIELD_TYPES = ("text", "number", "select", "multi-select", "date", "boolean")
RELATION_TYPES = ("blocks", "blocked_by", "related_to", "duplicates", "parent_of")
MAX_CHECKLIST = 100
MAX_IMPORT_COLUMNS = 50
MAX_IMPORT_CARDS = 500
MAX_PAGE = 5000
COLOR = validate.Regexp(r"^#[0-9A-Fa-f]{6}$", error="Must be a #RRGGBB color.")


class Query(Schema):
    """Query strings ignore parameters they do not know."""

    class Meta:
        unknown = EXCLUDE


class PageQuery(Query):
    limit = fields.Integer(validate=validate.Range(min=1, max=MAX_PAGE), load_default=None)
    cursor = fields.String(load_default=None)


# The payloads boards' commands load (events.py) live with their domains; named here too for them
# (looked up on first use: the domains' schemas import the vocabularies above).
_ELSEWHERE = {"CardIn": "cards", "CardPatch": "cards", "ChecklistAdd": "checklists", "ChecklistPatch": "checklists",
              "ChecklistItemIn": "checklists", "CommentIn": "comments"}


def __getattr__(name):
    if name in _ELSEWHERE:
        import importlib
        return getattr(importlib.import_module(f"{__package__}.{_ELSEWHERE[name]}.schemas"), name)
    raise AttributeError(name)
