"""Agents, their missions and the proposals of those missions, as the API shows them (API.md §5 "Agents", §6).

Every lookup is scoped by the caller's workspace id: an agent, mission or proposal id of another workspace
is a 404. Any workspace member reads agents and starts, reads and cancels missions; configuring an agent
needs the workspace `admin` role or pilotage `owner` (403); approving or rejecting a proposal needs pilotage
`reviewer` or `owner` (API.md §3). Missions run in the worker (runner.py): creating one writes it `queued`
with its first step and `agents.mission.queued` (the worker's work item) in one unit of work.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from libs.common.bus import event
from libs.common.context import Caller, require_pilotage
from libs.common.errors import Conflict, Forbidden, NotFound, TooManyRequests
from libs.common.mongo import is_id, new_id, unit_of_work
from libs.common.paging import decode_cursor, encode_cursor
from libs.common.schemas import schema

from . import schemas as s
from .journal import Journal, mission_actor, mission_summary
from .runner import proposal_summary
from .storage import ACTIVE, TERMINAL, DuplicateSlug, Stores, now_ms


def agent_out(agent: dict) -> dict:
    return schema(s.AgentOut).dump(agent)


def mission_out(mission: dict, steps: list[dict] | None = None) -> dict:
    if steps is None:
        return schema(s.MissionOut).dump(mission)
    return schema(s.MissionDetailOut).dump(mission | {"steps": steps})


def proposal_out(proposal: dict) -> dict:
    return schema(s.ProposalOut).dump(proposal)


def require_agent_admin(caller: Caller) -> None:
    if caller.ws_role != "admin" and caller.pilotage_role != "owner":
        raise Forbidden("Configuring agents needs the workspace admin role or pilotage owner")


def work_item(mission: dict, reason: str) -> dict:
    """The worker's wake-up for a mission (consumed by the agents worker itself)."""
    return event("agents.mission.queued", {"mission": {"id": mission["id"]}, "reason": reason},
                 actor=mission_actor(mission), org_id=mission.get("orgId"), workspace_id=mission["workspaceId"],
                 project_id=mission.get("projectId"))


