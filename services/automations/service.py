"""Automation rules as the API shows them: CRUD, toggle, traces and the dry run (API.md §5, §6).

Any workspace member reads and writes a project's rules (API.md §3); PAT scopes are the gateway's.
A rule belongs to one project of the caller's workspace: every lookup is scoped by
(workspaceId, projectId, id), so an id from elsewhere is a 404. The project itself, its columns and
labels are boards' (cmd.boards.project_refs); workspace membership is identity's.
Nothing here is published: no other service acts on rule changes. Runs happen in the worker
(execution.py), never on the request path. Methods return stored documents: the handlers dump them
through their routes' response schemas (schemas.RuleOut, TraceOut).
"""
from __future__ import annotations

from datetime import datetime

from libs.common.context import Caller
from libs.common.errors import BadRequest, Conflict, NotFound
from libs.common.mongo import is_id, iso, new_id, now
from libs.common.paging import decode_cursor, encode_cursor

from . import engine
from .actions import check_condition_refs, check_refs, preview
from .schemas import MOVE_TRIGGERS
from .storage import Stores


def _stored_action(action: dict) -> dict:
    """Params as JSON values (a dueDate is kept as its ISO text)."""
    params = {k: (iso(v) if isinstance(v, datetime) else v) for k, v in (action.get("params") or {}).items()}
    return {"type": action["type"], "params": params}


def default_name(trigger: str, action: dict) -> str:
    return f"{trigger} → {action['type']}"


