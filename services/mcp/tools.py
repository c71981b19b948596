"""The tools of API.md §6, on the official SDK's MCPServer.

Each tool is a function `(session, **arguments) -> dict` making REST calls as the caller
(`session.rest`); `build_server` registers it with a wrapper that answers its result as JSON
(text content and structuredContent), turns an API error into a tool error carrying the API's
`{statusCode, message, error}`, and records the call (who, which token, tool, workspace, result,
duration). Arguments are camelCase, as in the REST API; `orgSlug`/`wsSlug` name the workspace.
"""
import asyncio
import inspect
import json
import logging
import time
from dataclasses import dataclass
from typing import Annotated, Any, Awaitable, Callable, Mapping

from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from .rest import Rest, ToolFailure, seg, workspace_path

log = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Stellary: organizations → workspaces → projects with kanban boards, and a pilotage layer "
    "(missions, todos, decisions, documents). Start with list_workspaces to learn the orgSlug/wsSlug "
    "pairs, then list_projects and get_board. Every answer is JSON; an error carries the API's "
    "statusCode and message. What you may change is what your token may change."
)


@dataclass
class Session:
    """One tool call's caller: the REST API as them, and what the record says about them."""
    rest: Rest
    user_id: str
    token: str           # the PAT's id, or "jwt"
    board_max_cards: int = 1000
    transport: str = "http"   # "stdio": relayed by `python -m services.mcp --stdio`


Connect = Callable[[Mapping[str, str]], Session]
Record = Callable[[dict], Awaitable[None]]

# ---------------------------------------------------------------- argument types
Org = Annotated[str, Field(description="Organization slug (from list_workspaces)")]
Ws = Annotated[str, Field(description="Workspace slug (from list_workspaces)")]
ProjectId = Annotated[str, Field(description="Project id (from list_projects)")]
CardId = Annotated[str, Field(description="Card id (from get_board)")]
Priority = Annotated[str | None, Field(description="low | medium | high")]
Date = Annotated[str | None, Field(description="ISO 8601 date or date-time, e.g. 2026-04-01")]
UserId = Annotated[str | None, Field(description="A workspace member's user id")]


# ---------------------------------------------------------------- helpers
def _project_path(org: str, ws: str, project_id: str) -> str:
    return f"{workspace_path(org, ws)}/projects/{seg(project_id, 'Project')}"


def _given(**fields) -> dict:
    return {k: v for k, v in fields.items() if v is not None}


async def _column_id(s: Session, P: str, wanted: str) -> str:
    """A column named by id or by name (case-insensitive), in the project."""
    project = await s.rest.get(P)
    columns = project.get("columns") or []
    for column in columns:
        if column["id"] == wanted:
            return column["id"]
    matches = [c for c in columns if c["name"].strip().lower() == str(wanted).strip().lower()]
    if not matches:
        names = ", ".join(repr(c["name"]) for c in sorted(columns, key=lambda c: c.get("order", 0)))
        raise ToolFailure(404, f"Column {wanted!r} not found in the project (columns: {names})")
    return matches[0]["id"]


def _card_summary(card: dict) -> dict:
    keys = ("id", "title", "priority", "assigneeId", "dueDate", "labelIds", "checklistProgress",
            "commentCount", "order")
    return {k: card.get(k) for k in keys}


def _plain_text(node: Any) -> str:
    """The text of a TipTap document, block by block."""
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        return node.get("text", "")
    inner = "".join(_plain_text(child) for child in node.get("content") or [])
    block = node.get("type") in ("paragraph", "heading", "listItem", "blockquote", "codeBlock", "tableRow")
    return inner + "\n" if block else inner


# ---------------------------------------------------------------- read tools
async def list_workspaces(s: Session) -> dict:
    """The workspaces you belong to, in every organization: their orgSlug and wsSlug are what the other tools take."""
    orgs = await s.rest.get("/organizations")
    per_org = await asyncio.gather(*(s.rest.get(f"/orgs/{seg(org['slug'], 'Organization')}/workspaces")
                                     for org in orgs))
    return {"workspaces": [
        {"orgSlug": org["slug"], "orgName": org.get("name"), "wsSlug": ws["slug"], "name": ws.get("name"),
         "id": ws.get("id"), "isPersonal": ws.get("isPersonal"), "role": ws.get("myRole"),
         "pilotageRole": ws.get("myPilotageRole")}
        for org, workspaces in zip(orgs, per_org) for ws in workspaces]}


async def get_pilotage_state(
        s: Session, orgSlug: Org, wsSlug: Ws,
        profile: Annotated[str | None, Field(description="pilotage | execution | revue")] = None,
        intent: Annotated[str | None, Field(
            description="weekly_review | daily_execution | sprint_planning | context_only")] = None,
        detailLevel: Annotated[str | None, Field(description="minimal | standard | detailed")] = None) -> dict:
    """The workspace's pilotage state (missions, priorities, todos, decisions, docs, proposed actions), as GET …/pilotage/state."""
    return await s.rest.get(f"{workspace_path(orgSlug, wsSlug)}/pilotage/state", profile=profile, intent=intent,
                            detailLevel=detailLevel)


