"""Open event streams hold no thread (issue 14): with 300 GET /notifications/stream open — ten
times the test stack's WEB_THREADS, so a stream per thread would leave none — ordinary
authenticated requests and /health still answer, every stream still gets its events, the caps
still answer 429, and a stream whose client left frees its slot at once. The bound asserted is
functional (an answer at all within 5 s); the figures are bench/streams.py's."""
from __future__ import annotations

import asyncio
import time
from urllib.parse import urlparse

import requests

from tests.support import assert_error, register, wait_until

STREAMS = 300
PER_USER = 10   # STREAMS_PER_USER


async def _open(host: str, port: int, token: str, first_count: list, writers: list) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writers.append(writer)
    writer.write((f"GET /notifications/stream HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                  "Accept: text/event-stream\r\n\r\n").encode())
    await writer.drain()
    status = await reader.readline()
    assert b" 200 " in status, status
    seen = b""
    while b"event: count" not in seen:   # the stream's first event: it is served, not only accepted
        chunk = await reader.read(4096)
        assert chunk, "the stream closed"
        seen += chunk
    first_count.append(1)


def _timed(session, url: str, **kw) -> tuple[int, float]:
    started = time.monotonic()
    r = session.get(url, timeout=5, **kw)
    return r.status_code, time.monotonic() - started


def test_three_hundred_open_streams_leave_the_gateway_and_the_service_answering(base):
    users = [register(base) for _ in range(STREAMS // PER_USER)]
    probe = register(base)
    url = urlparse(base)
    served: list = []
    writers: list = []

    async def main():
        tasks = [asyncio.create_task(_open(url.hostname, url.port, users[i // PER_USER].token, served, writers))
                 for i in range(STREAMS)]
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), 60)
            assert len(served) == STREAMS
            loop = asyncio.get_running_loop()
            session = requests.Session()
            auth = {"Authorization": f"Bearer {probe.token}"}
            for _ in range(20):   # ordinary requests of another user, and /health, while all are open
                status, took = await loop.run_in_executor(None, lambda: _timed(session, base + "/notifications/count",
                                                                                headers=auth))
                assert status == 200 and took < 5
            status, took = await loop.run_in_executor(None, lambda: _timed(session, base + "/health"))
            assert status == 200 and took < 5
            # The caps still hold with the streams on an event loop.
            refused = await loop.run_in_executor(None, lambda: requests.get(
                base + "/notifications/stream", headers={"Authorization": f"Bearer {users[0].token}"}, timeout=5))
            assert_error(refused, 429, "streams")
            # A client that leaves frees its slot at once (no write to the gone client is needed).
            writers[0].close()
            await loop.run_in_executor(None, lambda: wait_until(
                lambda: (lambda r: r.close() or r.status_code == 200)(requests.get(
                    base + "/notifications/stream", headers={"Authorization": f"Bearer {users[0].token}"},
                    stream=True, timeout=5)),
                timeout=5, interval=0.2, message="the slot of a stream whose client left"))
        finally:
            for w in writers:
                w.close()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