class AutomationsService:
    def __init__(self, *, stores: Stores, bus, settings):
        self.stores = stores
        self.rules = stores.rules
        self.bus = bus
        self.settings = settings

    # ------------------------------------------------------------------ owners' data
    def _call(self, service: str, verb: str, payload: dict):
        return self.bus.call(service, verb, payload, timeout=self.settings.command_timeout)

    def project_refs(self, caller: Caller, project_id: str) -> dict:
        """The project (404 unless it is in the caller's workspace), its columns, labels and members."""
        if not is_id(project_id):
            raise NotFound("Project not found")
        return self._call("boards", "project_refs", {"workspaceId": caller.workspace_id, "projectId": project_id})

    def _check_members(self, caller: Caller, action: dict) -> None:
        params = action.get("params") or {}
        wanted = []
        if action["type"] == "assign" and params.get("assigneeId"):
            wanted = [params["assigneeId"]]
        elif action["type"] == "notify" and params.get("userIds"):
            wanted = list(params["userIds"])
        if not wanted:
            return
        members = {m["userId"] for m in self._call("identity", "workspace_members",
                                                  {"workspaceId": caller.workspace_id})}
        strangers = [u for u in wanted if u not in members]
        if strangers:
            field = "assigneeId" if action["type"] == "assign" else "userIds"
            raise BadRequest(f"action.params.{field}: not a member of the workspace: {', '.join(strangers)}",
                             details={"action": {"params": {field: ["Not a member of the workspace."]}}})

    def _check(self, caller: Caller, refs: dict, *, trigger: str, conditions: dict, action: dict,
               check_action: bool, check_conditions: bool) -> None:
        if "fromColumnId" in conditions and trigger not in MOVE_TRIGGERS:
            raise BadRequest("conditions.fromColumnId: only a move knows the column a card came from",
                             details={"conditions": {"fromColumnId": [
                                 f"Use it with {' or '.join(MOVE_TRIGGERS)}."]}})
        if check_conditions:
            check_condition_refs(conditions, refs)
        if check_action:
            check_refs(action, refs)
            self._check_members(caller, action)

    def _check_name(self, project_id: str, name: str | None, *, except_id: str | None = None) -> str | None:
        if name is None:
            return None
        key = name.strip().lower()
        if self.rules.name_taken(project_id, key, except_id=except_id):
            raise Conflict("A rule with this name already exists in the project")
        return key

    def get_or_raise(self, caller: Caller, project_id: str, rule_id: str) -> dict:
        rule = self.rules.get(caller.workspace_id, project_id, rule_id) if is_id(rule_id) and is_id(project_id) \
            else None
        if rule is None:
            raise NotFound("Automation rule not found")
        return rule

    # ------------------------------------------------------------------ CRUD
    def create(self, *, caller: Caller, project_id: str, data: dict) -> dict:
        refs = self.project_refs(caller, project_id)
        action = _stored_action(data["action"])
        self._check(caller, refs, trigger=data["trigger"], conditions=data["conditions"], action=action,
                    check_action=True, check_conditions=True)
        if self.rules.count(caller.workspace_id, project_id) >= self.settings.max_rules_per_project:
            raise Conflict(f"A project holds at most {self.settings.max_rules_per_project} automation rules")
        name_key = self._check_name(project_id, data.get("name"))
        stamp = now()
        doc = {"_id": new_id(), "orgId": caller.org_id, "workspaceId": caller.workspace_id, "projectId": project_id,
               "name": data.get("name") or default_name(data["trigger"], action), "trigger": data["trigger"],
               "conditions": dict(data["conditions"]), "action": action, "enabled": bool(data["enabled"]),
               "disabledReason": None, "failures": 0, "createdBy": caller.user_id, "createdAt": stamp,
               "updatedAt": stamp}
        if name_key is not None:
            doc["nameKey"] = name_key
        return self.rules.insert(doc)

    def list(self, *, caller: Caller, project_id: str) -> list[dict]:
        self.project_refs(caller, project_id)
        return self.rules.list(caller.workspace_id, project_id)

    def get(self, *, caller: Caller, project_id: str, rule_id: str) -> dict:
        return self.get_or_raise(caller, project_id, rule_id)

    def update(self, *, caller: Caller, project_id: str, rule_id: str, data: dict) -> dict:
        rule = self.get_or_raise(caller, project_id, rule_id)
        if not data:
            return rule
        trigger = data.get("trigger", rule["trigger"])
        conditions = data.get("conditions", rule.get("conditions") or {})
        action = _stored_action(data["action"]) if "action" in data else rule["action"]
        if {"trigger", "conditions", "action"} & set(data):
            refs = self.project_refs(caller, project_id) if {"conditions", "action"} & set(data) else {}
            self._check(caller, refs, trigger=trigger, conditions=conditions, action=action,
                        check_action="action" in data, check_conditions="conditions" in data)
        values: dict = {}
        for key in ("trigger", "conditions"):
            if key in data:
                values[key] = dict(data[key]) if key == "conditions" else data[key]
        if "action" in data:
            values["action"] = action
        if "name" in data:
            values["name"] = data["name"]
            values["nameKey"] = self._check_name(project_id, data["name"], except_id=rule["id"])
        if "enabled" in data:
            values.update(self._enabled_values(data["enabled"]))
        updated = self.rules.update(caller.workspace_id, project_id, rule["id"], values)
        if updated is None:
            raise NotFound("Automation rule not found")
        return updated

    @staticmethod
    def _enabled_values(enabled: bool) -> dict:
        """Enabling (again) clears the reason a rule disabled itself and its failure count."""
        return {"enabled": True, "disabledReason": None, "failures": 0} if enabled else {"enabled": False}

    def toggle(self, *, caller: Caller, project_id: str, rule_id: str, enabled: bool | None = None) -> dict:
        rule = self.get_or_raise(caller, project_id, rule_id)
        target = (not rule["enabled"]) if enabled is None else enabled
        updated = self.rules.update(caller.workspace_id, project_id, rule["id"], self._enabled_values(target))
        if updated is None:
            raise NotFound("Automation rule not found")
        return updated

    def delete(self, *, caller: Caller, project_id: str, rule_id: str) -> dict:
        rule = self.get_or_raise(caller, project_id, rule_id)
        if self.rules.delete(caller.workspace_id, project_id, rule["id"]):
            self.stores.traces.delete_for_rule(rule["id"])
        return {"ok": True}

    # ------------------------------------------------------------------ traces
    def traces(self, *, caller: Caller, project_id: str, rule_id: str, limit: int,
               cursor: str | None) -> tuple[list[dict], str | None]:
        rule = self.get_or_raise(caller, project_id, rule_id)
        after = decode_cursor(cursor, int, str)
        rows = self.stores.traces.page(rule["id"], limit=limit + 1, after=after)
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_cursor(rows[-1]["createdAtMs"], rows[-1]["id"])
        return rows, next_cursor

    # ------------------------------------------------------------------ dry run
    def test(self, *, caller: Caller, project_id: str, rule_id: str, card_id: str,
             from_column_id: str | None = None) -> dict:
        """What the rule would do to the card now; changes nothing and writes no trace.

        {"matched": true, "conditions": {"toColumnId": true},
         "action": {"type": "set_priority", "params": {"priority": "high"},
                    "changes": {"priority": {"before": "low", "after": "high"}}}}
        """
        rule = self.get_or_raise(caller, project_id, rule_id)
        card = self._call("boards", "get_card", {"workspaceId": caller.workspace_id, "cardId": card_id}) \
            if is_id(card_id) else None
        if not card or card.get("projectId") != project_id:
            raise NotFound("Card not found")
        conditions = engine.check(rule.get("conditions") or {}, engine.facts(card, from_column_id=from_column_id))
        action = rule["action"]
        refs = None
        recipients = None
        if action["type"] in ("move_card", "add_label", "notify"):
            refs = self.project_refs(caller, project_id)
        if action["type"] == "notify":
            recipients = list((action.get("params") or {}).get("userIds") or (refs or {}).get("memberIds") or [])
        changes, error = preview(action, card, refs, recipients)
        out_action = {"type": action["type"], "params": dict(action.get("params") or {}), "changes": changes}
        if error:
            out_action["error"] = error
        return {"matched": all(conditions.values()), "conditions": conditions, "action": out_action}
