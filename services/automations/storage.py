"""The only pymongo code of the automations service. Documents in, plain dicts (with `id`) out.

Collections (ids are 24-hex strings; every time that is range-queried is an epoch-ms integer, because
the embedded stand-in stores a datetime given to `$set` as text):
    rules   {_id, orgId, workspaceId, projectId, name, nameKey?, trigger, conditions, action: {type, params},
             enabled, disabledReason, failures, createdBy, createdAt, updatedAt}
            indexed by (projectId, trigger, enabled)
    rule_versions {_id: projectId, v, workspaceId, orgId}: bumped by every change of a project's rules (and
            the change announced on RULES_CHANGED): the worker keeps the rules in memory and reads this
            small document only when it may have missed an announcement (execution.Executor.rules_of)
    traces  {_id: <24 hex of (eventId, ruleId)>, ruleId, orgId, workspaceId, projectId, actorId, targetCardId,
             triggeredBy, chain: {id, depth}, result, detail, durationMs, createdAt, createdAtMs}
            the deterministic `_id` makes a redelivered event leave one trace per rule, not two
    due     {_id: cardId, orgId, workspaceId, projectId, dueAtMs, nextMs, leaseBy}
            one row per card with a due date; `nextMs` = when a scheduler should look at it next
            (its due time, or the end of another worker's lease)
    rate    {_id: "<ruleId>:<minute>", ruleId, workspaceId, orgId, windowMs, count}   per-rule run counter
"""
from __future__ import annotations

import hashlib
import time

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError

from libs.common.mongo import ensure_collections, from_doc

COLLECTIONS = ("rules", "rule_versions", "traces", "due", "rate", "outbox", "processed_events", "dead_letters", "workers")


def now_ms() -> int:
    return int(time.time() * 1000)


def derived_id(*parts: str) -> str:
    """A 24-hex id stable across redeliveries and workers."""
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:24]


def _rule_out(doc: dict | None) -> dict | None:
    doc = from_doc(doc)
    if doc is None:
        return None
    # The stand-in turns a boolean given to `$set` into 0 / 1 (filters on True / False still match).
    doc["enabled"] = bool(doc.get("enabled"))
    doc["failures"] = int(doc.get("failures") or 0)
    return doc


def _update(values: dict, *, unset=()) -> dict:
    update = {"$currentDate": {"updatedAt": True}}
    if values:
        update["$set"] = values
    if unset:
        update["$unset"] = {k: "" for k in unset}
    return update


