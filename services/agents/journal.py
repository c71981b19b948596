"""A mission's append-only log and its status changes, written alike by the web process (create,
cancel, review) and the worker (the run).

Each step is `{seq, type, data, at}`; types: `status` {status, previous, reason?}, `thought` {text, turn},
`tool_call` {callId, tool, arguments, turn}, `tool_result` {callId, tool, ok, outcome: read|applied|
proposed|denied|error, output?, error?}, `proposal` {proposal}, `result` {summary}, `error` {error, message},
`log` {message}. A status change commits together with its step and the `agents.mission.updated` event
(the outbox); every write then wakes the mission's open SSE streams with the rows themselves over NATS core
(`live.agents.missions.<missionId>`), best effort: a stream's safety poll reads what a lost wake-up missed.
"""
from __future__ import annotations

from libs.common.bus import event
from libs.common.mongo import unit_of_work

from .storage import Stores, now_ms

LIVE_SUBJECT = "live.agents.missions"      # + ".<missionId>", payload {"rows": [step, …]}


def step_out(row: dict) -> dict:
    return {"seq": row["seq"], "type": row["type"], "data": row["data"], "atMs": row["atMs"]}


def mission_summary(mission: dict) -> dict:
    """What events carry about a mission (webhooks deliver it as is)."""
    return {"id": mission["id"], "agentId": mission["agentId"], "projectId": mission.get("projectId"),
            "cardId": mission.get("cardId"), "status": mission["status"], "error": mission.get("error"),
            "usage": dict(mission.get("usage") or {}), "createdBy": mission.get("createdBy")}


def mission_actor(mission: dict) -> dict:
    return {"userId": mission.get("createdBy"), "via": "agent", "agentId": mission["agentId"],
            "missionId": mission["id"]}


class Journal:
    def __init__(self, *, stores: Stores, outbox, client, announce):
        self.stores = stores
        self.outbox = outbox
        self.client = client
        self.announce = announce     # announce(subject, payload): best-effort core publish

    def wake(self, mission_id: str, rows: list[dict]) -> None:
        if rows:
            self.announce(f"{LIVE_SUBJECT}.{mission_id}", {"rows": [step_out(r) for r in rows]})

    def append(self, mission: dict, entries: list[tuple[str, dict]], *, values: dict | None = None) -> list[dict]:
        """Append steps (not status changes) to the log; `values` are set on the mission in the same command."""
        if not entries:
            return []
        first = self.stores.missions.take_seqs(mission["id"], len(entries), values=values)
        if not first:
            return []
        rows = [self.stores.steps.doc(mission, first + i, kind, data) for i, (kind, data) in enumerate(entries)]
        self.stores.steps.insert_many(rows)
        self.wake(mission["id"], rows)
        return rows

    def status_step(self, mission: dict, previous: str | None, **extra) -> dict:
        data = {"status": mission["status"], "previous": previous} | {k: v for k, v in extra.items() if v is not None}
        return self.stores.steps.doc(mission, int(mission["stepSeq"]), "status", data)

    def transition(self, mission_id: str, *, from_: tuple, to: str, values: dict | None = None,
                   reason: str | None = None, extra: dict | None = None, then=None) -> dict | None:
        """Move the mission from one of `from_` to `to` with its status step and event, in one unit of work.
        `then(mission, session)` runs inside it (e.g. rejecting the pending proposals). None when the
        mission was not in `from_`."""
        values = dict(values or {}) | {"status": to}
        if to in ("completed", "failed", "cancelled"):
            values.setdefault("finishedAtMs", now_ms())
        rows = []
        with unit_of_work(self.client) as s:
            before = self.stores.missions.by_id(mission_id, session=s)
            mission = self.stores.missions.transition(mission_id, from_=from_, values=values, extra=extra, session=s)
            if mission is None:
                return None
            rows.append(self.status_step(mission, before["status"] if before else None, reason=reason,
                                         error=values.get("error")))
            self.stores.steps.insert_many(rows, session=s)
            if then is not None:
                then(mission, s)
            self.outbox.add(event("agents.mission.updated",
                                  {"mission": mission_summary(mission), "previousStatus": before["status"] if before
                                   else None, "reason": reason},
                                  actor=mission_actor(mission), org_id=mission.get("orgId"),
                                  workspace_id=mission["workspaceId"], project_id=mission.get("projectId")),
                            session=s)
        self.wake(mission_id, rows)
        return mission
