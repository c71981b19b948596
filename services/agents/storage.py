"""The only pymongo code of the agents service. Documents in, plain dicts (with `id`) out.

Collections (ids are 24-hex strings; every time is epoch milliseconds — what a query compares must be
a number on the embedded stand-in, and one form everywhere keeps it simple):
    agents      {_id, orgId, workspaceId, name, slug, description, autonomyMode, tools, toolPolicies,
                 limits: {maxStepsPerMission, maxMissionsPerDay}, enabled, createdBy, createdAtMs, updatedAtMs}
                unique (workspaceId, slug)
    missions    {_id, orgId, workspaceId, agentId, projectId, cardId, prompt, status, budget, usage, error,
                 result, createdBy, createdAtMs, updatedAtMs, startedAtMs, finishedAtMs, stepSeq,
                 leaseBy, leaseUntilMs, applying, attempts}
                `leaseUntilMs` > 0 only while a worker holds the mission (0 otherwise): the recovery sweep's
                indexed query only ever sees running missions, whatever the history.
    steps       {_id: "<missionId>:<seq>", missionId, workspaceId, orgId, seq, type, data, atMs}
                the append-only log of a mission (seq 1, 2, … from the mission's `stepSeq` counter)
    proposals   {_id, orgId, workspaceId, missionId, agentId, kind, payload, preview, status, reason,
                 applyState: null|applying|applied|failed, applyError, createdAtMs, decidedBy, decidedAtMs}
    drafts      {_id, orgId, workspaceId, name, description, contextDocuments, status, questions, answers,
                 round, roadmap, projectId, executingAtMs, createdBy, createdAtMs, updatedAtMs}
    mission_days {_id: "<agentId>:<yyyymmdd>", agentId, workspaceId, orgId, day, count}  missions per day
"""
from __future__ import annotations

import time

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from libs.common.mongo import ensure_collections, from_doc, read_bool

COLLECTIONS = ("agents", "missions", "steps", "proposals", "drafts", "mission_days", "outbox", "processed_events",
               "dead_letters", "workers")
TERMINAL = ("completed", "failed", "cancelled")
ACTIVE = ("queued", "running", "awaiting_approval")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class DuplicateSlug(Exception):
    pass


def _agent_out(doc):
    doc = from_doc(doc)
    if doc is not None:
        doc["enabled"] = read_bool(doc.get("enabled"))
    return doc


class AgentStore:
    def __init__(self, db):
        self.col = db["agents"]

    def ensure_indexes(self) -> None:
        self.col.create_index([("workspaceId", ASCENDING), ("slug", ASCENDING)], unique=True)
        self.col.create_index("orgId")

    def insert(self, doc: dict) -> dict:
        try:
            self.col.insert_one(doc)
        except DuplicateKeyError as exc:
            raise DuplicateSlug() from exc
        return _agent_out(doc)

    def get(self, workspace_id: str, agent_id: str) -> dict | None:
        return _agent_out(self.col.find_one({"_id": agent_id, "workspaceId": workspace_id}))

    def by_id(self, agent_id: str) -> dict | None:
        return _agent_out(self.col.find_one({"_id": agent_id}))

    def list(self, workspace_id: str) -> list[dict]:
        rows = [_agent_out(d) for d in self.col.find({"workspaceId": {"$eq": workspace_id}})]
        return sorted(rows, key=lambda a: (a["createdAtMs"], a["id"]))

    def slug_taken(self, workspace_id: str, slug: str, except_id: str) -> bool:
        return self.col.find_one({"workspaceId": workspace_id, "slug": slug, "_id": {"$ne": except_id}},
                                 {"_id": 1}) is not None

    def update(self, workspace_id: str, agent_id: str, values: dict) -> dict | None:
        try:
            doc = self.col.find_one_and_update({"_id": agent_id, "workspaceId": workspace_id},
                                               {"$set": values | {"updatedAtMs": now_ms()}},
                                               return_document=ReturnDocument.AFTER)
        except DuplicateKeyError as exc:
            raise DuplicateSlug() from exc
        return _agent_out(doc)

    def delete(self, workspace_id: str, agent_id: str) -> bool:
        return self.col.delete_one({"_id": agent_id, "workspaceId": workspace_id}).deleted_count == 1