class RuleStore:
    def __init__(self, db):
        self.col = db["rules"]
        self.versions = db["rule_versions"]
        self.on_change: list = []   # fn(project_id, or None for "any") after each change: announced

    def changed(self, project_id: str | None) -> None:
        for fn in self.on_change:
            fn(project_id)

    def bump(self, rule: dict) -> None:
        """A rule of this project changed: the workers' in-memory copies of its rules are stale."""
        self.versions.update_one({"_id": rule["projectId"]},
                                 {"$inc": {"v": 1}, "$set": {"workspaceId": rule.get("workspaceId"),
                                                             "orgId": rule.get("orgId")}}, upsert=True)
        self.changed(rule["projectId"])

    def version(self, project_id: str) -> int:
        doc = self.versions.find_one({"_id": project_id}, {"v": 1})
        return int(doc["v"]) if doc else 0

    def enabled_rules(self, project_id: str) -> list[dict]:
        """Every enabled rule of the project, oldest first."""
        rows = [_rule_out(d) for d in self.col.find({"projectId": project_id, "enabled": True})]
        return sorted(rows, key=lambda r: (r["createdAt"], r["id"]))

    def ensure_indexes(self) -> None:
        self.versions.create_index("workspaceId")
        self.versions.create_index("orgId")
        self.col.create_index([("projectId", ASCENDING), ("trigger", ASCENDING), ("enabled", ASCENDING)])
        self.col.create_index([("projectId", ASCENDING), ("nameKey", ASCENDING)])
        self.col.create_index("workspaceId")
        self.col.create_index("orgId")

    def insert(self, doc: dict) -> dict:
        self.col.insert_one(doc)
        self.bump(doc)
        return _rule_out(doc)

    def get(self, workspace_id: str, project_id: str, rule_id: str) -> dict | None:
        return _rule_out(self.col.find_one({"_id": rule_id, "workspaceId": workspace_id, "projectId": project_id}))

    def by_id(self, rule_id: str) -> dict | None:
        return _rule_out(self.col.find_one({"_id": rule_id}))

    def list(self, workspace_id: str, project_id: str) -> list[dict]:
        rows = [_rule_out(d) for d in self.col.find({"workspaceId": workspace_id, "projectId": project_id})]
        return sorted(rows, key=lambda r: (r["createdAt"], r["id"]))

    def count(self, workspace_id: str, project_id: str) -> int:
        return len(list(self.col.find({"workspaceId": workspace_id, "projectId": project_id}, {"_id": 1})))

    def name_taken(self, project_id: str, name_key: str, *, except_id: str | None = None) -> bool:
        query = {"projectId": project_id, "nameKey": name_key}
        if except_id:
            query["_id"] = {"$ne": except_id}
        return self.col.find_one(query, {"_id": 1}) is not None

    def update(self, workspace_id: str, project_id: str, rule_id: str, values: dict, *, unset=()) -> dict | None:
        updated = _rule_out(self.col.find_one_and_update(
            {"_id": rule_id, "workspaceId": workspace_id, "projectId": project_id}, _update(values, unset=unset),
            return_document=ReturnDocument.AFTER))
        if updated is not None:
            self.bump(updated)
        return updated

    def delete(self, workspace_id: str, project_id: str, rule_id: str) -> bool:
        deleted = self.col.delete_one({"_id": rule_id, "workspaceId": workspace_id,
                                       "projectId": project_id}).deleted_count == 1
        if deleted:
            self.bump({"projectId": project_id, "workspaceId": workspace_id})
        return deleted

    # ---- the worker's side
    def record_success(self, rule: dict) -> None:
        if rule.get("failures"):
            self.col.update_one({"_id": rule["id"]}, {"$set": {"failures": 0}})
            self.bump(rule)

    def record_failure(self, rule: dict) -> int:
        """+1 consecutive failure; returns the new count."""
        doc = self.col.find_one_and_update({"_id": rule["id"]}, {"$inc": {"failures": 1}},
                                           return_document=ReturnDocument.AFTER, projection={"failures": 1})
        self.bump(rule)  # the next success must see the count to reset it
        return int((doc or {}).get("failures") or 0)

    def disable(self, rule: dict, reason: str) -> bool:
        """Disable a rule that is still enabled; True if this call did it."""
        result = self.col.update_one({"_id": rule["id"], "enabled": True},
                                     _update({"enabled": False, "disabledReason": reason}))
        self.bump(rule)
        return result.modified_count == 1

    # ---- deletions
    def delete_where(self, query: dict) -> list[str]:
        ids = [d["_id"] for d in self.col.find(query, {"_id": 1})]
        if ids:
            self.col.delete_many({"_id": {"$in": ids}})
        return ids


class TraceStore:
    def __init__(self, db):
        self.col = db["traces"]

    def ensure_indexes(self) -> None:
        self.col.create_index([("ruleId", ASCENDING), ("createdAtMs", DESCENDING)])
        self.col.create_index("createdAtMs")
        self.col.create_index("projectId")
        self.col.create_index("workspaceId")
        self.col.create_index("orgId")

    def existing(self, ids: list[str]) -> set[str]:
        if not ids:
            return set()
        return {d["_id"] for d in self.col.find({"_id": {"$in": ids}}, {"_id": 1})}

    def insert_many(self, docs: list[dict]) -> None:
        """Insert, skipping traces already written (a redelivered event)."""
        if not docs:
            return
        try:
            self.col.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
        except DuplicateKeyError:
            pass

    def page(self, rule_id: str, *, limit: int, after: tuple[int, str] | None) -> list[dict]:
        """Newest first; `after` = (createdAtMs, id) of the last trace of the previous page."""
        query: dict = {"ruleId": rule_id}
        if after is not None:
            ms, last_id = after
            query["$or"] = [{"createdAtMs": {"$lt": ms}}, {"createdAtMs": ms, "_id": {"$lt": last_id}}]
        cursor = self.col.find(query).sort([("createdAtMs", DESCENDING), ("_id", DESCENDING)]).limit(limit)
        return [from_doc(d) for d in cursor]

    def delete_for_rule(self, rule_id: str) -> int:
        return self.col.delete_many({"ruleId": rule_id}).deleted_count

    def delete_where(self, query: dict) -> int:
        return self.col.delete_many(query).deleted_count

    def prune(self, before_ms: int) -> int:
        return self.col.delete_many({"createdAtMs": {"$lt": before_ms}}).deleted_count


