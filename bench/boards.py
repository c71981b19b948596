"""Boards hot paths through the gateway: card create, full board read, card move, and one read of a
5,000-card board. Starts its own stack (identity + boards) on free ports in a temporary directory,
prints the figures, stops the stack. No assertions on timing.

    .venv/bin/python bench/boards.py
    BENCH_CONCURRENCY=8 BENCH_CARDS=1000 .venv/bin/python bench/boards.py

Figures: ops/s = operations / wall time with BENCH_CONCURRENCY clients in parallel; p50/p99 are
per-request latencies seen by the client (gateway + service + Mongo).
"""
from __future__ import annotations

import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.stack import Stack  # noqa: E402
from tests.support import Client, register  # noqa: E402

CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "4"))
CARDS = int(os.environ.get("BENCH_CARDS", "1000"))
READS = int(os.environ.get("BENCH_READS", "50"))
MOVES = int(os.environ.get("BENCH_MOVES", "500"))
BIG_BOARD = int(os.environ.get("BENCH_BIG_BOARD", "5000"))
IMPORT_CHUNK = 500   # the import endpoint's limit per project


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


class Run:
    """Runs `fn(i)` for i in range(n) on `concurrency` threads, each with its own HTTP session."""

    def __init__(self, user: Client, concurrency: int = CONCURRENCY):
        self.user = user
        self.concurrency = concurrency
        self.local = threading.local()

    def client(self) -> Client:
        if not hasattr(self.local, "client"):
            self.local.client = self.user.with_token(self.user.token)
        return self.local.client

    def __call__(self, name: str, n: int, fn, *, ok=(200, 201)) -> list:
        if n <= 0:
            return []
        latencies: list[float] = []
        statuses: Counter = Counter()
        results: list = [None] * n
        lock = threading.Lock()

        def one(i):
            started = time.perf_counter()
            resp = fn(self.client(), i)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[resp.status_code] += 1
            results[i] = resp

        started = time.perf_counter()
        with ThreadPoolExecutor(self.concurrency) as pool:
            list(pool.map(one, range(n)))
        wall = time.perf_counter() - started
        errors = {code: count for code, count in statuses.items() if code not in ok}
        print(f"{name:<34} {n:>6} ops {n / wall:>9.1f} ops/s   p50 {percentile(latencies, 50) * 1000:>7.1f} ms"
              f"   p99 {percentile(latencies, 99) * 1000:>7.1f} ms   mean {statistics.fmean(latencies) * 1000:>7.1f} ms"
              + (f"   errors {errors}" if errors else ""), flush=True)
        for resp in results:
            if resp is not None and resp.status_code not in ok:
                print(f"    first error: {resp.status_code} {resp.text[:300]}", flush=True)
                break
        return results


def create_project(user: Client, name: str) -> tuple[str, list[str]]:
    resp = user.post(user.W + "/projects", json={"name": name, "templateId": "kanban"})
    if resp.status_code != 201:
        raise SystemExit(f"cannot create a project ({resp.status_code}): {resp.text[:300]}")
    project_id = resp.json()["id"]
    columns = user.get(f"{user.W}/projects/{project_id}/columns").json()
    return project_id, [c["id"] for c in columns]


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="stellary-bench-"))
    services = [s.strip() for s in os.environ.get("STACK_SERVICES", "identity,boards").split(",") if s.strip()]
    print(f"starting the stack ({', '.join(services)}) in {root} …", flush=True)
    stack = Stack.start(root, services=services)
    try:
        bench(stack)
    finally:
        stack.stop()
        if not os.environ.get("KEEP_BENCH_DATA"):
            shutil.rmtree(root, ignore_errors=True)


def bench(stack: Stack) -> None:
    user = register(stack.url, name="Bench")
    run = Run(user)
    print(f"gateway {stack.url}; {CONCURRENCY} concurrent clients\n", flush=True)

    # ---- 1,000 cards on one board
    project_id, columns = create_project(user, "Bench board")
    P = f"{user.W}/projects/{project_id}"
    created = run("create card (POST …/cards)", CARDS, lambda c, i: c.post(
        f"{P}/columns/{columns[i % len(columns)]}/cards",
        json={"title": f"Card {i}", "description": "benchmark card " * 4, "priority": ("low", "medium", "high")[i % 3]}))
    card_ids = [r.json()["id"] for r in created if r is not None and r.status_code == 201]

    reads = run(f"read {CARDS}-card board (GET …/cards)", READS, lambda c, i: c.get(f"{P}/cards"))
    sizes = {len(r.json()) for r in reads if r.status_code == 200}
    print(f"    cards per read: {sorted(sizes)}; body {len(reads[-1].content) / 1024:.0f} KiB", flush=True)

    rng = random.Random(42)
    moves = [(rng.choice(card_ids), rng.choice(columns), rng.randint(0, 20)) for _ in range(MOVES)]
    run("move card (PATCH columnId/order)", MOVES, lambda c, i: c.patch(
        f"{P}/cards/{moves[i][0]}", json={"columnId": moves[i][1], "order": moves[i][2]}))
    after = user.get(f"{P}/cards").json()
    per_column = Counter(card["columnId"] for card in after)
    dense = all(sorted(card["order"] for card in after if card["columnId"] == col) == list(range(per_column[col]))
                for col in per_column)
    print(f"    after the moves: {len(after)} cards, orders dense in every column: {dense}\n", flush=True)

    # ---- one 5,000-card board: an import (≤ 500 cards), then card creates
    started = time.perf_counter()
    imported = user.post(user.W + "/projects/import", json={
        "project": {"name": "Big board"},
        "columns": [{"name": "To Do"}, {"name": "In Progress"}, {"name": "Done"}],
        "cards": [{"title": f"Imported {i}", "columnIndex": i % 3, "priority": "medium"}
                  for i in range(min(IMPORT_CHUNK, BIG_BOARD))]})
    if imported.status_code != 201:
        print(f"import failed ({imported.status_code}): {imported.text[:300]}; creating every card instead")
        big_id, big_columns = create_project(user, "Big board")
        have = 0
    else:
        big_id = imported.json()["id"]
        big_columns = [c["id"] for c in user.get(f"{user.W}/projects/{big_id}/columns").json()]
        have = min(IMPORT_CHUNK, BIG_BOARD)
    print(f"import of {have} cards: {(time.perf_counter() - started) * 1000:.0f} ms", flush=True)
    BP = f"{user.W}/projects/{big_id}"
    fill = Run(user, concurrency=max(CONCURRENCY, 8))
    fill(f"create card (filling to {BIG_BOARD})", BIG_BOARD - have, lambda c, i: c.post(
        f"{BP}/columns/{big_columns[i % len(big_columns)]}/cards", json={"title": f"Big {i}"}))

    timings = []
    for _ in range(3):
        started = time.perf_counter()
        resp = user.get(f"{BP}/cards")
        timings.append(time.perf_counter() - started)
    body = resp.json() if resp.status_code == 200 else []
    print(f"read {BIG_BOARD}-card board (GET …/cards): status {resp.status_code}, {len(body)} cards in one request, "
          f"X-Next-Cursor {'present' if resp.headers.get('X-Next-Cursor') else 'absent'}, "
          f"{len(resp.content) / 1024 / 1024:.1f} MiB, "
          f"{' / '.join(f'{t * 1000:.0f}' for t in timings)} ms (3 reads)", flush=True)


if __name__ == "__main__":
    main()