async def list_projects(s: Session, orgSlug: Org, wsSlug: Ws) -> dict:
    """The workspace's projects."""
    projects = await s.rest.get(f"{workspace_path(orgSlug, wsSlug)}/projects")
    return {"projects": [{k: p.get(k) for k in ("id", "name", "description", "templateId", "createdAt", "updatedAt")}
                         for p in projects]}


async def get_board(s: Session, orgSlug: Org, wsSlug: Ws, projectId: ProjectId) -> dict:
    """A project's board: its columns in order, each with its cards in order (archived cards left out)."""
    P = _project_path(orgSlug, wsSlug, projectId)
    project = await s.rest.get(P)
    cards, more = await s.rest.pages(P + "/cards", limit=s.board_max_cards)
    by_column: dict[str, list] = {}
    for card in sorted(cards, key=lambda c: c.get("order", 0)):
        by_column.setdefault(card["columnId"], []).append(_card_summary(card))
    columns = [{"id": c["id"], "name": c["name"], "order": c.get("order"), "scopeId": c.get("scopeId"),
                "cards": by_column.get(c["id"], [])}
               for c in sorted(project.get("columns") or [], key=lambda c: c.get("order", 0))]
    out = {"project": {"id": project["id"], "name": project["name"], "description": project.get("description")},
           "columns": columns}
    if more:
        out["truncated"] = f"only the first {s.board_max_cards} cards are shown"
    return out


async def get_card(s: Session, orgSlug: Org, wsSlug: Ws, projectId: ProjectId, cardId: CardId) -> dict:
    """One card with every field, its checklist and its comments."""
    P = _project_path(orgSlug, wsSlug, projectId)
    C = f"{P}/cards/{seg(cardId, 'Card')}"
    card = await s.rest.get(C)
    comments, more = await s.rest.pages(C + "/comments", limit=200)
    card["comments"] = comments
    if more:
        card["commentsTruncated"] = "only the first 200 comments are shown"
    return card


async def list_todos(
        s: Session, orgSlug: Org, wsSlug: Ws,
        status: Annotated[str | None, Field(description="todo | in_progress | blocked | done")] = None,
        missionId: Annotated[str | None, Field(description="Only the todos of this pilotage mission")] = None) -> dict:
    """The workspace's pilotage todos."""
    rows, more = await s.rest.pages(f"{workspace_path(orgSlug, wsSlug)}/pilotage/todos", limit=500, status=status,
                                    missionId=missionId)
    return {"todos": rows} | ({"truncated": "only the first 500 todos are shown"} if more else {})


async def search_documents(
        s: Session, orgSlug: Org, wsSlug: Ws,
        query: Annotated[str | None, Field(description="Words of the title")] = None,
        docType: Annotated[str | None, Field(
            description="document | spec | brief | adr | note | reference | template | spreadsheet")] = None,
        limit: Annotated[int, Field(ge=1, le=200, description="At most this many documents")] = 50) -> dict:
    """The workspace's documents (without their content) whose title matches; get_document reads one."""
    rows, more = await s.rest.pages(f"{workspace_path(orgSlug, wsSlug)}/documents", limit=limit, q=query,
                                    docType=docType)
    return {"documents": rows, "more": more}


async def get_document(s: Session, orgSlug: Org, wsSlug: Ws,
                       documentId: Annotated[str, Field(description="Document id (from search_documents)")]) -> dict:
    """One document with its content (TipTap JSON) and the same content as plain text."""
    doc = await s.rest.get(f"{workspace_path(orgSlug, wsSlug)}/documents/{seg(documentId, 'Document')}")
    doc["text"] = _plain_text(doc.get("content")).strip()
    return doc


# ---------------------------------------------------------------- write tools
async def create_card(
        s: Session, orgSlug: Org, wsSlug: Ws, projectId: ProjectId,
        title: Annotated[str, Field(description="1-500 characters")],
        columnId: Annotated[str | None, Field(description="The column's id (or give columnName)")] = None,
        columnName: Annotated[str | None, Field(description="The column's name, e.g. 'To Do'")] = None,
        description: str | None = None, priority: Priority = None, dueDate: Date = None,
        assigneeId: UserId = None) -> dict:
    """Create a card in a column of a project's board."""
    P = _project_path(orgSlug, wsSlug, projectId)
    wanted = columnId or columnName
    if not wanted:
        raise ToolFailure(400, "columnId or columnName is required")
    column = await _column_id(s, P, wanted)
    return await s.rest.post(f"{P}/columns/{seg(column, 'Column')}/cards",
                             {"title": title} | _given(description=description, priority=priority,
                                                       dueDate=dueDate, assigneeId=assigneeId))