class MissionStore:
    def __init__(self, db):
        self.col = db["missions"]
        self.days = db["mission_days"]

    def ensure_indexes(self) -> None:
        self.col.create_index([("agentId", ASCENDING), ("createdAtMs", DESCENDING)])
        self.col.create_index("leaseUntilMs")
        self.col.create_index("workspaceId")
        self.col.create_index("orgId")
        self.days.create_index("day")
        self.days.create_index("workspaceId")
        self.days.create_index("orgId")

    def take_day(self, agent: dict, day: str, limit: int) -> bool:
        """Count one mission of the agent today; False (and nothing counted) beyond `limit`."""
        key = f"{agent['id']}:{day}"
        doc = self.days.find_one_and_update(
            {"_id": key}, {"$inc": {"count": 1}, "$set": {"agentId": agent["id"], "day": day,
                                                          "workspaceId": agent["workspaceId"],
                                                          "orgId": agent.get("orgId")}},
            upsert=True, return_document=ReturnDocument.AFTER)
        if int((doc or {}).get("count") or 1) <= limit:
            return True
        self.days.update_one({"_id": key}, {"$inc": {"count": -1}})
        return False

    def give_back_day(self, agent_id: str, day: str) -> None:
        self.days.update_one({"_id": f"{agent_id}:{day}"}, {"$inc": {"count": -1}})

    def prune_days(self, before_day: str) -> int:
        return self.days.delete_many({"day": {"$lt": before_day}}).deleted_count

    def insert(self, doc: dict, *, session=None) -> dict:
        self.col.insert_one(doc, session=session)
        return from_doc(doc)

    def get(self, workspace_id: str, mission_id: str) -> dict | None:
        return from_doc(self.col.find_one({"_id": mission_id, "workspaceId": workspace_id}))

    def by_id(self, mission_id: str, *, session=None) -> dict | None:
        return from_doc(self.col.find_one({"_id": mission_id}, session=session))

    def existing(self, mission_ids: list[str]) -> set[str]:
        """Which of these missions are still there (the streams' safety poll)."""
        if not mission_ids:
            return set()
        return {d["_id"] for d in self.col.find({"_id": {"$in": mission_ids}}, {"_id": 1})}

    def page(self, agent_id: str, *, limit: int, after: tuple[int, str] | None, status: str | None = None
             ) -> list[dict]:
        """Newest first; `after` = (createdAtMs, id) of the last mission of the previous page."""
        query: dict = {"agentId": {"$eq": agent_id}}
        if status:
            query["status"] = status
        if after is not None:
            ms, last_id = after
            query["$or"] = [{"createdAtMs": {"$lt": ms}}, {"createdAtMs": ms, "_id": {"$lt": last_id}}]
        cursor = self.col.find(query, {"steps": 0}).sort([("createdAtMs", DESCENDING), ("_id", DESCENDING)]).limit(limit)
        return [from_doc(d) for d in cursor]

    def transition(self, mission_id: str, *, from_: tuple, values: dict, inc: dict | None = None,
                   extra: dict | None = None, session=None) -> dict | None:
        """Move a mission whose status is in `from_` (and which matches `extra`), taking one step seq
        for the status step; the mission after the change, or None if it was not in `from_`."""
        query = {"_id": mission_id, "status": {"$in": list(from_)}} | (extra or {})
        update = {"$set": values | {"updatedAtMs": now_ms()}, "$inc": {"stepSeq": 1} | (inc or {})}
        return from_doc(self.col.find_one_and_update(query, update, return_document=ReturnDocument.AFTER,
                                                     session=session))

    def take_seqs(self, mission_id: str, n: int, *, values: dict | None = None) -> int:
        """Reserve `n` step numbers (setting `values` in the same command); returns the first."""
        update: dict = {"$inc": {"stepSeq": n}}
        if values:
            update["$set"] = values | {"updatedAtMs": now_ms()}
        doc = self.col.find_one_and_update({"_id": mission_id}, update,
                                           projection={"stepSeq": 1}, return_document=ReturnDocument.AFTER)
        if doc is None:
            return 0
        return int(doc["stepSeq"]) - n + 1

    def claim(self, mission_id: str, *, worker: str, lease_ms: int, statuses: tuple) -> dict | None:
        """Take a mission in `statuses` that no live worker holds."""
        current = now_ms()
        doc = self.col.find_one_and_update(
            {"_id": mission_id, "status": {"$in": list(statuses)}, "leaseUntilMs": {"$lt": current}},
            {"$set": {"leaseBy": worker, "leaseUntilMs": current + lease_ms}},
            return_document=ReturnDocument.AFTER)
        return from_doc(doc)

    def renew(self, mission_ids: list[str], *, worker: str, lease_ms: int) -> None:
        if mission_ids:
            self.col.update_many({"_id": {"$in": mission_ids}, "leaseBy": worker, "leaseUntilMs": {"$gt": 0}},
                                 {"$set": {"leaseUntilMs": now_ms() + lease_ms}})

    def release(self, mission_id: str, *, worker: str) -> None:
        self.col.update_one({"_id": mission_id, "leaseBy": worker}, {"$set": {"leaseUntilMs": 0, "leaseBy": None}})

    def expired(self, *, limit: int = 100) -> list[dict]:
        """Missions whose worker stopped renewing its lease (it died)."""
        current = now_ms()
        return [from_doc(d) for d in self.col.find({"leaseUntilMs": {"$gt": 0, "$lt": current}}).limit(limit)]

    def set(self, mission_id: str, values: dict, *, inc: dict | None = None) -> dict | None:
        update = {"$set": values | {"updatedAtMs": now_ms()}}
        if inc:
            update["$inc"] = inc
        return from_doc(self.col.find_one_and_update({"_id": mission_id}, update,
                                                     return_document=ReturnDocument.AFTER))

    def begin_apply(self, mission_id: str, *, marker: str, statuses: tuple) -> bool:
        """Before a change reaches the board: only while the mission is still in `statuses` (a cancel
        that committed first wins) and no other change is being applied."""
        doc = self.col.find_one_and_update(
            {"_id": mission_id, "status": {"$in": list(statuses)}, "applying": None},
            {"$set": {"applying": marker}}, projection={"_id": 1})
        return doc is not None

    def end_apply(self, mission_id: str, marker: str) -> None:
        self.col.update_one({"_id": mission_id, "applying": marker}, {"$set": {"applying": None}})

    def applying(self, mission_id: str) -> str | None:
        doc = self.col.find_one({"_id": mission_id}, {"applying": 1})
        return (doc or {}).get("applying")

    def delete_where(self, query: dict) -> list[str]:
        ids = [d["_id"] for d in self.col.find(query, {"_id": 1})]
        if ids:
            self.col.delete_many({"_id": {"$in": ids}})
        return ids