class DueStore:
    """Cards' due dates, for the scheduler. Times are epoch ms."""

    def __init__(self, db):
        self.col = db["due"]

    def ensure_indexes(self) -> None:
        self.col.create_index("nextMs")
        self.col.create_index("projectId")
        self.col.create_index("workspaceId")
        self.col.create_index("orgId")

    def put(self, card_id: str, *, due_ms: int, project: dict, workspace_id: str, org_id: str | None,
            member_ids: list[str]) -> None:
        """Track (or move) a card's due date; a lease another worker holds on the old date is dropped.
        The project's name and member ids (from the event) serve `notify` when the date fires."""
        self.col.update_one({"_id": card_id}, {"$set": {
            "dueAtMs": due_ms, "nextMs": due_ms, "leaseBy": None, "projectId": project["id"],
            "projectName": project.get("name"), "memberIds": list(member_ids), "workspaceId": workspace_id,
            "orgId": org_id}}, upsert=True)

    def remove(self, card_id: str) -> None:
        self.col.delete_one({"_id": card_id})

    def next_ms(self) -> int | None:
        doc = self.col.find_one({}, {"nextMs": 1}, sort=[("nextMs", ASCENDING)])
        return int(doc["nextMs"]) if doc else None

    def claim(self, *, worker: str, lease_ms: int) -> dict | None:
        """Atomically take one due card: its `nextMs` moves past the lease, so no other worker takes it
        unless this one dies without finishing."""
        current = now_ms()
        doc = self.col.find_one_and_update({"nextMs": {"$lte": current}},
                                           {"$set": {"nextMs": current + lease_ms, "leaseBy": worker}},
                                           return_document=ReturnDocument.AFTER)
        return from_doc(doc)

    def done(self, card_id: str, due_ms: int) -> None:
        """Forget a fired due date — unless it changed meanwhile (then the new one stays scheduled)."""
        self.col.delete_one({"_id": card_id, "dueAtMs": due_ms})

    def delete_where(self, query: dict) -> int:
        return self.col.delete_many(query).deleted_count


class RateStore:
    """Per-rule runs per minute (fixed one-minute windows)."""

    def __init__(self, db):
        self.col = db["rate"]

    def ensure_indexes(self) -> None:
        self.col.create_index("windowMs")
        self.col.create_index("workspaceId")
        self.col.create_index("orgId")

    def take(self, rule: dict, limit: int) -> bool:
        """Count one run of the rule in the current minute; False when over the limit."""
        window = now_ms() // 60_000 * 60_000
        key = f"{rule['id']}:{window}"
        doc = self.col.find_one_and_update(
            {"_id": key}, {"$inc": {"count": 1}, "$set": {"ruleId": rule["id"], "windowMs": window,
                                                          "workspaceId": rule["workspaceId"],
                                                          "projectId": rule["projectId"],
                                                          "orgId": rule.get("orgId")}},
            upsert=True, return_document=ReturnDocument.AFTER)
        return int((doc or {}).get("count") or 1) <= limit

    def prune(self, before_ms: int) -> int:
        return self.col.delete_many({"windowMs": {"$lt": before_ms}}).deleted_count

    def delete_where(self, query: dict) -> int:
        return self.col.delete_many(query).deleted_count


class Stores:
    """The automations database's stores, built together."""

    def __init__(self, db):
        self.db = db
        self.rules = RuleStore(db)
        self.traces = TraceStore(db)
        self.due = DueStore(db)
        self.rate = RateStore(db)

    def ensure_indexes(self) -> None:
        ensure_collections(self.db, COLLECTIONS)
        for store in (self.rules, self.traces, self.due, self.rate):
            store.ensure_indexes()

    def delete_tenant(self, query: dict) -> dict:
        """Rules, traces, schedules and counters of a project / workspace / org (`query` selects it)."""
        rule_ids = self.rules.delete_where(query)
        self.rules.versions.delete_many({"_id": query["projectId"]} if "projectId" in query else query)
        key = query.get("projectId")
        self.rules.changed(key if isinstance(key, str) else None)   # a workspace or an org: "any"
        return {"rules": len(rule_ids), "traces": self.traces.delete_where(query),
                "due": self.due.delete_where(query), "rate": self.rate.delete_where(query)}
