"""The agent's tools: what each does through its owner (boards' NATS commands), its arguments, and the
preview of what it would change. Table-driven: TOOLS[name] -> Tool.

Every call is scoped to the mission's workspace (boards answers 404 for an id of another workspace) and
made as the mission's creator with `via: "agent"` (boards' activity events carry it). `cardId` defaults
to the mission's card, `projectId` to its project.

    read_card   {cardId?}                                        -> {card, columns}
    comment     {cardId?, content}                               -> the comment
    update_card {cardId?, title?, description?, priority?, dueDate?} -> the card
    move_card   {cardId?, targetColumn}   (a column id or name)  -> the card
    checklist   {cardId?, action: add|check|uncheck, title?, itemId?} -> the item
    create_card {projectId?, columnName? | columnId?, title, description?, priority?} -> the card
"""
from __future__ import annotations

from dataclasses import dataclass

from marshmallow import EXCLUDE, ValidationError, fields, validate, validates_schema

from libs.common.errors import ApiError, validation_message
from libs.common.schemas import Enum, IdStr, IsoDateTime, Name, StrictSchema

PRIORITIES = ("low", "medium", "high")


class Args(StrictSchema):
    class Meta:
        unknown = EXCLUDE      # a model's extra keys are ignored, not fatal


class ReadCardArgs(Args):
    cardId = IdStr()


class CommentArgs(Args):
    cardId = IdStr()
    content = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class UpdateCardArgs(Args):
    cardId = IdStr()
    title = Name(500)
    description = fields.String(validate=validate.Length(max=5000), allow_none=True)
    priority = Enum(PRIORITIES)
    dueDate = IsoDateTime(allow_none=True)

    @validates_schema
    def _something(self, data, **kwargs):
        if not set(data) - {"cardId"}:
            raise ValidationError("Give at least one of title, description, priority, dueDate.")


class MoveCardArgs(Args):
    cardId = IdStr()
    targetColumn = fields.String(required=True, validate=validate.Length(min=1, max=100))


class ChecklistArgs(Args):
    cardId = IdStr()
    action = Enum(("add", "check", "uncheck"), required=True)
    title = Name(500)
    itemId = fields.String(validate=validate.Length(min=1, max=64))

    @validates_schema
    def _target(self, data, **kwargs):
        if data.get("action") == "add" and not data.get("title"):
            raise ValidationError({"title": ["Required to add an item."]})
        if data.get("action") in ("check", "uncheck") and not (data.get("itemId") or data.get("title")):
            raise ValidationError({"itemId": ["Give the item's id or title."]})


class CreateCardArgs(Args):
    projectId = IdStr()
    columnId = IdStr()
    columnName = Name(100)
    title = Name(500, required=True)
    description = fields.String(validate=validate.Length(max=5000), allow_none=True)
    priority = Enum(PRIORITIES)


@dataclass(frozen=True)
class Tool:
    name: str
    writes: bool
    description: str
    args: type
    parameters: dict     # JSON Schema of the arguments (OpenAI function tools)


def _obj(props: dict, required=()) -> dict:
    return {"type": "object", "properties": props, "required": list(required), "additionalProperties": False}


