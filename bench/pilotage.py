"""Benchmark: GET …/pilotage/state through the gateway on a busy workspace.

    .venv/bin/python bench/pilotage.py [--calls 100] [--missions 200] [--todos 1000] [--decisions 300]

Starts its own stack (identity + pilotage + gateway, on free ports, in a temporary directory),
registers a user, then seeds the workspace straight into the stack's `stellary_pilotage`
database (insert_many: seeding 1,500 rows through the API would take longer than the
measurement; the rows have exactly the shape the API writes). Warms up, then times `--calls`
sequential GETs of the state per detail level and prints p50 / p99 / mean. No assertions.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pymongo import MongoClient  # noqa: E402

from devtools.stack import Stack  # noqa: E402
from libs.common.mongo import new_id, now  # noqa: E402
from tests.support import register  # noqa: E402

MISSION_STATUSES = ("to_launch", "in_progress", "blocked", "done")
TODO_STATUSES = ("todo", "in_progress", "blocked", "done")


def seed(db, *, org_id: str, ws_id: str, user_id: str, missions: int, todos: int, decisions: int) -> None:
    rnd = random.Random(7)
    base = {"orgId": org_id, "workspaceId": ws_id, "createdBy": user_id}

    def row(**fields):
        stamp = now()
        return {"_id": new_id(), **base, **fields, "createdAt": stamp, "updatedAt": stamp}

    mission_rows = []
    for i in range(missions):
        status = MISSION_STATUSES[i % 4]
        mission_rows.append(row(objective=f"Mission {i}: ship module {i % 17}", module=f"module-{i % 17}",
                                status=status, blockedReason="Waiting on API" if status == "blocked" else None))
    priority_rows = [row(label=f"Priority {i}", module=None, active=i < 15, order=i) for i in range(20)]
    todo_rows = [row(label=f"Todo {i}", status=TODO_STATUSES[i % 4],
                     missionId=rnd.choice(mission_rows)["_id"] if i % 5 else None,
                     priorityId=rnd.choice(priority_rows)["_id"] if i % 3 == 0 else None) for i in range(todos)]
    decision_rows = [row(title=f"Decision {i}", impact="Reduces dev time by 3 weeks" if i % 2 else None,
                         missionId=rnd.choice(mission_rows)["_id"] if i % 2 else None) for i in range(decisions)]
    doc_rows = [row(title=f"Spec {i}", owner="Jane Doe", sourceType=("product", "tech", "sprint", "ops")[i % 4])
                for i in range(30)]
    for name, rows in (("missions", mission_rows), ("priorities", priority_rows), ("todos", todo_rows),
                       ("decisions", decision_rows), ("docs", doc_rows)):
        for start in range(0, len(rows), 500):
            db[name].insert_many(rows[start:start + 500])


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def measure(client, params: dict, calls: int) -> list[float]:
    for _ in range(5):  # warm-up: connection pools, caches
        client.get(client.W + "/pilotage/state", params=params)
    samples = []
    for _ in range(calls):
        t0 = time.perf_counter()
        r = client.get(client.W + "/pilotage/state", params=params)
        samples.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"state failed: {r.status_code} {r.text[:300]}")
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--missions", type=int, default=200)
    parser.add_argument("--todos", type=int, default=1000)
    parser.add_argument("--decisions", type=int, default=300)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="stellary-bench-pilotage-") as tmp:
        print("starting stack (identity, pilotage, gateway)…", flush=True)
        stack = Stack.start(Path(tmp), services=["identity", "pilotage"])
        try:
            client = register(stack.url, name="Bench")
            ws = client.get(client.W).json()
            mongo = MongoClient(stack.env["MONGO_URI"], tz_aware=True)
            t0 = time.perf_counter()
            seed(mongo["stellary_pilotage"], org_id=ws["organizationId"], ws_id=ws["id"], user_id=client.user_id,
                 missions=args.missions, todos=args.todos, decisions=args.decisions)
            print(f"seeded {args.missions} missions, {args.todos} todos, {args.decisions} decisions, "
                  f"20 priorities, 30 docs directly into stellary_pilotage in {time.perf_counter() - t0:.1f}s")
            sizes = {}
            for label, params in (("standard", {}), ("detailed", {"detailLevel": "detailed"}),
                                  ("minimal", {"detailLevel": "minimal"}),
                                  ("execution/daily_execution", {"profile": "execution", "intent": "daily_execution"})):
                r = client.get(client.W + "/pilotage/state", params=params)
                body = r.json()
                sizes[label] = (len(r.content), len(body["missions"]), len(body["todos"]))
                samples = measure(client, params, args.calls)
                print(f"GET state {label:<26} p50 {percentile(samples, 50):7.1f} ms   "
                      f"p99 {percentile(samples, 99):7.1f} ms   mean {statistics.fmean(samples):7.1f} ms   "
                      f"({args.calls} calls, {sizes[label][0] / 1024:.0f} KB, {sizes[label][1]} missions, "
                      f"{sizes[label][2]} todos)", flush=True)
            mongo.close()
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
