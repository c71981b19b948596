"""Automation latency and cost. Starts its own stack (identity + boards + automations) on free ports in a
temporary directory, prints the figures, stops the stack. No assertions on timing.

    .venv/bin/python bench/automations.py
    BENCH_MOVES=200 BENCH_RULES=200 .venv/bin/python bench/automations.py

Figures:
    effect      card moved (PATCH response received) → the rule's effect visible on the card (GET polled
                back to back): a `task_moved` rule sets the priority. One move at a time.
    move, 0 rules / move, N rules
                the PATCH that moves a card, on a project without rules and on one with N `task_moved` rules
                (whose conditions do not hold, so each move leaves N `skipped` traces): rules run in the
                worker, so the request should not pay for them; what it may pay is the shared database's
                time the worker takes meanwhile.
"""
from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.stack import Stack  # noqa: E402
from tests.support import register  # noqa: E402

MOVES = int(os.environ.get("BENCH_MOVES", "100"))
RULES = int(os.environ.get("BENCH_RULES", "200"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "10"))
TIMEOUT = 10.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def summary(name: str, values_ms: list[float]) -> str:
    if not values_ms:
        return f"{name:<24} (no samples)"
    return (f"{name:<24} p50 {percentile(values_ms, 50):7.1f} ms   p99 {percentile(values_ms, 99):7.1f} ms   "
            f"mean {statistics.fmean(values_ms):7.1f} ms   max {max(values_ms):7.1f} ms   n={len(values_ms)}")


def project(client, name):
    r = client.post(client.W + "/projects", json={"name": name, "templateId": "kanban"})
    r.raise_for_status()
    p = r.json()
    p["path"] = f"{client.W}/projects/{p['id']}"
    return p


def card(client, p, column=0, **fields):
    r = client.post(f"{p['path']}/columns/{p['columns'][column]['id']}/cards", json={"title": "bench", **fields})
    r.raise_for_status()
    return r.json()


def rule(client, p, **body):
    r = client.post(f"{p['path']}/automations", json=body)
    r.raise_for_status()
    return r.json()


def effect_latency(client, p) -> list[float]:
    done = p["columns"][2]["id"]
    rule(client, p, trigger="task_moved", conditions={"toColumnId": done},
         action={"type": "set_priority", "params": {"priority": "high"}})
    samples = []
    for i in range(WARMUP + MOVES):
        c = card(client, p, priority="low")
        r = client.patch(f"{p['path']}/cards/{c['id']}", json={"columnId": done})
        r.raise_for_status()
        moved = time.perf_counter()
        deadline = moved + TIMEOUT
        while time.perf_counter() < deadline:
            got = client.get(f"{p['path']}/cards/{c['id']}").json()
            if got.get("priority") == "high":
                break
        else:
            print(f"  effect not seen within {TIMEOUT}s (move {i})")
            continue
        if i >= WARMUP:
            samples.append((time.perf_counter() - moved) * 1000)
    return samples


def move_cost(client, p) -> list[float]:
    c = card(client, p)
    columns = [p["columns"][0]["id"], p["columns"][1]["id"]]
    samples = []
    for i in range(WARMUP + MOVES):
        started = time.perf_counter()
        r = client.patch(f"{p['path']}/cards/{c['id']}", json={"columnId": columns[(i + 1) % 2]})
        r.raise_for_status()
        if i >= WARMUP:
            samples.append((time.perf_counter() - started) * 1000)
        time.sleep(0.02)  # one move at a time, as a user would: the worker has time to run the rules
    return samples


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="stellary-bench-automations-"))
    # The per-rule rate limit (60 a minute by default) would throttle the effect figure's one rule.
    stack = Stack.start(root, services=["identity", "boards", "automations"],
                        extra_env={"AUTOMATIONS_RULE_RATE_PER_MIN": "100000"})
    try:
        client = register(stack.url, name="Bench")
        print(f"automations bench: {MOVES} moves (+{WARMUP} warm-up), {RULES} rules on the busy project")
        effect = effect_latency(client, project(client, "effect"))
        print(summary("effect (move → card)", effect))
        bare = move_cost(client, project(client, "bare"))
        busy = project(client, "busy")
        other = busy["columns"][2]["id"]
        for i in range(RULES):
            rule(client, busy, name=f"r{i}", trigger="task_moved", conditions={"toColumnId": other},
                 action={"type": "set_priority", "params": {"priority": "high"}})
        loaded = move_cost(client, busy)
        print(summary("move, 0 rules", bare))
        print(summary(f"move, {RULES} rules", loaded))
        print(f"{'added by the rules':<24} p50 {percentile(loaded, 50) - percentile(bare, 50):+7.1f} ms   "
              f"p99 {percentile(loaded, 99) - percentile(bare, 99):+7.1f} ms")
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
