"""Agents through the gateway with the local planner: how soon a mission's SSE stream shows its first event,
and 50 missions run at once to the end. Prints figures; no assertions.

    .venv/bin/python bench/agents.py                        # starts its own stack (identity, boards, pilotage, agents)
    .venv/bin/python bench/agents.py --samples 50 --concurrent 50

1. created → first SSE event: POST …/missions, then GET …/missions/:id/stream; the time from the POST's answer
   (the mission exists) to the first `event:` on the stream, and from sending the POST. One mission at a time.
   Each sample starts once the previous mission ended. Then cancels 50 ms after the creation (409 = it had
   finished already).
2. N concurrent autonomous missions (one card each, a three-item description: read, three checklist items,
   a comment = 5 tool calls): all POSTed at once by N threads; then how long until every mission is terminal,
   how many completed / failed / still active ("stuck") after the deadline, and each mission's duration.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.stack import Stack  # noqa: E402
from tests.support import register  # noqa: E402

DESCRIPTION = "- Write the API spec\n- Implement the endpoints\n- Add integration tests"
TERMINAL = {"completed", "failed", "cancelled"}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, min(len(ordered) - 1, round(q / 100.0 * len(ordered) + 0.5) - 1))]


def line(name: str, ms: list[float]) -> str:
    return (f"{name:<38} n={len(ms):<4} p50 {pct(ms, 50):7.1f} ms   p90 {pct(ms, 90):7.1f} ms   "
            f"p99 {pct(ms, 99):7.1f} ms   mean {statistics.fmean(ms) if ms else float('nan'):7.1f} ms")


def setup(client, cards: int):
    project = client.post(client.W + "/projects", json={"name": "Bench", "templateId": "kanban"}).json()
    column = project["columns"][0]["id"]
    made = [client.post(f"{client.W}/projects/{project['id']}/columns/{column}/cards",
                        json={"title": f"Card {n}", "description": DESCRIPTION}).json() for n in range(cards)]
    agent = client.post(client.W + "/agents", json={"name": "Bench agent", "autonomyMode": "autonomous",
                                                    "limits": {"maxMissionsPerDay": 100000}}).json()
    return project, made, agent


def first_event(client, agent, card) -> tuple[float, float]:
    sent = time.perf_counter()
    r = client.post(f"{client.W}/agents/{agent['id']}/missions", json={"cardId": card["id"], "prompt": "Bench"})
    created = time.perf_counter()
    mission = r.json()
    stream = client.get(f"{client.W}/missions/{mission['id']}/stream", stream=True, timeout=30)
    buffered = b""
    for chunk in stream.raw.read_chunked(decode_content=False) if stream.raw.chunked else stream.raw.stream(1):
        buffered += chunk
        if b"event:" in buffered:
            break
    seen = time.perf_counter()
    stream.close()
    return (seen - created) * 1000, (seen - sent) * 1000


def idle(client, agent, timeout: float = 30.0) -> None:
    """Wait until the agent runs nothing: each sample starts on an idle system."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        rows = client.get(f"{client.W}/agents/{agent['id']}/missions", params={"limit": 5}).json()
        if all(m["status"] in TERMINAL for m in rows):
            return
        time.sleep(0.05)


def cancels(client, agent, cards) -> None:
    """Cancel right after creating: how long the cancel takes to answer, and the mission's end."""
    answered, outcomes = [], {}
    for card in cards:
        m = client.post(f"{client.W}/agents/{agent['id']}/missions", json={"cardId": card["id"], "prompt": "x"}).json()
        time.sleep(0.05)                               # the worker has started it
        sent = time.perf_counter()
        r = client.post(f"{client.W}/missions/{m['id']}/cancel")
        answered.append((time.perf_counter() - sent) * 1000)
        outcomes[r.json().get("status", r.status_code)] = outcomes.get(r.json().get("status", r.status_code), 0) + 1
        idle(client, agent)
    print(line("cancel answered (mission running)", answered) + f"   outcomes {outcomes}")


def concurrent(client, agent, cards, deadline_s: float) -> None:
    n = len(cards)

    def post(card):
        c = client.with_token(client.token)
        return c.post(f"{client.W}/agents/{agent['id']}/missions", json={"cardId": card["id"], "prompt": "Bench"}).json()

    started = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        missions = list(pool.map(post, cards))
    posted = time.perf_counter()
    ids = {m["id"] for m in missions}
    final: dict[str, dict] = {}
    while time.perf_counter() - started < deadline_s and len(final) < n:
        rows = client.get(f"{client.W}/agents/{agent['id']}/missions", params={"limit": 200}).json()
        for m in rows:
            if m["id"] in ids and m["status"] in TERMINAL:
                final[m["id"]] = m
        if len(final) < n:
            time.sleep(0.1)
    wall = time.perf_counter() - started
    rows = {m["id"]: m for m in client.get(f"{client.W}/agents/{agent['id']}/missions",
                                           params={"limit": 200}).json() if m["id"] in ids}
    by_status: dict[str, int] = {}
    for m in rows.values():
        by_status[m["status"]] = by_status.get(m["status"], 0) + 1
    stuck = [m["id"] for m in rows.values() if m["status"] not in TERMINAL]

    def ms(a, b):
        return (datetime.fromisoformat(b.replace("Z", "+00:00")) -
                datetime.fromisoformat(a.replace("Z", "+00:00"))).total_seconds() * 1000

    durations = [ms(m["createdAt"], m["finishedAt"]) for m in final.values() if m.get("finishedAt")]
    queued = [ms(m["createdAt"], m["startedAt"]) for m in final.values() if m.get("startedAt")]
    print(f"{n} concurrent missions: posted in {(posted - started) * 1000:.0f} ms, all terminal in {wall:.2f} s "
          f"({n / wall:.1f} missions/s); statuses {by_status}; stuck (still active after {deadline_s:.0f} s): "
          f"{len(stuck)}")
    print(line("  created → started (queue wait)", queued))
    print(line("  created → finished", durations))
    steps = [m["usage"]["steps"] for m in final.values()]
    print(f"  tool calls per mission: {min(steps) if steps else 0}-{max(steps) if steps else 0}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument("--deadline", type=float, default=120.0)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="stellary-bench-agents-"))
    stack = Stack.start(root, services=["identity", "boards", "pilotage", "agents"])
    try:
        client = register(stack.url, name="Bench")
        _, cards, agent = setup(client, args.samples + args.concurrent + 20)
        print(f"agents bench (local planner): {args.samples} missions one at a time, then {args.concurrent} at once")
        for card in cards[:3]:
            first_event(client, agent, card)          # warm-up
        samples = []
        for card in cards[3:args.samples]:
            samples.append(first_event(client, agent, card))
            idle(client, agent)
        print(line("created → first SSE event", [s[0] for s in samples]))
        print(line("POST sent → first SSE event", [s[1] for s in samples]))
        cancels(client, agent, cards[args.samples:args.samples + 20])
        concurrent(client, agent, cards[args.samples + 20:], args.deadline)
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