_ID = {"type": "string", "description": "24-hex id; default: the mission's"}
TOOLS = {t.name: t for t in (
    Tool("read_card", False, "Read a card: its fields, checklist and the board's columns.", ReadCardArgs,
         _obj({"cardId": _ID})),
    Tool("comment", True, "Add a comment to a card.", CommentArgs,
         _obj({"cardId": _ID, "content": {"type": "string"}}, ["content"])),
    Tool("update_card", True, "Change a card's title, description, priority or due date.", UpdateCardArgs,
         _obj({"cardId": _ID, "title": {"type": "string"}, "description": {"type": "string"},
               "priority": {"type": "string", "enum": list(PRIORITIES)},
               "dueDate": {"type": "string", "description": "ISO 8601 date"}})),
    Tool("move_card", True, "Move a card to another column of its board (column id or name).", MoveCardArgs,
         _obj({"cardId": _ID, "targetColumn": {"type": "string"}}, ["targetColumn"])),
    Tool("checklist", True, "Add a checklist item to a card, or check / uncheck one (by id or title).",
         ChecklistArgs,
         _obj({"cardId": _ID, "action": {"type": "string", "enum": ["add", "check", "uncheck"]},
               "title": {"type": "string"}, "itemId": {"type": "string"}}, ["action"])),
    Tool("create_card", True, "Create a card in a column (by name or id) of the mission's project.", CreateCardArgs,
         _obj({"projectId": _ID, "columnName": {"type": "string"}, "columnId": {"type": "string"},
               "title": {"type": "string"}, "description": {"type": "string"},
               "priority": {"type": "string", "enum": list(PRIORITIES)}}, ["title"])),
)}


class ToolError(Exception):
    """A tool call that cannot be done (bad arguments, a 404 from boards…): told to the model, not fatal."""


def load_args(name: str, arguments) -> dict:
    if not isinstance(arguments, dict):
        raise ToolError("arguments must be a JSON object")
    try:
        return TOOLS[name].args().load(arguments)
    except ValidationError as err:
        raise ToolError(f"invalid arguments: {validation_message(err.normalized_messages())}") from None


def function_specs(names) -> list[dict]:
    """The tools as OpenAI function tools."""
    return [{"type": "function", "function": {"name": n, "description": TOOLS[n].description,
                                              "parameters": TOOLS[n].parameters}} for n in names]


@dataclass
class Scope:
    """Where a mission's tools act: its workspace, its card and project, as whom."""

    bus: object
    workspace_id: str
    org_id: str | None
    card_id: str
    project_id: str | None
    actor: dict
    timeout: float

    def call(self, verb: str, payload: dict):
        try:
            return self.bus.call("boards", verb, {"workspaceId": self.workspace_id, "orgId": self.org_id} | payload,
                                 timeout=self.timeout)
        except ApiError as err:
            if err.status >= 500:
                raise
            raise ToolError(f"{verb}: {err.message}") from None


def _card(scope: Scope, args: dict) -> dict:
    return scope.call("get_card", {"cardId": args.get("cardId") or scope.card_id})


def _columns(scope: Scope, project_id: str) -> list[dict]:
    refs = scope.call("project_refs", {"projectId": project_id})
    return sorted(refs.get("columns") or [], key=lambda c: c.get("order", 0))


def _item(card: dict, args: dict) -> dict:
    items = card.get("checklist") or []
    for item in items:
        if args.get("itemId") and item["_id"] == args["itemId"]:
            return item
    for item in items:
        if args.get("title") and item["title"].strip().lower() == args["title"].strip().lower():
            return item
    raise ToolError("checklist item not found")


def _checklist_view(items) -> list[dict]:
    return [{"title": i["title"], "done": bool(i.get("done"))} for i in items or []]


def _column_name(columns: list[dict], column_id: str | None) -> str | None:
    return next((c["name"] for c in columns if c["id"] == column_id), column_id)


def _target_column(columns: list[dict], target: str) -> dict:
    found = next((c for c in columns if c["id"] == target), None) or \
        next((c for c in columns if c["name"].strip().lower() == target.strip().lower()), None)
    if found is None:
        raise ToolError(f"no column '{target}' on this board")
    return found


