"""How long a JetStream message waits in a worker's consumer before its handler gets it: nats-py's
`fetch(batch=64, timeout=W)` against libs/common/pull.py's Puller (what Worker uses), on a private
nats-server, messages published at random gaps around the pull requests' life. Prints figures;
asserts nothing.

    .venv/bin/python bench/pull_latency.py                 # W = 2 s, 60 messages each
    .venv/bin/python bench/pull_latency.py --window 15     # the workers' FETCH_WAIT_S (slow: ~4 min)
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nats  # noqa: E402
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy  # noqa: E402

from devtools.infra import free_port, nats_cmd, stop_process, wait_tcp  # noqa: E402
from libs.common.pull import Puller  # noqa: E402


async def run(url: str, kind: str, window: float, count: int, seed: int) -> list[float]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    stream = f"B{kind.upper()}"
    await js.add_stream(name=stream, subjects=[f"{kind}.>"])
    config = ConsumerConfig(durable_name="c", ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
                            ack_wait=60, max_deliver=-1, filter_subjects=[f"{kind}.a", f"{kind}.b"])
    await js.add_consumer(stream, config=config)
    if kind == "natspy":
        sub = await js.pull_subscribe(subject=f"{kind}.a", durable="c", stream=stream, config=config)

        async def fetch():
            try:
                return await sub.fetch(batch=64, timeout=window)
            except (nats.errors.TimeoutError, asyncio.TimeoutError):
                return []
    else:
        puller = await Puller(nc, stream, "c", expires_s=window).start()
        fetch = puller.fetch
    waited: list[float] = []

    async def consume():
        while True:
            for msg in await fetch():
                waited.append(time.time() - json.loads(msg.data)["t"])
                await msg.ack()
    task = asyncio.create_task(consume())
    rng = random.Random(seed)
    for i in range(count):
        await asyncio.sleep(rng.uniform(0, 1.5 * window))
        await js.publish(f"{kind}.{'ab'[i % 2]}", json.dumps({"t": time.time()}).encode())
    deadline = time.time() + 2 * window + 5
    while len(waited) < count and time.time() < deadline:
        await asyncio.sleep(0.1)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await nc.close()
    return sorted(waited)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", type=float, default=2.0, help="the pull request's wait, seconds")
    parser.add_argument("--messages", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    port = free_port()
    proc = subprocess.Popen(nats_cmd(Path(tempfile.mkdtemp(prefix="stellary-pull-")), port),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_tcp(port, proc=proc)
        print(f"{args.messages} messages, pull requests of {args.window:g} s, gaps 0–{1.5 * args.window:g} s")
        for kind, label in (("natspy", "nats-py fetch(batch=64)"), ("puller", "libs/common/pull.py Puller")):
            waited = asyncio.run(run(f"nats://127.0.0.1:{port}", kind, args.window, args.messages, args.seed))
            slow = [w for w in waited if w > 0.1]
            print(f"{label:28s} got {len(waited):3d}  p50 {waited[len(waited) // 2] * 1000:7.1f} ms  "
                  f"max {waited[-1] * 1000:7.1f} ms  waited > 100 ms: {len(slow)}")
    finally:
        stop_process(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
