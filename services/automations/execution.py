"""Running rules in the worker: one evaluation per (event, rule whose trigger matched), one trace each
— no silent outcome. For each enabled rule of the project with a matching trigger, in creation order:
    a condition does not hold        -> skipped  "conditions not met: toColumnId" (nothing ran)
    chain deeper than the limit      -> skipped  "chain depth limit (5) reached: …"
    this rule already ran on this
    card earlier in the chain        -> skipped  "loop: …"
    over AUTOMATIONS_RULE_RATE_PER_MIN -> skipped "throttled"
    otherwise the action runs        -> success (what it did) | failed (the owner's error)
A failed action is traced and acknowledged, never raised to the bus (no retry storm). After
AUTOMATIONS_MAX_CONSECUTIVE_FAILURES failed runs in a row the rule disables itself and its last
trace says why. Traces of one event have ids derived from (event id, rule id): a redelivered event
re-runs only the rules it had not traced yet.
"""
from __future__ import annotations

import logging
import time

from pymongo.errors import DuplicateKeyError

from libs.common.announced import MISSING, AnnouncedCache, announce
from libs.common.bus import event
from libs.common.mongo import now

from . import engine
from .actions import ActionFailed, Runner, Target
from .storage import Stores, derived_id

log = logging.getLogger(__name__)
NOTIFY_SUBJECT = "automations.notification.requested"
FAILED_SUBJECT = "automations.run.failed"
# An owner that does not answer is an outage, not the rule's fault: it does not count towards self-disable.
OUTAGE = (503, 504)
RULE_CACHE_PROJECTS = 2000
# Every change of a project's rules (app and worker) is announced here; a worker that heard nothing
# uses its copy without reading, and reads the project's rule version again after RULES_RECHECK_S.
RULES_CHANGED = "automations.rules.changed"
RULES_RECHECK_S = 10.0


def announce_rule_changes(stores: Stores, bus) -> None:
    """The process that writes rules tells every worker (libs/common/announced.py)."""
    stores.rules.on_change.append(lambda project_id: announce(bus, RULES_CHANGED, project_id))