class StepStore:
    """The append-only log of each mission."""

    def __init__(self, db):
        self.col = db["steps"]

    def ensure_indexes(self) -> None:
        self.col.create_index([("missionId", ASCENDING), ("seq", ASCENDING)])
        self.col.create_index("workspaceId")
        self.col.create_index("orgId")

    @staticmethod
    def doc(mission: dict, seq: int, kind: str, data: dict) -> dict:
        return {"_id": f"{mission['id']}:{seq:07d}", "missionId": mission["id"], "workspaceId": mission["workspaceId"],
                "orgId": mission.get("orgId"), "seq": seq, "type": kind, "data": data, "atMs": now_ms()}

    def insert_many(self, docs: list[dict], *, session=None) -> None:
        if docs:
            self.col.insert_many(docs, session=session)

    def after(self, mission_id: str, seq: int, *, limit: int = 500) -> list[dict]:
        cursor = self.col.find({"missionId": {"$eq": mission_id}, "seq": {"$gt": seq}}).sort("seq", ASCENDING)
        return [from_doc(d) for d in cursor.limit(limit)]

    def latest_seqs(self, mission_ids: list[str]) -> dict[str, int]:
        """{missionId: its highest seq} (the streams' safety poll: one query for all their missions)."""
        if not mission_ids:
            return {}
        rows = self.col.aggregate([{"$match": {"missionId": {"$in": mission_ids}}},
                                   {"$group": {"_id": "$missionId", "top": {"$max": "$seq"}}}])
        return {r["_id"]: int(r["top"]) for r in rows}

    def all(self, mission_id: str) -> list[dict]:
        rows = [from_doc(d) for d in self.col.find({"missionId": {"$eq": mission_id}})]
        return sorted(rows, key=lambda r: r["seq"])

    def delete_for(self, mission_ids: list[str]) -> int:
        return self.col.delete_many({"missionId": {"$in": mission_ids}}).deleted_count if mission_ids else 0

    def delete_where(self, query: dict) -> int:
        return self.col.delete_many(query).deleted_count


