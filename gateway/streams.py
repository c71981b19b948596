"""Caps on concurrent event streams (`GET …/stream`: notifications now, agent missions next).

    slots = StreamSlots(per_user=10, per_token=10)
    release = slots.acquire(user_id="u1", token_id="t1")   # TooManyRequests (429) beyond a cap
    ...                                                     # the stream runs
    release()                                               # when the response is closed

An open stream costs the gateway and the service a connection each (and, were they served by
threaded workers, a thread each): one user, or one token, must not be able to hold them all. The counts are
per gateway process (like the rate limits): N replicas allow N × the cap.
"""
from __future__ import annotations

import asyncio
import threading

from libs.common import asyncweb
from libs.common.errors import TooManyRequests


def is_stream(path: str, method: str) -> bool:
    return method == "GET" and path.rstrip("/").endswith("/stream")


class Upstream:
    """The gateway's relay of streamed answers (SSE, downloads, MCP) when served by
    libs/common/asyncweb.py: the upstream request goes out on the event loop (httpx), the request
    thread waits only for the status and headers, and the body is relayed on the loop — an open
    stream holds no thread. One client per process, made on first use."""

    def __init__(self, connect_timeout: float = 2.0):
        self.connect_timeout = connect_timeout
        self.client = None

    def _client(self):
        if self.client is None:
            import httpx
            self.client = httpx.AsyncClient(
                timeout=httpx.Timeout(connect=self.connect_timeout, read=None, write=30, pool=None),
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=64), follow_redirects=False)
        return self.client

    def open(self, loop, method: str, url: str, headers: dict):
        """-> an httpx response whose body is still to be read (on `loop`); httpx.HTTPError when the
        service cannot be reached."""
        client = self._client()

        async def send():
            request = client.build_request(method, url, headers=headers)
            return await client.send(request, stream=True)
        return asyncweb.call(loop, send())

    @staticmethod
    def read(loop, response) -> bytes:
        async def read():
            try:
                return await response.aread()
            finally:
                await response.aclose()
        return asyncweb.call(loop, read())

    @staticmethod
    def body(loop, response) -> asyncweb.AsyncBody:
        import httpx

        async def chunks():
            try:
                async for chunk in response.aiter_raw():   # as they come (a size would wait to fill it)
                    yield chunk
            except httpx.HTTPError:   # the service went away mid-stream: the stream ends
                return
            finally:
                await response.aclose()
        return asyncweb.AsyncBody(chunks, loop=loop,
                                  on_abandon=lambda: asyncio.run_coroutine_threadsafe(response.aclose(), loop))


class StreamSlots:
    def __init__(self, *, per_user: int, per_token: int):
        self.per_user = per_user
        self.per_token = per_token
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def acquire(self, *, user_id: str, token_id: str | None):
        keys = [(f"user:{user_id}", self.per_user)]
        if token_id:
            keys.append((f"token:{token_id}", self.per_token))
        with self._lock:
            for key, cap in keys:
                if cap > 0 and self._open.get(key, 0) >= cap:
                    who = "token" if key.startswith("token:") else "user"
                    raise TooManyRequests(f"Too many open streams for this {who} (at most {cap}); close one first",
                                          headers={"Retry-After": "5"})
            for key, _ in keys:
                self._open[key] = self._open.get(key, 0) + 1
        released = threading.Event()

        def release() -> None:
            if released.is_set():
                return
            released.set()
            with self._lock:
                for key, _ in keys:
                    left = self._open.get(key, 0) - 1
                    if left > 0:
                        self._open[key] = left
                    else:
                        self._open.pop(key, None)
        return release

    def open_count(self, key: str) -> int:
        with self._lock:
            return self._open.get(key, 0)
