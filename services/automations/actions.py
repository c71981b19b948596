"""What each action type does: its dry-run preview and its run through the service that owns the target.

Cards belong to boards, so card actions are boards' NATS commands (`cmd.boards.*`), sent with the
rule's author as actor and `via: "automation"` (plus `ruleId` and the `chain`, which boards copies
into the events it publishes). `notify` is an event notifications consumes.

| type          | params                       | performed by                                                    |
|---------------|------------------------------|-----------------------------------------------------------------|
| move_card     | {columnId} or {columnName}   | cmd.boards.update_card {columnId} / cmd.boards.move_card (name)  |
| assign        | {assigneeId} (null unassigns)| cmd.boards.update_card {assigneeId}                              |
| set_priority  | {priority}                   | cmd.boards.update_card {priority}                                |
| add_label     | {labelId}                    | cmd.boards.get_card, then cmd.boards.update_card {labelIds}      |
| add_comment   | {content}                    | cmd.boards.add_comment                                          |
| archive_card  | {}                           | cmd.boards.update_card {archived: true}                          |
| set_due_date  | {dueDate} or {inDays}        | cmd.boards.update_card {dueDate}                                 |
| notify        | {userIds?, message}          | event automations.notification.requested (outbox) → notifications |

A preview (`POST …/test`) returns `{field: {before, after}}` and an `error` when the action could not
run as the board is now (a column or label that no longer exists, an assignee who left).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from libs.common.errors import ApiError, BadRequest
from libs.common.mongo import iso


@dataclass
class Target:
    """The card an action acts on and what the run knows about its project."""

    workspace_id: str
    org_id: str | None
    project_id: str
    card: dict
    project_name: str | None = None
    member_ids: list = field(default_factory=list)
    event_id: str = ""          # the triggering event (derived ids of what the run publishes)


class ActionFailed(Exception):
    """An action the owner refused: `detail` is what the trace says."""

    def __init__(self, detail: str, status: int = 400):
        super().__init__(detail)
        self.detail = detail
        self.status = status


def due_value(params: dict, at: datetime | None = None) -> str | None:
    if "inDays" in params:
        base = at or datetime.now(timezone.utc)
        return iso(base.replace(microsecond=base.microsecond // 1000 * 1000) + timedelta(days=params["inDays"]))
    return params.get("dueDate")


def _change(before, after) -> dict:
    return {} if before == after else {"before": before, "after": after}


# ---------------------------------------------------------------- previews: (changes, error)
def preview(action: dict, card: dict, refs: dict | None, recipients: list[str] | None = None) -> tuple[dict, str | None]:
    """What the action would change on `card` now; `refs` = boards' project_refs (columns, labels)."""
    kind, params = action["type"], action.get("params") or {}
    changes: dict = {}
    error = None
    if kind == "move_card":
        columns = (refs or {}).get("columns") or []
        if "columnId" in params:
            column = next((c for c in columns if c["id"] == params["columnId"]), None)
            if column is None:
                error = f"column {params['columnId']} no longer exists in this project"
        else:
            wanted = params["columnName"].strip().lower()
            column = next((c for c in columns if c["name"].strip().lower() == wanted
                           and c.get("scopeId") == card.get("scopeId")), None)
            if column is None:
                error = f"no column named '{params['columnName']}' on the card's board"
        if column is not None:
            changes["columnId"] = _change(card.get("columnId"), column["id"])
    elif kind == "assign":
        changes["assigneeId"] = _change(card.get("assigneeId"), params["assigneeId"])
    elif kind == "set_priority":
        changes["priority"] = _change(card.get("priority"), params["priority"])
    elif kind == "add_label":
        labels = {x["id"] for x in (refs or {}).get("labels") or []}
        if params["labelId"] not in labels:
            error = f"label {params['labelId']} no longer exists in this project"
        else:
            before = list(card.get("labelIds") or [])
            after = before if params["labelId"] in before else before + [params["labelId"]]
            changes["labelIds"] = _change(before, after)
    elif kind == "add_comment":
        count = card.get("commentCount") or 0
        changes["commentCount"] = _change(count, count + 1)
    elif kind == "archive_card":
        changes["archived"] = _change(bool(card.get("archived")), True)
    elif kind == "set_due_date":
        changes["dueDate"] = _change(card.get("dueDate"), due_value(params))
    elif kind == "notify":
        changes["notifications"] = _change([], list(recipients or []))
    return {k: v for k, v in changes.items() if v}, error


# ---------------------------------------------------------------- runs (raise ActionFailed)
def _explain(kind: str, params: dict, err: ApiError) -> str:
    """The owner's error, said in terms of the rule (never acting on something else instead)."""
    msg = err.message
    low = msg.lower()
    if err.status == 404 and "card" in low:
        return f"{kind}: the card no longer exists ({msg})"
    if kind == "move_card" and err.status == 404 and "columnId" in params:
        return f"move_card: column {params['columnId']} no longer exists in this project ({msg})"
    if kind == "add_label" and "label" in low:
        return f"add_label: label {params['labelId']} no longer exists in this project ({msg})"
    if kind == "assign" and "member" in low:
        return f"assign: user {params['assigneeId']} is not a member of the workspace ({msg})"
    return f"{kind}: {msg} ({err.status})"