def preview(name: str, args: dict, scope: Scope) -> dict:
    """{field: {"before", "after"}} of what the call would change, read from the board now."""
    if name == "create_card":
        project_id = args.get("projectId") or scope.project_id
        columns = _columns(scope, project_id)
        column = (_target_column(columns, args.get("columnId") or args["columnName"])
                  if args.get("columnId") or args.get("columnName") else (columns[0] if columns else None))
        if column is None:
            raise ToolError("the project has no column")
        return {"card": {"before": None, "after": {"title": args["title"], "column": column["name"],
                                                   "priority": args.get("priority") or "medium"}}}
    card = _card(scope, args)
    if name == "comment":
        return {"comments": {"before": card.get("commentCount", 0), "after": card.get("commentCount", 0) + 1},
                "comment": {"before": None, "after": args["content"]}}
    if name == "update_card":
        out = {}
        for key in ("title", "description", "priority", "dueDate"):
            if key in args:
                after = args[key].isoformat().replace("+00:00", "Z") if hasattr(args[key], "isoformat") else args[key]
                if after != card.get(key):
                    out[key] = {"before": card.get(key), "after": after}
        return out
    if name == "move_card":
        columns = _columns(scope, card["projectId"])
        target = _target_column(columns, args["targetColumn"])
        return {"column": {"before": _column_name(columns, card["columnId"]), "after": target["name"]}}
    if name == "checklist":
        before = _checklist_view(card.get("checklist"))
        if args["action"] == "add":
            after = before + [{"title": args["title"], "done": False}]
        else:
            item = _item(card, args)
            after = [dict(i, done=(args["action"] == "check")) if src["_id"] == item["_id"] else i
                     for i, src in zip(before, card.get("checklist") or [])]
        return {"checklist": {"before": before, "after": after}}
    return {}


def execute(name: str, args: dict, scope: Scope):
    """Run the call through boards; returns what the model is told."""
    actor = scope.actor
    if name == "read_card":
        card = _card(scope, args)
        columns = _columns(scope, card["projectId"])
        keep = ("id", "projectId", "columnId", "title", "description", "priority", "dueDate", "assigneeId",
                "labelIds", "checklist", "checklistProgress", "commentCount", "archived")
        return {"card": {k: card.get(k) for k in keep} | {"column": _column_name(columns, card["columnId"])},
                "columns": [{"id": c["id"], "name": c["name"]} for c in columns]}
    card_id = args.get("cardId") or scope.card_id
    if name == "comment":
        comment = scope.call("add_comment", {"cardId": card_id, "content": args["content"], "actor": actor})
        return {"commentId": comment["id"], "content": comment["content"]}
    if name == "update_card":
        changes = {k: (v.isoformat().replace("+00:00", "Z") if hasattr(v, "isoformat") else v)
                   for k, v in args.items() if k != "cardId"}
        card = scope.call("update_card", {"cardId": card_id, "changes": changes, "actor": actor})
        return {"card": {k: card.get(k) for k in ("id", "title", "priority", "dueDate", "description")}}
    if name == "move_card":
        card = scope.call("move_card", {"cardId": card_id, "targetColumn": args["targetColumn"], "actor": actor})
        return {"card": {"id": card["id"], "columnId": card["columnId"]}}
    if name == "checklist":
        if args["action"] == "add":
            item = scope.call("add_checklist_item", {"cardId": card_id, "title": args["title"], "actor": actor})
        else:
            target = _item(_card(scope, args), args)
            item = scope.call("update_checklist_item", {"cardId": card_id, "itemId": target["_id"],
                                                        "changes": {"done": args["action"] == "check"},
                                                        "actor": actor})
        return {"item": item}
    if name == "create_card":
        payload = {"projectId": args.get("projectId") or scope.project_id, "title": args["title"], "actor": actor}
        for key in ("description", "priority", "columnId", "columnName"):
            if args.get(key):
                payload[key] = args[key]
        if not (payload.get("columnId") or payload.get("columnName")):
            columns = _columns(scope, payload["projectId"])
            if not columns:
                raise ToolError("the project has no column")
            payload["columnId"] = columns[0]["id"]
        card = scope.call("create_card", payload)
        return {"card": {"id": card["id"], "title": card["title"], "columnId": card["columnId"]}}
    raise ToolError(f"unknown tool {name}")