class ProposalStore:
    def __init__(self, db):
        self.col = db["proposals"]

    def ensure_indexes(self) -> None:
        self.col.create_index([("missionId", ASCENDING), ("createdAtMs", ASCENDING)])
        self.col.create_index("workspaceId")
        self.col.create_index("orgId")

    def insert(self, doc: dict, *, session=None) -> dict:
        self.col.insert_one(doc, session=session)
        return from_doc(doc)

    def get(self, workspace_id: str, proposal_id: str) -> dict | None:
        return from_doc(self.col.find_one({"_id": proposal_id, "workspaceId": workspace_id}))

    def for_mission(self, mission_id: str) -> list[dict]:
        rows = [from_doc(d) for d in self.col.find({"missionId": {"$eq": mission_id}})]
        return sorted(rows, key=lambda p: (p["createdAtMs"], p["id"]))

    def decide(self, proposal_id: str, *, status: str, reason, user_id, session=None) -> dict | None:
        return from_doc(self.col.find_one_and_update(
            {"_id": proposal_id, "status": "pending"},
            {"$set": {"status": status, "reason": reason, "decidedBy": user_id, "decidedAtMs": now_ms()}},
            return_document=ReturnDocument.AFTER, session=session))

    def reject_pending(self, mission_id: str, reason: str, *, session=None) -> list[str]:
        ids = [d["_id"] for d in self.col.find({"missionId": mission_id, "status": "pending"}, {"_id": 1},
                                               session=session)]
        if ids:
            self.col.update_many({"_id": {"$in": ids}, "status": "pending"},
                                 {"$set": {"status": "rejected", "reason": reason, "decidedAtMs": now_ms()}},
                                 session=session)
        return ids

    def claim_apply(self, proposal_id: str) -> dict | None:
        """Exactly one application of an approved proposal."""
        return from_doc(self.col.find_one_and_update({"_id": proposal_id, "status": "approved", "applyState": None},
                                                     {"$set": {"applyState": "applying"}},
                                                     return_document=ReturnDocument.AFTER))

    def applied(self, proposal_id: str, *, state: str, error: str | None = None, result=None) -> None:
        self.col.update_one({"_id": proposal_id}, {"$set": {"applyState": state, "applyError": error,
                                                            "applyResult": result}})

    def delete_for(self, mission_ids: list[str]) -> int:
        return self.col.delete_many({"missionId": {"$in": mission_ids}}).deleted_count if mission_ids else 0

    def delete_where(self, query: dict) -> int:
        return self.col.delete_many(query).deleted_count


class DraftStore:
    def __init__(self, db):
        self.col = db["drafts"]

    def ensure_indexes(self) -> None:
        self.col.create_index([("workspaceId", ASCENDING), ("createdAtMs", ASCENDING)])
        self.col.create_index("orgId")

    def insert(self, doc: dict) -> dict:
        self.col.insert_one(doc)
        return from_doc(doc)

    def get(self, workspace_id: str, draft_id: str) -> dict | None:
        return from_doc(self.col.find_one({"_id": draft_id, "workspaceId": workspace_id}))

    def list(self, workspace_id: str) -> list[dict]:
        rows = [from_doc(d) for d in self.col.find({"workspaceId": {"$eq": workspace_id}})]
        return sorted(rows, key=lambda d: (d["createdAtMs"], d["id"]))

    def update(self, workspace_id: str, draft_id: str, values: dict, *, statuses: tuple | None = None,
               extra: dict | None = None) -> dict | None:
        query = {"_id": draft_id, "workspaceId": workspace_id} | (extra or {})
        if statuses is not None:
            query["status"] = {"$in": list(statuses)}
        return from_doc(self.col.find_one_and_update(query, {"$set": values | {"updatedAtMs": now_ms()}},
                                                     return_document=ReturnDocument.AFTER))

    def delete(self, workspace_id: str, draft_id: str) -> bool:
        return self.col.delete_one({"_id": draft_id, "workspaceId": workspace_id}).deleted_count == 1

    def delete_where(self, query: dict) -> int:
        return self.col.delete_many(query).deleted_count


class Stores:
    """The agents database's stores, built together."""

    def __init__(self, db):
        self.db = db
        self.agents = AgentStore(db)
        self.missions = MissionStore(db)
        self.steps = StepStore(db)
        self.proposals = ProposalStore(db)
        self.drafts = DraftStore(db)

    def ensure_indexes(self) -> None:
        ensure_collections(self.db, COLLECTIONS)
        for store in (self.agents, self.missions, self.steps, self.proposals, self.drafts):
            store.ensure_indexes()

    def delete_agent_data(self, agent_id: str) -> dict:
        mission_ids = self.missions.delete_where({"agentId": agent_id})
        return {"missions": len(mission_ids), "steps": self.steps.delete_for(mission_ids),
                "proposals": self.proposals.delete_for(mission_ids)}

    def delete_tenant(self, query: dict) -> dict:
        """Everything of a workspace / org (`query` = {"workspaceId": …} or {"orgId": …})."""
        agents = [d["_id"] for d in self.agents.col.find(query, {"_id": 1})]
        if agents:
            self.agents.col.delete_many({"_id": {"$in": agents}})
        missions = self.missions.delete_where(query)
        return {"agents": len(agents), "missions": len(missions), "steps": self.steps.delete_where(query),
                "proposals": self.proposals.delete_where(query), "drafts": self.drafts.delete_where(query),
                "days": self.missions.days.delete_many(query).deleted_count}