async def update_card(
        s: Session, orgSlug: Org, wsSlug: Ws, projectId: ProjectId, cardId: CardId,
        title: str | None = None, description: str | None = None, priority: Priority = None,
        startDate: Date = None, dueDate: Date = None, assigneeId: UserId = None,
        archived: Annotated[bool | None, Field(description="true archives the card, false restores it")] = None,
        labelIds: Annotated[list[str] | None, Field(description="The card's labels (replaces them)")] = None,
        clear: Annotated[list[str] | None, Field(
            description="Fields to empty: description, startDate, dueDate, assigneeId")] = None) -> dict:
    """Change a card's fields (only those given); `clear` empties fields."""
    changes = _given(title=title, description=description, priority=priority, startDate=startDate,
                     dueDate=dueDate, assigneeId=assigneeId, archived=archived, labelIds=labelIds)
    for name in clear or []:
        if name not in ("description", "startDate", "dueDate", "assigneeId"):
            raise ToolFailure(400, f"clear: {name!r} cannot be emptied (description, startDate, dueDate, assigneeId)")
        changes[name] = None
    if not changes:
        raise ToolFailure(400, "Nothing to change: give at least one field")
    P = _project_path(orgSlug, wsSlug, projectId)
    return await s.rest.patch(f"{P}/cards/{seg(cardId, 'Card')}", changes)


async def move_card(
        s: Session, orgSlug: Org, wsSlug: Ws, projectId: ProjectId, cardId: CardId,
        targetColumn: Annotated[str, Field(description="The target column's id or name")],
        order: Annotated[int | None, Field(ge=0, description="Position in the column (0 = top; default: last)")] = None
) -> dict:
    """Move a card to another column (or another place in its column)."""
    P = _project_path(orgSlug, wsSlug, projectId)
    column = await _column_id(s, P, targetColumn)
    return await s.rest.patch(f"{P}/cards/{seg(cardId, 'Card')}", {"columnId": column} | _given(order=order))


async def add_comment(s: Session, orgSlug: Org, wsSlug: Ws, projectId: ProjectId, cardId: CardId,
                      content: Annotated[str, Field(description="1-2000 characters")]) -> dict:
    """Comment on a card."""
    P = _project_path(orgSlug, wsSlug, projectId)
    return await s.rest.post(f"{P}/cards/{seg(cardId, 'Card')}/comments", {"content": content})


async def create_todo(
        s: Session, orgSlug: Org, wsSlug: Ws, label: Annotated[str, Field(description="1-300 characters")],
        missionId: Annotated[str | None, Field(description="The pilotage mission it serves")] = None,
        priorityId: Annotated[str | None, Field(description="The pilotage priority it serves")] = None,
        status: Annotated[str | None, Field(description="todo (default) | in_progress | blocked | done")] = None
) -> dict:
    """Add a pilotage todo (needs pilotage role reviewer or owner)."""
    return await s.rest.post(f"{workspace_path(orgSlug, wsSlug)}/pilotage/todos",
                             {"label": label} | _given(missionId=missionId, priorityId=priorityId, status=status))


async def update_todo(
        s: Session, orgSlug: Org, wsSlug: Ws, id: Annotated[str, Field(description="Todo id (from list_todos)")],
        status: Annotated[str | None, Field(description="todo | in_progress | blocked | done")] = None,
        label: str | None = None) -> dict:
    """Change a pilotage todo's status (or label)."""
    changes = _given(status=status, label=label)
    if not changes:
        raise ToolFailure(400, "Nothing to change: give status or label")
    return await s.rest.patch(f"{workspace_path(orgSlug, wsSlug)}/pilotage/todos/{seg(id, 'Todo')}", changes)


async def record_decision(
        s: Session, orgSlug: Org, wsSlug: Ws, title: Annotated[str, Field(description="1-200 characters")],
        impact: Annotated[str | None, Field(description="What it changes (up to 2000 characters)")] = None,
        missionId: Annotated[str | None, Field(description="The pilotage mission it concerns")] = None) -> dict:
    """Record a pilotage decision (needs pilotage role reviewer or owner)."""
    return await s.rest.post(f"{workspace_path(orgSlug, wsSlug)}/pilotage/decisions",
                             {"title": title} | _given(impact=impact, missionId=missionId))