class AgentsService:
    def __init__(self, *, stores: Stores, journal: Journal, bus, settings):
        self.stores = stores
        self.journal = journal
        self.bus = bus
        self.settings = settings

    # ------------------------------------------------------------------ agents
    def get_agent_or_raise(self, caller: Caller, agent_id: str) -> dict:
        agent = self.stores.agents.get(caller.workspace_id, agent_id) if is_id(agent_id) else None
        if agent is None:
            raise NotFound("Agent not found")
        return agent

    def create_agent(self, *, caller: Caller, data: dict) -> dict:
        require_agent_admin(caller)
        stamp = now_ms()
        slug = data.get("slug") or _slugify(data["name"])
        doc = {"_id": new_id(), "orgId": caller.org_id, "workspaceId": caller.workspace_id, "name": data["name"],
               "slug": slug, "description": data.get("description"), "autonomyMode": data["autonomyMode"],
               "tools": list(data["tools"]), "toolPolicies": dict(data["toolPolicies"]), "limits": dict(data["limits"]),
               "enabled": bool(data["enabled"]), "createdBy": caller.user_id, "createdAtMs": stamp,
               "updatedAtMs": stamp}
        try:
            return agent_out(self.stores.agents.insert(doc))
        except DuplicateSlug:
            raise Conflict(f"An agent with slug '{slug}' already exists in this workspace") from None

    def list_agents(self, *, caller: Caller) -> list[dict]:
        return [agent_out(a) for a in self.stores.agents.list(caller.workspace_id)]

    def get_agent(self, *, caller: Caller, agent_id: str) -> dict:
        return agent_out(self.get_agent_or_raise(caller, agent_id))

    def update_agent(self, *, caller: Caller, agent_id: str, data: dict) -> dict:
        agent = self.get_agent_or_raise(caller, agent_id)
        require_agent_admin(caller)
        values = {k: v for k, v in data.items() if k != "limits"}
        if "limits" in data:
            values["limits"] = dict(agent.get("limits") or s.DEFAULT_LIMITS) | data["limits"]
        if not values:
            return agent_out(agent)
        # The stand-in's find_one_and_update answers None instead of raising on a unique-index violation.
        if "slug" in values and self.stores.agents.slug_taken(caller.workspace_id, values["slug"], agent["id"]):
            raise Conflict(f"An agent with slug '{values['slug']}' already exists in this workspace")
        try:
            updated = self.stores.agents.update(caller.workspace_id, agent["id"], values)
        except DuplicateSlug:
            raise Conflict(f"An agent with slug '{values['slug']}' already exists in this workspace") from None
        if updated is None:
            raise NotFound("Agent not found")
        return agent_out(updated)

    def delete_agent(self, *, caller: Caller, agent_id: str) -> dict:
        agent = self.get_agent_or_raise(caller, agent_id)
        require_agent_admin(caller)
        if self.stores.agents.delete(caller.workspace_id, agent["id"]):
            self.stores.delete_agent_data(agent["id"])
        return {"ok": True}

    # ------------------------------------------------------------------ missions
    def get_mission_or_raise(self, caller: Caller, mission_id: str) -> dict:
        mission = self.stores.missions.get(caller.workspace_id, mission_id) if is_id(mission_id) else None
        if mission is None:
            raise NotFound("Mission not found")
        return mission

    def create_mission(self, *, caller: Caller, agent_id: str, data: dict) -> dict:
        agent = self.get_agent_or_raise(caller, agent_id)
        if not agent["enabled"]:
            raise Conflict("The agent is disabled")
        card = self.bus.call("boards", "get_card", {"workspaceId": caller.workspace_id, "cardId": data["cardId"]},
                             timeout=self.settings.command_timeout)
        limits = agent.get("limits") or s.DEFAULT_LIMITS
        day = datetime.now(timezone.utc).strftime("%Y%m%d")
        if not self.stores.missions.take_day(agent, day, limits["maxMissionsPerDay"]):
            midnight = (datetime.now(timezone.utc) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
            raise TooManyRequests(f"The agent reached its limit of {limits['maxMissionsPerDay']} missions per day "
                                  "(limits.maxMissionsPerDay)",
                                  headers={"Retry-After": str(int((midnight - datetime.now(timezone.utc)).total_seconds()) + 1)})
        budget = dict(data.get("budget") or {})
        budget["maxSteps"] = min(budget.get("maxSteps") or limits["maxStepsPerMission"], limits["maxStepsPerMission"])
        stamp = now_ms()
        doc = {"_id": new_id(), "orgId": caller.org_id, "workspaceId": caller.workspace_id, "agentId": agent["id"],
               "projectId": card.get("projectId"), "cardId": card["id"], "prompt": data["prompt"], "status": "queued",
               "budget": budget, "usage": {"steps": 0, "seconds": 0.0, "tokens": 0}, "error": None,
               "errorMessage": None, "result": None, "createdBy": caller.user_id, "createdAtMs": stamp,
               "updatedAtMs": stamp, "startedAtMs": None, "finishedAtMs": None, "stepSeq": 1, "leaseBy": None,
               "leaseUntilMs": 0, "applying": None, "recoveries": 0}
        try:
            with unit_of_work(self.journal.client) as sess:
                mission = self.stores.missions.insert(doc, session=sess)
                row = self.journal.status_step(mission, None)
                self.stores.steps.insert_many([row], session=sess)
                self.journal.outbox.add_many([
                    work_item(mission, "created"),
                    event("agents.mission.updated", {"mission": mission_summary(mission), "previousStatus": None,
                                                     "reason": None},
                          actor=mission_actor(mission), org_id=mission.get("orgId"),
                          workspace_id=mission["workspaceId"], project_id=mission.get("projectId"))], session=sess)
        except Exception:
            self.stores.missions.give_back_day(agent["id"], day)
            raise
        self.journal.wake(mission["id"], [row])
        return mission_out(mission)

    def list_missions(self, *, caller: Caller, agent_id: str, limit: int, cursor: str | None,
                      status: str | None = None) -> tuple[list[dict], str | None]:
        agent = self.get_agent_or_raise(caller, agent_id)
        after = decode_cursor(cursor, int, str)
        rows = self.stores.missions.page(agent["id"], limit=limit + 1, after=after, status=status)
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_cursor(rows[-1]["createdAtMs"], rows[-1]["id"])
        return [mission_out(m) for m in rows], next_cursor

    def get_mission(self, *, caller: Caller, mission_id: str) -> dict:
        mission = self.get_mission_or_raise(caller, mission_id)
        steps = self.stores.steps.all(mission["id"])
        return mission_out(mission, steps)

    def cancel_mission(self, *, caller: Caller, mission_id: str) -> dict:
        """Enforced (API.md §6): once this answers, no change of the mission reaches the board — a change
        being applied at this moment is waited for, a later one is refused by `begin_apply`."""
        mission = self.get_mission_or_raise(caller, mission_id)
        if mission["status"] in TERMINAL:
            raise Conflict(f"The mission is already {mission['status']}")
        moved = self.journal.transition(
            mission["id"], from_=ACTIVE, to="cancelled", reason="cancelled", values={"cancelledBy": caller.user_id},
            then=lambda m, sess: self.stores.proposals.reject_pending(m["id"], "cancelled", session=sess))
        if moved is None:
            raise Conflict(f"The mission is already {self.get_mission_or_raise(caller, mission_id)['status']}")
        deadline = time.monotonic() + self.settings.command_timeout + 1
        while self.stores.missions.applying(mission["id"]) and time.monotonic() < deadline:
            time.sleep(0.01)
        return mission_out(moved)

    # ------------------------------------------------------------------ proposals
    def list_proposals(self, *, caller: Caller, mission_id: str) -> list[dict]:
        mission = self.get_mission_or_raise(caller, mission_id)
        return [proposal_out(p) for p in self.stores.proposals.for_mission(mission["id"])]

    def decide(self, *, caller: Caller, proposal_id: str, approve: bool, reason: str | None = None) -> dict:
        proposal = self.stores.proposals.get(caller.workspace_id, proposal_id) if is_id(proposal_id) else None
        if proposal is None:
            raise NotFound("Proposal not found")
        require_pilotage(caller, "reviewer")
        if proposal["status"] != "pending":
            raise Conflict(f"The proposal is already {proposal['status']}")
        mission = self.stores.missions.by_id(proposal["missionId"])
        if mission is None or mission["status"] not in ACTIVE:
            raise Conflict("The proposal's mission is no longer active")
        status = "approved" if approve else "rejected"
        seq = self.stores.missions.take_seqs(mission["id"], 1)
        with unit_of_work(self.journal.client) as sess:
            decided = self.stores.proposals.decide(proposal["id"], status=status, reason=reason,
                                                   user_id=caller.user_id, session=sess)
            if decided is None:
                raise Conflict("The proposal was decided meanwhile")
            row = self.stores.steps.doc(mission, seq, "proposal", {"proposal": proposal_summary(decided),
                                                                   "decidedBy": caller.user_id, "reason": reason})
            self.stores.steps.insert_many([row], session=sess)
            self.journal.outbox.add(work_item(mission, status), session=sess)
        self.journal.wake(mission["id"], [row])
        return proposal_out(decided)


def _slugify(name: str) -> str:
    import re

    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60].strip("-")
    return slug if len(slug) >= 2 else f"agent-{new_id()[-6:]}"