class Executor:
    def __init__(self, *, stores: Stores, outbox, client, bus, settings):
        self.stores = stores
        self.outbox = outbox
        self.client = client
        self.settings = settings
        self.bus = bus
        self._rules = AnnouncedCache(bus, RULES_CHANGED, recheck_s=RULES_RECHECK_S, max_keys=RULE_CACHE_PROJECTS)
        # this process's own changes, at once
        stores.rules.on_change.append(lambda key: self._rules.forget(key) if key else self._rules.clear())
        announce_rule_changes(stores, bus)
        self.runner = Runner(bus=bus, timeout=settings.command_timeout, notify=self._notify,
                             workspace_members=self._workspace_members)

    # ---------------------------------------------------------------- collaborators of the runner
    def _workspace_members(self, workspace_id: str) -> list[str]:
        rows = self.bus.call("identity", "workspace_members", {"workspaceId": workspace_id},
                             timeout=self.settings.command_timeout)
        return [m["userId"] for m in rows or []]

    def _notify(self, target: Target, actor: dict, rule: dict, user_ids: list[str], message: str) -> None:
        """notifications consumes it (services/notifications/events.py); its id is derived from the
        triggering event and the rule, so a re-run requests the same notification."""
        envelope = event(NOTIFY_SUBJECT, {
            "userIds": user_ids, "message": message, "rule": {"id": rule["id"], "name": rule["name"]},
            "project": {"id": target.project_id, "name": target.project_name},
            "card": {"id": target.card.get("id"), "title": target.card.get("title")},
        }, actor=actor, org_id=target.org_id, workspace_id=target.workspace_id, project_id=target.project_id)
        envelope["id"] = derived_id("notify", target.event_id, rule["id"])
        self._add_once(envelope)

    def _add_once(self, envelope: dict) -> None:
        try:
            self.outbox.add(envelope)
        except DuplicateKeyError:  # the same request, recorded by an earlier run of this event
            pass

    # ---------------------------------------------------------------- rules, kept in memory per project
    def rules_of(self, project_id: str) -> list[dict]:
        """The project's enabled rules. No read while this process heard every change (they are
        announced); else one small read (the rules' version), the rules themselves only when it moved."""
        rules = self._rules.get(project_id)
        if rules is not MISSING:
            return rules[1]
        ticket = self._rules.ticket()
        version = self.stores.rules.version(project_id)
        cached = self._rules.peek(project_id)
        if cached is None or cached[0] != version:
            cached = (version, self.stores.rules.enabled_rules(project_id))
        self._rules.put(project_id, cached, ticket)
        return cached[1]

    # ---------------------------------------------------------------- evaluation
    def handle(self, envelope: dict, triggers: list[str]) -> list[dict]:
        """Evaluate every enabled rule of the event's project whose trigger is in `triggers`."""
        data = envelope.get("data") or {}
        project = data.get("project") or {}
        project_id = envelope.get("projectId") or project.get("id")
        card = data.get("card") or {}
        if not project_id or not triggers or not card.get("id"):
            return []
        fact = engine.facts_of(envelope)
        rules, unmet = [], {}
        for rule in self.rules_of(project_id):
            if rule["trigger"] not in triggers:
                continue
            rules.append(rule)
            failing = [k for k, ok in engine.check(rule.get("conditions") or {}, fact).items() if not ok]
            if failing:
                unmet[rule["id"]] = "conditions not met: " + ", ".join(sorted(failing))
        if not rules:
            return []
        ids = {rule["id"]: derived_id(envelope["id"], rule["id"]) for rule in rules}
        done = self.stores.traces.existing(list(ids.values()))
        chain = engine.chain_of(envelope)
        target = Target(workspace_id=envelope.get("workspaceId"), org_id=envelope.get("orgId"),
                        project_id=project_id, card=card, project_name=project.get("name"),
                        member_ids=list(data.get("projectMemberIds") or []), event_id=envelope["id"])
        traces = [self.evaluate(rule, envelope, chain, target, ids[rule["id"]], unmet.get(rule["id"]))
                  for rule in rules if ids[rule["id"]] not in done]
        self._write(traces)
        return traces

    def evaluate(self, rule: dict, envelope: dict, chain: dict, target: Target, trace_id: str,
                 unmet: str | None = None) -> dict:
        started = time.perf_counter()
        depth = chain["depth"] + 1
        key = engine.run_key(rule["id"], target.card["id"])
        result, detail = "skipped", None
        if unmet:
            detail = unmet
        elif depth > self.settings.max_chain_depth:
            detail = (f"chain depth limit ({self.settings.max_chain_depth}) reached: not run "
                      f"(chain {chain['id']})")
        elif key in chain["path"]:
            detail = "loop: this rule already ran on this card in this chain"
        elif not self.stores.rate.take(rule, self.settings.rule_rate_per_min):
            detail = "throttled"
        else:
            actor = {"userId": rule.get("createdBy"), "via": "automation", "ruleId": rule["id"],
                     "chain": {"id": chain["id"], "depth": depth, "path": chain["path"] + [key]}}
            try:
                detail = self.runner.run(rule, target, actor)
                result = "success"
                self.stores.rules.record_success(rule)
            except ActionFailed as failure:
                result, detail = "failed", failure.detail
                if failure.status not in OUTAGE:
                    detail += self._count_failure(rule)
        created = now()
        return {"_id": trace_id, "ruleId": rule["id"], "orgId": rule.get("orgId"), "workspaceId": rule["workspaceId"],
                "projectId": rule["projectId"], "actorId": rule.get("createdBy"), "targetCardId": target.card["id"],
                "triggeredBy": envelope["id"], "chain": {"id": chain["id"], "depth": depth}, "result": result,
                "detail": detail, "durationMs": int(round((time.perf_counter() - started) * 1000)),
                "createdAt": created, "createdAtMs": int(created.timestamp() * 1000)}

    def _count_failure(self, rule: dict) -> str:
        limit = self.settings.max_consecutive_failures
        if self.stores.rules.record_failure(rule) < limit:
            return ""
        reason = f"disabled after {limit} consecutive failed runs"
        if self.stores.rules.disable(rule, reason):
            log.warning("automation rule %s %s", rule["id"], reason)
            return f"; rule {reason}"
        return ""

    def _write(self, traces: list[dict]) -> None:
        """Announce the failures (webhooks' `automation_failed`) first, then write the traces: a crash in
        between re-runs the rules of the event, and the announcement's derived id keeps it single."""
        for t in traces:
            if t["result"] != "failed":
                continue
            envelope = event(FAILED_SUBJECT, {"ruleId": t["ruleId"], "cardId": t["targetCardId"],
                                              "detail": t["detail"], "traceId": t["_id"], "chain": t["chain"],
                                              "triggeredBy": t["triggeredBy"]},
                             actor={"userId": t["actorId"], "via": "automation"}, org_id=t["orgId"],
                             workspace_id=t["workspaceId"], project_id=t["projectId"])
            envelope["id"] = derived_id("failed", t["_id"])
            self._add_once(envelope)
        self.stores.traces.insert_many(traces)