async def propose_action(
        s: Session, orgSlug: Org, wsSlug: Ws,
        actionType: Annotated[str, Field(
            description="move_card | create_card | update_card | create_todo | update_mission_status")],
        explanation: Annotated[str, Field(description="Why (1-500 characters): a human reviews it")],
        payload: Annotated[dict[str, Any] | None, Field(
            description="move_card {cardId, targetColumn}; create_card {projectId, columnId|columnName, title, …}; "
                        "update_card {cardId, changes}; create_todo {label, …}; "
                        "update_mission_status {missionId, status}")] = None) -> dict:
    """Propose an action for a human to review in pilotage (it changes nothing until approved and applied)."""
    return await s.rest.post(f"{workspace_path(orgSlug, wsSlug)}/pilotage/actions/propose",
                             {"actionType": actionType, "explanation": explanation} | _given(payload=payload))


READ_TOOLS = (list_workspaces, get_pilotage_state, list_projects, get_board, get_card, list_todos,
              search_documents, get_document)
WRITE_TOOLS = (create_card, update_card, move_card, add_comment, create_todo, update_todo, record_decision,
               propose_action)


# ---------------------------------------------------------------- the server
def _result(payload: dict, *, error: bool = False) -> CallToolResult:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=payload, is_error=error)


def _as_tool(fn, *, connect: Connect):
    """An MCPServer tool function for `fn`: its arguments (without the session), plus the Context."""
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())[1:]
    name = fn.__name__

    async def tool(ctx: Context, **arguments) -> CallToolResult:
        try:
            return _result(await fn(connect(ctx.headers or {}), **arguments))
        except ToolFailure as err:
            return _result(err.body(), error=True)
        except Exception:  # noqa: BLE001 - a bug of ours: logged, answered as the API would (500)
            log.exception("tool %s failed", name)
            return _result(ToolFailure(500, "Internal server error").body(), error=True)

    ctx_param = inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)
    tool.__signature__ = inspect.Signature([*params, ctx_param], return_annotation=CallToolResult)
    tool.__annotations__ = {p.name: p.annotation for p in params} | {"ctx": Context, "return": CallToolResult}
    tool.__name__ = tool.__qualname__ = name
    tool.__doc__ = fn.__doc__
    return tool


def _outcome(result) -> tuple[int, str | None]:
    """(statusCode, message) of a tools/call result: ours carry the API's error body; the SDK's own
    refusals (unknown tool, arguments not matching the schema) are text: a 400."""
    if isinstance(result, BaseModel):
        result = result.model_dump(by_alias=True)
    if not isinstance(result, dict) or not result.get("isError"):
        return 200, None
    body = result.get("structuredContent") or {}
    if isinstance(body.get("statusCode"), int):
        return body["statusCode"], body.get("message")
    texts = [c.get("text", "") for c in result.get("content") or [] if isinstance(c, dict)]
    return 400, (" ".join(texts) or "Invalid tool call")[:500]


def _recorder(*, connect: Connect, record: Record):
    """Server middleware recording every tools/call, whatever its outcome (refused arguments and
    unknown tools included), once its caller is known."""
    async def middleware(ctx, call_next):
        if ctx.method != "tools/call":
            return await call_next(ctx)
        started = time.perf_counter()
        params = ctx.params or {}
        arguments = params.get("arguments") if isinstance(params.get("arguments"), dict) else {}
        status, message = 500, "Internal server error"
        try:
            result = await call_next(ctx)
            status, message = _outcome(result)
            return result
        except MCPError as err:
            status, message = 400, err.error.message
            raise
        except ValidationError:   # malformed tools/call params (the SDK answers the protocol error)
            status, message = 400, "Invalid tools/call parameters"
            raise
        finally:
            try:
                session = connect(getattr(ctx.request, "headers", None) or {})
            except ToolFailure:
                session = None   # no caller (the gateway always sends one): nothing to record against
            if session is not None:
                await record({"tool": str(params.get("name")), "orgSlug": arguments.get("orgSlug"),
                              "wsSlug": arguments.get("wsSlug"), "status": "ok" if status < 400 else "error",
                              "statusCode": status, "message": message, "userId": session.user_id,
                              "token": session.token, "transport": session.transport, "durationMs": round((time.perf_counter() - started) * 1000, 1)})
    return middleware


def build_server(*, connect: Connect, record: Record) -> MCPServer:
    """`connect(headers)` -> the Session of the request's caller (raises ToolFailure);
    `record(entry)` stores one call's record."""
    server = MCPServer("stellary", title="Stellary", instructions=INSTRUCTIONS, version="1.0.0",
                       middleware=[_recorder(connect=connect, record=record)])
    for fn in READ_TOOLS + WRITE_TOOLS:
        read_only = fn in READ_TOOLS
        annotations = ToolAnnotations(read_only_hint=read_only, destructive_hint=False,
                                      idempotent_hint=read_only or fn in (update_card, move_card, update_todo),
                                      open_world_hint=False)
        server.add_tool(_as_tool(fn, connect=connect), name=fn.__name__,
                        description=(fn.__doc__ or "").strip(), annotations=annotations, structured_output=False)
    return server
