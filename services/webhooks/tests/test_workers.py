"""Worker processes: three workers send each event's attempt once; a worker killed mid-attempt loses
no delivery (its lease ends and another worker makes the attempt)."""
from __future__ import annotations

import collections
import contextlib
import signal
import subprocess

from devtools.infra import stop_process
from devtools.stack import ROOT
from tests.support import wait_until

from .conftest import deliveries, make_card, make_webhook
from .receiver import Answer, Receiver


@contextlib.contextmanager
def extra_worker(stack, name="extra", **env):
    """Another webhooks worker process (beside the stack's), stopped at the end."""
    log = open(stack.root / f"webhooks-worker-{name}.log", "ab")
    proc = subprocess.Popen(stack.command("webhooks", "worker"), cwd=ROOT, env=stack.env | env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        stop_process(proc, grace=15)


def test_three_workers_send_each_attempt_once(stack, owner, project):
    with Receiver() as rx, extra_worker(stack, "a"), extra_worker(stack, "b"):
        hooks = [make_webhook(owner, rx.url, events=["card_created"]) for _ in range(2)]
        cards = [make_card(owner, project, title=f"c{i}") for i in range(20)]
        rx.wait(40, timeout=60)
        for hook in hooks:
            rows = wait_until(lambda: (lambda r: r if len(r) == 20 and all(d["status"] == "succeeded" for d in r)
                                       else None)(deliveries(owner, hook, limit=200)), timeout=30)
            assert all(len(d["attempts"]) == 1 for d in rows)
        # every event once per endpoint: 20 events × 2 endpoints, each (event, signature) pair once
        seen = collections.Counter((r.headers["webhook-id"], r.headers["webhook-signature"]) for r in rx.requests)
        assert len(seen) == 40 and set(seen.values()) == {1}
        assert len({r.headers["webhook-id"] for r in rx.requests}) == len(cards)


def test_a_worker_killed_mid_delivery_loses_no_delivery(stack, owner, project):
    stack.kill("webhooks", "worker")                       # only the worker this test controls sends
    try:
        with Receiver(script=[Answer(200, delay=8)]) as rx:
            with extra_worker(stack, "doomed") as doomed:
                hook = make_webhook(owner, rx.url, events=["card_created"])
                make_card(owner, project)
                rx.wait(1, timeout=30)                      # the attempt is in flight
                doomed.send_signal(signal.SIGKILL)
                doomed.wait(10)
            [pending] = deliveries(owner, hook)
            assert pending["status"] == "pending" and pending["attempts"] == []
            stack.spawn("webhooks", "worker")               # another worker: the lease ends, it retries
            second = rx.wait(2, timeout=60)[1]
            assert second.headers["webhook-id"] == rx.requests[0].headers["webhook-id"]
            done = wait_until(lambda: [d for d in deliveries(owner, hook) if d["status"] == "succeeded"])
            assert len(done) == 1 and len(done[0]["attempts"]) == 1
    finally:
        if ("webhooks", "worker") not in stack.procs:
            stack.spawn("webhooks", "worker")