class Runner:
    """Runs actions for the worker. `bus` = a SyncNats; `notify(target, actor, rule, user_ids, message)`
    records the notification request (outbox)."""

    def __init__(self, *, bus, timeout: float, notify, workspace_members):
        self.bus = bus
        self.timeout = timeout
        self.notify = notify
        self.workspace_members = workspace_members

    def _boards(self, verb: str, target: Target, actor: dict, body: dict):
        payload = body | {"workspaceId": target.workspace_id, "orgId": target.org_id, "actor": actor}
        return self.bus.call("boards", verb, payload, timeout=self.timeout)

    def _update(self, target: Target, actor: dict, changes: dict) -> dict:
        return self._boards("update_card", target, actor, {"cardId": target.card["id"], "changes": changes})

    def run(self, rule: dict, target: Target, actor: dict) -> str:
        """Perform the rule's action; returns the trace's detail, raises ActionFailed."""
        kind, params = rule["action"]["type"], rule["action"].get("params") or {}
        try:
            return getattr(self, f"_{kind}")(params, target, actor, rule)
        except ApiError as err:
            raise ActionFailed(_explain(kind, params, err), err.status) from err

    def _move_card(self, params, target, actor, rule) -> str:
        if "columnId" in params:
            card = self._update(target, actor, {"columnId": params["columnId"]})
        else:
            card = self._boards("move_card", target, actor, {"cardId": target.card["id"],
                                                              "targetColumn": params["columnName"]})
        return f"moved to column {card['columnId']}"

    def _assign(self, params, target, actor, rule) -> str:
        self._update(target, actor, {"assigneeId": params["assigneeId"]})
        return f"assigned to {params['assigneeId']}" if params["assigneeId"] else "unassigned"

    def _set_priority(self, params, target, actor, rule) -> str:
        self._update(target, actor, {"priority": params["priority"]})
        return f"priority set to {params['priority']}"

    def _add_label(self, params, target, actor, rule) -> str:
        card = self._boards("get_card", target, actor, {"cardId": target.card["id"]})
        labels = list(card.get("labelIds") or [])
        if params["labelId"] in labels:
            return f"label {params['labelId']} already on the card"
        self._update(target, actor, {"labelIds": labels + [params["labelId"]]})
        return f"label {params['labelId']} added"

    def _add_comment(self, params, target, actor, rule) -> str:
        comment = self._boards("add_comment", target, actor, {"cardId": target.card["id"],
                                                               "content": params["content"]})
        return f"comment {comment['id']} added"

    def _archive_card(self, params, target, actor, rule) -> str:
        self._update(target, actor, {"archived": True})
        return "card archived"

    def _set_due_date(self, params, target, actor, rule) -> str:
        value = due_value(params)
        self._update(target, actor, {"dueDate": value})
        return f"due date set to {value}" if value else "due date cleared"

    def _notify(self, params, target, actor, rule) -> str:
        wanted = params.get("userIds") or target.member_ids
        members = set(self.workspace_members(target.workspace_id))
        recipients = [u for u in dict.fromkeys(wanted) if u in members]
        left_out = [u for u in wanted if u not in members]
        if not recipients:
            raise ActionFailed("notify: none of the recipients is a member of the workspace"
                               + (f" ({', '.join(left_out)})" if left_out else ""))
        self.notify(target, actor, rule, recipients, params["message"])
        detail = f"notified {len(recipients)} user(s)"
        return detail + (f"; not workspace members, left out: {', '.join(left_out)}" if left_out else "")


def check_refs(action: dict, refs: dict) -> None:
    """At create / PATCH: a column or label the action names must exist in the project (400)."""
    kind, params = action["type"], action.get("params") or {}
    if kind == "move_card" and "columnId" in params:
        if params["columnId"] not in {c["id"] for c in refs.get("columns") or []}:
            raise BadRequest("action.params.columnId: no such column in this project",
                             details={"action": {"params": {"columnId": ["Unknown column."]}}})
    if kind == "move_card" and "columnName" in params:
        names = {c["name"].strip().lower() for c in refs.get("columns") or []}
        if params["columnName"].strip().lower() not in names:
            raise BadRequest("action.params.columnName: no such column in this project",
                             details={"action": {"params": {"columnName": ["Unknown column."]}}})
    if kind == "add_label" and params["labelId"] not in {x["id"] for x in refs.get("labels") or []}:
        raise BadRequest("action.params.labelId: no such label in this project",
                         details={"action": {"params": {"labelId": ["Unknown label."]}}})


def check_condition_refs(conditions: dict, refs: dict) -> None:
    columns = {c["id"] for c in refs.get("columns") or []}
    for key in ("fromColumnId", "toColumnId", "columnId"):
        if key in conditions and conditions[key] not in columns:
            raise BadRequest(f"conditions.{key}: no such column in this project",
                             details={"conditions": {key: ["Unknown column."]}})
    if "labelId" in conditions and conditions["labelId"] not in {x["id"] for x in refs.get("labels") or []}:
        raise BadRequest("conditions.labelId: no such label in this project",
                         details={"conditions": {"labelId": ["Unknown label."]}})


