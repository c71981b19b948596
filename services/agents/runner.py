"""Missions run here, in the worker, never in a request: step by step, every step in the mission's log.

    queued ──claim──▶ running ──(the model's turns: thought, tool calls)──▶ completed
                         │                                           └──▶ awaiting_approval ──decisions──▶ completed | failed
                         └──▶ failed (budget_exceeded, llm_error, worker_lost, …)       cancelled from any of them

A tool call follows the agent's policy (`policy_for`): reads run; a change is applied (autonomous, or a
tool whose policy is `auto`), made a proposal (supervised, or policy `approve`), or queued into the one
proposal an `approval` agent's run ends with; `deny` — or a tool the agent lacks — is refused and the model
told so. Every change reaches the board only between `begin_apply` and `end_apply`, which succeed only while
the mission is still active: once a cancel committed, nothing of that mission is applied.

A worker claims a mission with a lease it renews (AGENTS_RUN_LEASE_S); a worker that dies stops renewing,
and the recovery sweep of any worker resumes the mission (its conversation rebuilt from the log), or fails
it with `worker_lost` when it died while a change was being applied (its outcome unknown: never applied twice).
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

from libs.common.bus import event
from libs.common.errors import ApiError
from libs.common.mongo import new_id, unit_of_work

from . import tools as t
from .journal import Journal, mission_actor
from .llm import LLMError, ToolCall
from .storage import ACTIVE, Stores, now_ms

log = logging.getLogger(__name__)
MAX_RECOVERIES = 3


def policy_for(agent: dict, tool: str) -> str:
    """What a call of `tool` does for this agent: read | apply | propose | bundle | deny."""
    if tool not in t.TOOLS or tool not in (agent.get("tools") or []):
        return "deny"
    policy = (agent.get("toolPolicies") or {}).get(tool)
    if policy == "deny":
        return "deny"
    if not t.TOOLS[tool].writes:
        return "read"
    if policy == "auto":
        return "apply"
    if policy == "approve":
        return "propose"
    return {"autonomous": "apply", "supervised": "propose", "approval": "bundle"}[agent["autonomyMode"]]


def offered_tools(agent: dict) -> list[str]:
    return [name for name in t.TOOLS if policy_for(agent, name) != "deny"]


def proposal_doc(mission: dict, *, kind: str, payload: dict, preview: dict) -> dict:
    return {"_id": new_id(), "orgId": mission.get("orgId"), "workspaceId": mission["workspaceId"],
            "missionId": mission["id"], "agentId": mission["agentId"], "kind": kind, "payload": payload,
            "preview": preview, "status": "pending", "reason": None, "applyState": None, "applyError": None,
            "createdAtMs": now_ms(), "decidedBy": None, "decidedAtMs": None}


def proposal_summary(p: dict) -> dict:
    return {"id": p["id"], "missionId": p["missionId"], "agentId": p["agentId"], "kind": p["kind"],
            "payload": p["payload"], "preview": p["preview"], "status": p["status"]}


def system_prompt(agent: dict) -> str:
    return (f"You are {agent['name']}, an agent working on a kanban board of Stellary. "
            f"{agent.get('description') or ''}\nUse the tools to read and change the card the mission is about; "
            "when you are done, answer with a short summary of what you did, without calling a tool.")


def build_messages(mission: dict, agent: dict, steps: list[dict]) -> list[dict]:
    """The conversation so far, from the log: system, the request, then each turn's assistant message
    (thought + tool calls) followed by the answers to its calls."""
    messages = [{"role": "system", "content": system_prompt(agent)},
                {"role": "user", "content": f"Card {mission['cardId']} (project {mission.get('projectId')}).\n"
                                            f"Request: {mission['prompt']}"}]
    turns: dict[int, dict] = {}
    order: list[int] = []
    results: dict[str, dict] = {}
    for step in steps:
        data = step["data"]
        if step["type"] in ("thought", "tool_call"):
            turn = turns.get(data.get("turn"))
            if turn is None:
                turn = turns[data.get("turn")] = {"thought": None, "calls": []}
                order.append(data.get("turn"))
            if step["type"] == "thought":
                turn["thought"] = data.get("text")
            else:
                turn["calls"].append(data)
        elif step["type"] == "tool_result":
            results[data["callId"]] = {k: v for k, v in data.items() if k not in ("callId", "tool")}
    for number in order:
        turn = turns[number]
        if not turn["calls"]:
            continue
        messages.append({"role": "assistant", "content": turn["thought"],
                         "tool_calls": [{"id": c["callId"], "type": "function",
                                         "function": {"name": c["tool"],
                                                      "arguments": json.dumps(c.get("arguments") or {})}}
                                        for c in turn["calls"]]})
        for c in turn["calls"]:
            messages.append({"role": "tool", "tool_call_id": c["callId"],
                             "content": json.dumps(results.get(c["callId"]) or {"ok": False, "outcome": "interrupted"})})
    return messages


class Stop(Exception):
    """The mission is no longer running (cancelled, or failed by someone else): stop quietly."""


class Runner:
    def __init__(self, *, stores: Stores, journal: Journal, bus, llm, settings, worker_id: str | None = None):
        self.stores = stores
        self.missions = stores.missions
        self.journal = journal
        self.bus = bus
        self.llm = llm
        self.settings = settings
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{new_id()[-6:]}"
        self.lease_ms = int(settings.run_lease_s * 1000)
        self.held: set[str] = set()
        self.lock = threading.Lock()
        self.pool: ThreadPoolExecutor | None = None

    # ------------------------------------------------------------------ process plumbing
    def start(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=self.settings.runner_threads, thread_name_prefix="mission")

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)

    def on_queued(self, envelope: dict) -> None:
        """agents.mission.queued {mission: {id}}: take the mission if no live worker holds it."""
        mission_id = ((envelope.get("data") or {}).get("mission") or {}).get("id")
        if mission_id:
            self.take(mission_id)

    def take(self, mission_id: str) -> bool:
        mission = self.missions.claim(mission_id, worker=self.worker_id, lease_ms=self.lease_ms, statuses=ACTIVE)
        if mission is None:
            return False
        with self.lock:
            self.held.add(mission_id)
        if self.pool is None:      # not started (tests drive a Runner directly): run here
            self._run_guarded(mission_id)
        else:
            self.pool.submit(self._run_guarded, mission_id)
        return True

    def renew(self) -> None:
        with self.lock:
            held = list(self.held)
        self.missions.renew(held, worker=self.worker_id, lease_ms=self.lease_ms)

    def _run_guarded(self, mission_id: str) -> None:
        try:
            self.run(mission_id)
        except Stop:
            mission = self.missions.by_id(mission_id)
            if mission is not None and mission["status"] == "cancelled":
                self.journal.append(mission, [("log", {"message": "stopped: the mission was cancelled",
                                                       "outcome": "stopped"})])
        except Exception as exc:  # noqa: BLE001 - a bug must fail the mission, not leave it running
            log.exception("mission %s: run failed", mission_id)
            mission = self.missions.by_id(mission_id)
            if mission is not None:
                self.fail(mission, "internal_error", f"{exc.__class__.__name__}: {exc}"[:500])
        finally:
            with self.lock:
                self.held.discard(mission_id)
            self.missions.release(mission_id, worker=self.worker_id)
        self._recheck(mission_id)

    def _recheck(self, mission_id: str) -> None:
        """An approval that came while this worker held the mission found it taken: take it again."""
        mission = self.missions.by_id(mission_id)
        if mission and mission["status"] == "awaiting_approval" and any(
                p["status"] == "approved" and p.get("applyState") is None
                for p in self.stores.proposals.for_mission(mission_id)):
            self.take(mission_id)

    # ------------------------------------------------------------------ one mission
    def scope(self, mission: dict) -> t.Scope:
        return t.Scope(bus=self.bus, workspace_id=mission["workspaceId"], org_id=mission.get("orgId"),
                       card_id=mission["cardId"], project_id=mission.get("projectId"), actor=mission_actor(mission),
                       timeout=self.settings.command_timeout)

    def run(self, mission_id: str) -> None:
        mission = self.missions.by_id(mission_id)
        if mission is None or mission["status"] not in ACTIVE:
            return
        agent = self.stores.agents.by_id(mission["agentId"])
        if agent is None:
            self.fail(mission, "agent_deleted", "The agent was deleted")
            return
        if mission["status"] == "awaiting_approval":
            self.settle(mission, agent)
            return
        if mission["status"] == "queued":
            mission = self.journal.transition(mission_id, from_=("queued",), to="running",
                                              values={"startedAtMs": mission.get("startedAtMs") or now_ms()})
            if mission is None:
                return
        self.plan(mission, agent)

    def plan(self, mission: dict, agent: dict) -> None:
        scope = self.scope(mission)
        steps = self.stores.steps.all(mission["id"])
        self._close_interrupted(mission, steps)
        steps = self.stores.steps.all(mission["id"])
        messages = build_messages(mission, agent, steps)
        turn_no = max([s["data"].get("turn") or 0 for s in steps if s["type"] in ("thought", "tool_call")] + [0])
        usage = {"steps": 0, "seconds": 0.0, "tokens": 0} | dict(mission.get("usage") or {})
        budget = mission.get("budget") or {}
        context = {"cardId": mission["cardId"], "projectId": mission.get("projectId"), "prompt": mission["prompt"],
                   "agentName": agent["name"]}
        tools = offered_tools(agent)
        started = mission.get("startedAtMs") or now_ms()
        while True:
            current = self.missions.by_id(mission["id"])
            if current is None or current["status"] != "running":
                raise Stop()
            usage["seconds"] = round((now_ms() - started) / 1000, 3)
            if budget.get("maxSeconds") and usage["seconds"] > budget["maxSeconds"]:
                return self.fail(mission, "budget_exceeded", f"Time budget of {budget['maxSeconds']} s spent",
                                 usage=usage)
            try:
                turn = self.llm.next_turn(messages=messages, tools=tools, context=context)
            except LLMError as exc:
                return self.fail(mission, "llm_error", str(exc)[:500], usage=usage)
            turn_no += 1
            usage["tokens"] += int(turn.tokens or 0)
            if budget.get("maxTokens") and usage["tokens"] > budget["maxTokens"]:
                return self.fail(mission, "budget_exceeded", f"Token budget of {budget['maxTokens']} spent",
                                 usage=usage)
            if turn.thought:
                self.journal.append(mission, [("thought", {"text": turn.thought, "turn": turn_no})],
                                    values={"usage": usage})
            else:
                self.missions.set(mission["id"], {"usage": usage})
            if not turn.calls:
                return self.finish(mission, agent, turn.final or turn.thought or "Done.", usage)
            messages.append({"role": "assistant", "content": turn.thought, "tool_calls": [
                {"id": c.id, "type": "function",
                 "function": {"name": c.name, "arguments": json.dumps(c.arguments if c.arguments is not None else {})}}
                for c in turn.calls]})
            for call in turn.calls:
                if usage["steps"] >= budget.get("maxSteps", agent["limits"]["maxStepsPerMission"]):
                    return self.fail(mission, "budget_exceeded",
                                     f"Step budget of {budget.get('maxSteps')} spent", usage=usage)
                usage["steps"] += 1
                usage["seconds"] = round((now_ms() - started) / 1000, 3)
                self.journal.append(mission, [("tool_call", {"callId": call.id, "tool": call.name,
                                                             "arguments": call.arguments, "turn": turn_no})],
                                    values={"usage": usage})
                result = self.call_tool(mission, agent, scope, call)
                self.journal.append(mission, [("tool_result", {"callId": call.id, "tool": call.name} | result)])
                messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result, default=str)})

    def _close_interrupted(self, mission: dict, steps: list[dict]) -> None:
        """A call recorded without its answer (the run stopped there): answer it `interrupted`."""
        answered = {s["data"]["callId"] for s in steps if s["type"] == "tool_result"}
        open_calls = [s["data"] for s in steps if s["type"] == "tool_call" and s["data"]["callId"] not in answered]
        self.journal.append(mission, [("tool_result", {"callId": c["callId"], "tool": c["tool"], "ok": False,
                                                       "outcome": "interrupted",
                                                       "error": "the run stopped during this call"})
                                      for c in open_calls])

    def call_tool(self, mission: dict, agent: dict, scope: t.Scope, call: ToolCall) -> dict:
        if call.arguments is None:
            return {"ok": False, "outcome": "error", "error": call.error or "arguments are not a JSON object"}
        decision = policy_for(agent, call.name)
        if decision == "deny":
            return {"ok": False, "outcome": "denied", "error": f"the tool {call.name} is not allowed for this agent"}
        try:
            args = t.load_args(call.name, call.arguments)
            if decision == "read":
                return {"ok": True, "outcome": "read", "output": t.execute(call.name, args, scope)}
            if decision == "apply":
                return {"ok": True, "outcome": "applied",
                        "output": self.apply(mission, call.id, lambda: t.execute(call.name, args, scope),
                                             statuses=("running",))}
            preview = t.preview(call.name, args, scope)
            if decision == "propose":
                proposal = self.propose(mission, kind=call.name,
                                        payload={"tool": call.name, "arguments": call.arguments}, preview=preview)
                return {"ok": True, "outcome": "proposed", "proposalId": proposal["id"],
                        "output": {"message": "proposed: it waits for a human's approval", "preview": preview}}
            return {"ok": True, "outcome": "queued",
                    "output": {"message": "queued: applied when the run's result is approved", "preview": preview}}
        except t.ToolError as exc:
            return {"ok": False, "outcome": "error", "error": str(exc)}
        except ApiError as exc:   # boards unavailable: the model is told, the run goes on
            return {"ok": False, "outcome": "error", "error": exc.message}

    def apply(self, mission: dict, marker: str, change, *, statuses: tuple):
        """Run `change()` only while the mission is in `statuses`; a committed cancel stops it first."""
        if not self.missions.begin_apply(mission["id"], marker=marker, statuses=statuses):
            raise Stop()
        try:
            return change()
        finally:
            self.missions.end_apply(mission["id"], marker)

    def propose(self, mission: dict, *, kind: str, payload: dict, preview: dict) -> dict:
        doc = proposal_doc(mission, kind=kind, payload=payload, preview=preview)
        seq = self.missions.take_seqs(mission["id"], 1)
        with unit_of_work(self.journal.client) as s:
            proposal = self.stores.proposals.insert(doc, session=s)
            row = self.stores.steps.doc(mission, seq, "proposal", {"proposal": proposal_summary(proposal)})
            self.stores.steps.insert_many([row], session=s)
            self.journal.outbox.add(event("agents.proposal.created", {
                "proposal": proposal_summary(proposal),
                "mission": {"id": mission["id"], "agentId": mission["agentId"], "cardId": mission["cardId"],
                            "projectId": mission.get("projectId")}},
                actor=mission_actor(mission), org_id=mission.get("orgId"), workspace_id=mission["workspaceId"],
                project_id=mission.get("projectId")), session=s)
        self.journal.wake(mission["id"], [row])
        return proposal

    # ------------------------------------------------------------------ the end of a run
    def finish(self, mission: dict, agent: dict, summary: str, usage: dict) -> None:
        steps = self.stores.steps.all(mission["id"])
        calls = {s["data"]["callId"]: s["data"] for s in steps if s["type"] == "tool_call"}
        queued = [calls[s["data"]["callId"]] for s in steps
                  if s["type"] == "tool_result" and s["data"].get("outcome") == "queued" and s["data"]["callId"] in calls]
        if queued:
            preview = {}
            for n, c in enumerate(queued, 1):
                result = next(s["data"] for s in steps if s["type"] == "tool_result" and s["data"]["callId"] == c["callId"])
                for key, change in ((result.get("output") or {}).get("preview") or {}).items():
                    preview[f"{n}.{c['tool']}.{key}"] = change
            self.propose(mission, kind="changes", preview=preview,
                         payload={"changes": [{"tool": c["tool"], "arguments": c["arguments"]} for c in queued],
                                  "summary": summary})
        outcomes = [s["data"].get("outcome") for s in steps if s["type"] == "tool_result"]
        result = {"summary": summary, "applied": outcomes.count("applied"),
                  "proposed": outcomes.count("proposed") + (1 if queued else 0)}
        self.journal.append(mission, [("result", result)])
        self.missions.set(mission["id"], {"result": result, "usage": usage})
        self.settle(self.missions.by_id(mission["id"]), agent)

    def settle(self, mission: dict, agent: dict) -> None:
        """Apply what was approved; then wait for the pending proposals, or end the mission."""
        scope = self.scope(mission)
        while True:
            proposals = self.stores.proposals.for_mission(mission["id"])
            todo = [p for p in proposals if p["status"] == "approved" and p.get("applyState") is None]
            if todo:
                for p in todo:
                    self.apply_proposal(mission, p, scope)
                continue
            if any(p["status"] == "pending" for p in proposals):
                if mission["status"] == "running":
                    moved = self.journal.transition(mission["id"], from_=("running",), to="awaiting_approval")
                    if moved is None:
                        raise Stop()
                    mission = moved
                    continue    # an approval may have landed meanwhile
                return
            failed = [p for p in proposals if p.get("applyState") == "failed"]
            if failed:
                self.fail(mission, "apply_failed", "; ".join(f"{p['kind']}: {p.get('applyError')}" for p in failed)[:500])
                return
            self.journal.transition(mission["id"], from_=("running", "awaiting_approval"), to="completed")
            return

    def apply_proposal(self, mission: dict, proposal: dict, scope: t.Scope) -> None:
        claimed = self.stores.proposals.claim_apply(proposal["id"])
        if claimed is None:
            return
        changes = proposal["payload"].get("changes") or [proposal["payload"]]

        def change():
            outputs = []
            for c in changes:
                outputs.append(t.execute(c["tool"], t.load_args(c["tool"], c.get("arguments") or {}), scope))
            return outputs

        try:
            outputs = self.apply(mission, proposal["id"], change, statuses=("running", "awaiting_approval"))
        except Stop:
            self.stores.proposals.applied(proposal["id"], state="cancelled")
            raise
        except (t.ToolError, ApiError) as exc:
            message = exc.message if isinstance(exc, ApiError) else str(exc)
            self.stores.proposals.applied(proposal["id"], state="failed", error=message)
            self.journal.append(mission, [("error", {"error": "apply_failed", "proposalId": proposal["id"],
                                                     "message": message})])
            return
        self.stores.proposals.applied(proposal["id"], state="applied", result=json.loads(json.dumps(outputs, default=str)))
        self.journal.append(mission, [("log", {"message": f"applied the approved proposal ({proposal['kind']})",
                                               "proposalId": proposal["id"], "outcome": "applied"})])

    def fail(self, mission: dict, error: str, message: str, *, usage: dict | None = None) -> None:
        self.journal.append(mission, [("error", {"error": error, "message": message})])
        values = {"error": error, "errorMessage": message}
        if usage is not None:
            values["usage"] = usage
        self.journal.transition(mission["id"], from_=ACTIVE, to="failed", values=values, reason=message,
                                then=lambda m, s: self.stores.proposals.reject_pending(m["id"], "failed", session=s))

    # ------------------------------------------------------------------ recovery
    def recover(self) -> int:
        """Missions whose worker died (lease run out): resumed, or failed with `worker_lost`."""
        count = 0
        for mission in self.missions.expired():
            with self.lock:
                if mission["id"] in self.held:
                    continue
            count += 1
            for p in self.stores.proposals.for_mission(mission["id"]):
                if p.get("applyState") == "applying":
                    self.stores.proposals.applied(p["id"], state="failed",
                                                  error="worker_lost: the worker stopped while applying it")
            steps = self.stores.steps.all(mission["id"])
            answered = {s["data"]["callId"] for s in steps if s["type"] == "tool_result"}
            agent = self.stores.agents.by_id(mission["agentId"]) or {"tools": [], "autonomyMode": "supervised"}
            in_flight = [s["data"]["tool"] for s in steps if s["type"] == "tool_call"
                         and s["data"]["callId"] not in answered and policy_for(agent, s["data"]["tool"]) == "apply"]
            recoveries = int(mission.get("recoveries") or 0)
            claimed = self.missions.claim(mission["id"], worker=self.worker_id, lease_ms=self.lease_ms, statuses=ACTIVE)
            if claimed is None:
                continue
            try:
                if in_flight or recoveries >= MAX_RECOVERIES:
                    reason = (f"the worker running it stopped while applying {in_flight[0]}: its outcome is unknown, "
                              "so the mission is not resumed" if in_flight else
                              f"its workers stopped {recoveries + 1} times")
                    self.fail(claimed, "worker_lost", reason)
                    continue
                self.missions.set(mission["id"], {}, inc={"recoveries": 1})
                self.journal.append(claimed, [("log", {"message": "resumed: the worker running it stopped"})])
            finally:
                self.missions.release(mission["id"], worker=self.worker_id)
            log.info("mission %s: resuming after its worker stopped", mission["id"])
            self.take(mission["id"])
        return count
