"""OpenTelemetry: the caller's trace continues through the gateway, the service and the outbox
onto the NATS message (traceparent header and envelope)."""
import asyncio
import json
import secrets
import threading

import nats
import requests

from tests.support import unique_email, wait_until


def test_traceparent_travels_from_http_request_to_the_published_event(stack, base):
    trace_id = secrets.token_hex(16)
    got, ready = [], threading.Event()
    done = threading.Event()

    async def listen():
        nc = await nats.connect(f"nats://127.0.0.1:{stack.infra.nats_port}")

        async def cb(msg):
            got.append((msg.headers or {}, json.loads(msg.data)))
        await nc.subscribe("identity.user.registered", cb=cb)
        ready.set()
        while not done.is_set():
            await asyncio.sleep(0.02)
        await nc.close()

    thread = threading.Thread(target=lambda: asyncio.run(listen()), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        email = unique_email("trace")
        r = requests.post(base + "/auth/register", json={"email": email, "password": "secure-pass-123"},
                          headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}, timeout=30)
        assert r.status_code == 201
        headers, env = wait_until(lambda: next((m for m in got if m[1]["data"]["user"]["email"] == email), None),
                                  10, message="registration event published")
    finally:
        done.set()
        thread.join(5)
    assert headers["Nats-Msg-Id"] == env["id"]
    assert env["traceparent"].split("-")[1] == trace_id
    assert headers["traceparent"].split("-")[1] == trace_id
