"""Worker processes: the scheduler across a restart, due-date changes and deletions, two workers firing
nothing twice, and the per-rule rate limit (a worker started with a low AUTOMATIONS_RULE_RATE_PER_MIN)."""
import contextlib
import subprocess
import time
from datetime import datetime, timedelta, timezone

from devtools.infra import stop_process
from devtools.stack import ROOT
from tests.support import wait_until

from .conftest import (
    P,
    get_card,
    make_card,
    make_rule,
    patch_card,
    traces,
    wait_card,
    wait_traces,
)


def iso_in(seconds: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


@contextlib.contextmanager
def extra_worker(stack, **env):
    """Another automations worker process (beside the stack's), stopped at the end."""
    log = open(stack.root / "automations-worker-extra.log", "ab")
    proc = subprocess.Popen(stack.command("automations", "worker"), cwd=ROOT, env=stack.env | env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        stop_process(proc, grace=15)


def test_a_due_date_that_passed_while_the_worker_was_down_fires_once_it_is_back(stack, owner, project,
                                                                                 automations_db):
    rule = make_rule(owner, project, "due_date_reached", {"type": "set_priority", "params": {"priority": "high"}})
    due_at = time.time() + 8   # far enough ahead that the worker is down before it passes, even on a busy machine
    card = make_card(owner, project, priority="low", dueDate=iso_in(8))
    wait_until(lambda: automations_db["due"].find_one({"_id": card["id"]}), timeout=15)
    stack.kill("automations", "worker")
    try:
        time.sleep(max(0.0, due_at + 1 - time.time()))   # the due date passes while no worker runs
        assert get_card(owner, project, card)["priority"] == "low"
    finally:
        stack.spawn("automations", "worker")
    wait_card(owner, project, card, lambda c: c["priority"] == "high", timeout=30)
    time.sleep(1)
    assert [t["result"] for t in traces(owner, project, rule)] == ["success"]
    assert automations_db["due"].find_one({"_id": card["id"]}) is None


def test_the_scheduler_follows_due_date_changes_and_deletions(owner, project, automations_db):
    rule = make_rule(owner, project, "due_date_reached", {"type": "add_comment", "params": {"content": "due!"}})
    card = make_card(owner, project, dueDate=iso_in(3))
    gone = make_card(owner, project, dueDate=iso_in(3))
    wait_until(lambda: automations_db["due"].find_one({"_id": card["id"]}), timeout=15)
    patch_card(owner, project, card, dueDate=iso_in(3600))
    assert owner.delete(f"{P(owner, project)}/cards/{gone['id']}").status_code == 200
    wait_until(lambda: automations_db["due"].find_one({"_id": gone["id"]}) is None, timeout=15)
    time.sleep(4)
    assert traces(owner, project, rule) == [] and get_card(owner, project, card)["commentCount"] == 0
    patch_card(owner, project, card, dueDate=iso_in(1))
    wait_card(owner, project, card, lambda c: c["commentCount"] == 1, timeout=20)
    cleared = make_card(owner, project, dueDate=iso_in(2))
    patch_card(owner, project, cleared, dueDate=None)
    time.sleep(3.5)
    assert get_card(owner, project, cleared)["commentCount"] == 0
    assert len(traces(owner, project, rule)) == 1


def test_two_workers_fire_nothing_twice(stack, owner, project):
    on_create = make_rule(owner, project, "task_created", {"type": "add_comment", "params": {"content": "hi"}})
    on_due = make_rule(owner, project, "due_date_reached", {"type": "set_priority", "params": {"priority": "high"}})
    with extra_worker(stack):
        time.sleep(2)  # the second worker is consuming
        created = [make_card(owner, project, title=f"n{i}") for i in range(12)]
        due = [make_card(owner, project, title=f"d{i}", priority="low", dueDate=iso_in(2.5)) for i in range(8)]
        wait_traces(owner, project, on_create, 20, timeout=40)
        wait_traces(owner, project, on_due, 8, timeout=40)
        time.sleep(2)
    cards = {c["id"]: c for c in owner.get(f"{P(owner, project)}/cards").json()}
    assert all(cards[c["id"]]["commentCount"] == 1 for c in created + due)
    assert all(cards[c["id"]]["priority"] == "high" for c in due)
    create_traces = traces(owner, project, on_create, limit=200)
    assert len(create_traces) == 20 and len({t["targetCardId"] for t in create_traces}) == 20
    due_traces = traces(owner, project, on_due, limit=200)
    assert len(due_traces) == 8 and all(t["result"] == "success" for t in due_traces)


def test_a_rule_over_its_rate_is_throttled(stack, owner, project):
    stack.kill("automations", "worker")
    saved = stack.env.get("AUTOMATIONS_RULE_RATE_PER_MIN")
    stack.env["AUTOMATIONS_RULE_RATE_PER_MIN"] = "3"
    try:
        stack.spawn("automations", "worker")
        rule = make_rule(owner, project, "task_created", {"type": "set_priority", "params": {"priority": "high"}})
        second = datetime.now(timezone.utc).second
        if second > 45:  # the five runs must fall in one minute (the limit counts per minute)
            time.sleep(61 - second)
        for i in range(5):
            make_card(owner, project, title=f"r{i}")
        rows = wait_traces(owner, project, rule, 5, timeout=30)
        results = sorted((t["result"], t["detail"]) for t in rows)
        assert [r for r, _ in results].count("success") == 3
        assert [d for r, d in results if r == "skipped"] == ["throttled", "throttled"]
    finally:
        stack.kill("automations", "worker")
        if saved is None:
            stack.env.pop("AUTOMATIONS_RULE_RATE_PER_MIN", None)
        else:
            stack.env["AUTOMATIONS_RULE_RATE_PER_MIN"] = saved
        stack.spawn("automations", "worker")
