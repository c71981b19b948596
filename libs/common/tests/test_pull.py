"""libs/common/pull.py against a real NATS server: a message is handed over as soon as it arrives,
whatever became of earlier pull requests (expired, completed), and across a server restart."""
import asyncio
import json
import random
import subprocess

import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from devtools.infra import free_port, nats_cmd, stop_process, wait_tcp
from libs.common.mongo import new_id
from libs.common.pull import Puller

EXPIRES_S = 1.0
PROMPT_S = 0.5    # a fetch that waited for its request to expire would take EXPIRES_S


async def _consumer(url: str, reconnected_cb=None):
    nc = await nats.connect(url, reconnect_time_wait=0.2, max_reconnect_attempts=-1, reconnected_cb=reconnected_cb)
    js = nc.jetstream()
    stream = f"T{new_id()[-8:]}"
    await js.add_stream(name=stream, subjects=[f"{stream.lower()}.>"])
    await js.add_consumer(stream, config=ConsumerConfig(
        durable_name="c", ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL, ack_wait=30,
        max_deliver=-1, filter_subjects=[f"{stream.lower()}.a", f"{stream.lower()}.b"]))
    return nc, js, stream


async def _next(puller: Puller, within: float) -> list:
    """What the next fetches hand over within `within` seconds (the first non-empty answer)."""
    async def first():
        while True:
            got = await puller.fetch()
            if got:
                return got
    return await asyncio.wait_for(first(), within)


def test_each_message_is_handed_over_at_once_across_expired_and_completed_requests(infra):
    async def main():
        nc, js, stream = await _consumer(infra.env["NATS_URL"])
        puller = await Puller(nc, stream, "c", batch=3, expires_s=EXPIRES_S, grace_s=0.5).start()
        rng = random.Random(7)
        try:
            for i in range(14):
                # gaps around a request's life: some messages land on a fresh request, some right
                # after one expired (its 408 in flight), some fill a batch of 3
                await asyncio.sleep(rng.choice([0.0, 0.05, 0.3, EXPIRES_S, EXPIRES_S + 0.05]))
                await js.publish(f"{stream.lower()}.{'ab'[i % 2]}", json.dumps({"i": i}).encode())
                got = await _next(puller, PROMPT_S)
                assert [json.loads(m.data)["i"] for m in got] == [i]
                assert got[0].metadata.num_delivered == 1 and got[0].metadata.stream == stream
                await got[0].ack()
            assert puller.stats["requests"] >= 5    # requests expired and batches completed meanwhile
            # a nak'd message comes back, on whichever request is open then
            await js.publish(f"{stream.lower()}.a", b'{"i": 99}')
            (msg,) = await _next(puller, PROMPT_S)
            await msg.nak(delay=0.2)
            (again,) = await _next(puller, PROMPT_S + 0.2)
            assert json.loads(again.data) == {"i": 99} and again.metadata.num_delivered == 2
            await again.ack()
            # a burst larger than the batch: all of it, in order, over several requests
            for i in range(10):
                await js.publish(f"{stream.lower()}.b", json.dumps({"i": 100 + i}).encode())
            seen = []
            while len(seen) < 10:
                for m in await _next(puller, PROMPT_S):
                    seen.append(json.loads(m.data)["i"])
                    await m.ack()
            assert seen == list(range(100, 110))
        finally:
            await puller.stop()
            await nc.close()

    asyncio.run(main())


def test_a_restarted_server_gets_a_new_pull_request_at_once(tmp_path):
    port = free_port()

    def serve():
        proc = subprocess.Popen(nats_cmd(tmp_path, port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        wait_tcp(port, proc=proc)
        return proc

    async def main():
        server = serve()
        reconnected, pullers = asyncio.Event(), []

        async def on_reconnect():
            for p in pullers:
                p.reset()               # what Worker._on_reconnect does
            reconnected.set()
        try:
            nc, js, stream = await _consumer(f"nats://127.0.0.1:{port}", reconnected_cb=on_reconnect)
            puller = await Puller(nc, stream, "c", expires_s=30).start()
            pullers.append(puller)
            waiting = asyncio.ensure_future(_next(puller, 20))
            await asyncio.sleep(0.2)
            stop_process(server)        # the server forgets the open request (its data stays)
            server = serve()
            await asyncio.wait_for(reconnected.wait(), 10)
            await js.publish(f"{stream.lower()}.a", b'{"i": 1}')
            (msg,) = await asyncio.wait_for(waiting, 5)   # not after the 30 s request expired
            assert json.loads(msg.data) == {"i": 1}
            await msg.ack()
            await puller.stop()
            await nc.close()
        finally:
            stop_process(server)

    asyncio.run(main())
