"""Pure rules shared by the boards modules (no I/O), and the attachments seam.

Templates, new column and card documents, checklist progress and normalisation, custom-field value checks, and
`schedule_attachment_deletions`: the one call into the attachments module when cards, a scope,
a project, a workspace or an org are deleted.
"""
from __future__ import annotations

import logging
import math

from marshmallow import ValidationError

from libs.common.errors import BadRequest
from libs.common.mongo import iso, new_id
from libs.common.schemas import IsoDateTime

log = logging.getLogger(__name__)

TEMPLATES = {t["id"]: t for t in [
    {"id": "kanban", "name": "Kanban", "description": "A simple board: to do, in progress, done.",
     "columns": [{"name": "To Do"}, {"name": "In Progress"}, {"name": "Done"}]},
    {"id": "scrum", "name": "Scrum", "description": "Sprints: backlog, sprint backlog, in progress, review, done.",
     "columns": [{"name": "Backlog"}, {"name": "Sprint Backlog"}, {"name": "In Progress"}, {"name": "Review"},
                 {"name": "Done"}]},
    {"id": "bug-tracking", "name": "Bug tracking", "description": "Bugs from report to resolution.",
     "columns": [{"name": "Reported"}, {"name": "Triaged"}, {"name": "In Progress"}, {"name": "Testing"},
                 {"name": "Resolved"}]},
    {"id": "roadmap", "name": "Roadmap", "description": "Product roadmap: later, next, now, shipped.",
     "columns": [{"name": "Later"}, {"name": "Next"}, {"name": "Now"}, {"name": "Shipped"}]},
]}


def checklist_progress(items: list[dict]) -> int:
    if not items:
        return 0
    return round(100 * sum(1 for i in items if i.get("done")) / len(items))


def checklist_complete(items: list[dict] | None) -> bool:
    return bool(items) and all(i.get("done") for i in items)


def normalize_checklist(items: list[dict]) -> list[dict]:
    """Items `{_id?, title, done, order?}` -> stored items with an `_id` and a dense `order`."""
    indexed = sorted(enumerate(items), key=lambda p: (p[1].get("order") if p[1].get("order") is not None else p[0],
                                                       p[0]))
    seen, out = set(), []
    for position, (_, item) in enumerate(indexed):
        item_id = item.get("item_id") or item.get("_id")
        if not isinstance(item_id, str) or not item_id or len(item_id) > 64 or item_id in seen:
            item_id = new_id()
        seen.add(item_id)
        out.append({"_id": item_id, "title": item["title"], "done": bool(item.get("done")), "order": position})
    return out


def validate_value(field: dict, value):
    """A custom-field value checked against its field's type; returns what is stored (400 otherwise)."""
    kind, name = field["type"], field["name"]
    if kind == "text" and isinstance(value, str) and len(value) <= 5000:
        return value
    if kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "select" and isinstance(value, str) and value in (field.get("options") or []):
        return value
    if kind == "multi-select" and isinstance(value, list) and all(
            isinstance(v, str) and v in (field.get("options") or []) for v in value):
        return list(dict.fromkeys(value))
    if kind == "date" and isinstance(value, str):
        try:
            return iso(IsoDateTime().deserialize(value))
        except ValidationError:
            pass
    expected = {"text": "a string of at most 5000 characters", "number": "a number", "boolean": "true or false",
                "select": "one of the field's options", "multi-select": "a list of the field's options",
                "date": "an ISO 8601 date"}[kind]
    raise BadRequest(f"Custom field '{name}' expects {expected}")


def schedule_attachment_deletions(db, *, session=None, **scope) -> None:
    """Hand the attachments of deleted cards / scope / project / workspace / org to the attachments module
    (metadata removed and S3 objects queued in this same transaction)."""
    try:
        from .attachments import service as attachments_service
    except ModuleNotFoundError as exc:   # the attachments module not written yet: it has nothing stored
        if exc.name != f"{__package__}.attachments.service":
            raise
        log.warning("attachments.service missing: no attachment deletions scheduled for %s", scope)
        return
    attachments_service.schedule_deletions(db, session=session, **scope)


def new_column(project: dict, name: str, order: int, scope_id, ts, rank: int | None = None) -> dict:
    """A column document; `order` is its place in the answer, `rank` the stored one (ranks of a new
    board: 0, 1, 2… like the orders of before ranks)."""
    return {"id": new_id(), "orgId": project.get("orgId"), "workspaceId": project["workspaceId"],
            "projectId": project["id"], "scopeId": scope_id, "name": name, "order": order,
            "rank": order if rank is None else rank, "createdAt": ts, "updatedAt": ts}


def new_card(*, created_by: str | None, project: dict, column: dict, order: int, ts, rank: int | None = None,
             **fields) -> dict:
    """A card document; `order` is only its place in the answer (the stored place is `rank`)."""
    return {"id": new_id(), "orgId": project.get("orgId"), "workspaceId": project["workspaceId"],
            "projectId": project["id"], "columnId": column["id"], "scopeId": column.get("scopeId"),
            "title": fields["title"], "description": fields.get("description"),
            "priority": fields.get("priority") or "medium", "startDate": fields.get("startDate"),
            "dueDate": fields.get("dueDate"), "assigneeId": fields.get("assigneeId"),
            "archived": bool(fields.get("archived", False)), "order": order,
            "rank": int(order) if rank is None else rank,
            "labelIds": list(fields.get("labelIds") or []), "customFields": dict(fields.get("customFields") or {}),
            "checklist": normalize_checklist(fields.get("checklist") or []),
            "commentCount": 0, "attachmentCount": 0, "createdBy": created_by, "createdAt": ts, "updatedAt": ts}
