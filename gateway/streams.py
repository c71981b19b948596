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
from urllib.parse import urlsplit

import h11

from libs.common import asyncweb
from libs.common.errors import TooManyRequests


def is_stream(path: str, method: str) -> bool:
    return method == "GET" and path.rstrip("/").endswith("/stream")


class UpstreamError(Exception):
    """The service could not be reached, or did not answer as HTTP/1.1."""


class Upstream:
    """The gateway's relay of streamed answers (SSE, downloads, MCP) when served by
    libs/common/asyncweb.py: the upstream request goes out on the event loop, the request thread
    waits only for the status and headers, and the body is relayed on the loop — an open stream
    holds no thread. One connection per stream (asyncio streams + h11), no pool: a pool of a
    thousand long-lived connections costs every new request a scan of them all (httpx/httpcore:
    ~55 % of the gateway's CPU when a thousand streams open, bench/streams.py)."""

    def __init__(self, *, connect_timeout: float = 2.0, head_timeout: float = 60.0):
        self.connect_timeout, self.head_timeout = connect_timeout, head_timeout

    def open(self, loop, url: str, headers: dict) -> "UpstreamResponse":
        """GET `url` (from a request thread): -> its status and headers, the body still to read on `loop`."""
        return asyncweb.call(loop, self._open(url, headers))

    async def _open(self, url: str, headers: dict) -> "UpstreamResponse":
        parts = urlsplit(url)
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port or 80),
                                                    self.connect_timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            raise UpstreamError(f"cannot connect: {exc!r}") from exc
        conn = h11.Connection(h11.CLIENT)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            writer.write(conn.send(h11.Request(method="GET", target=target,
                                               headers=[("Host", parts.netloc), *headers.items()])))
            writer.write(conn.send(h11.EndOfMessage()))
            head = await asyncio.wait_for(_next_event(conn, reader), self.head_timeout)
            while isinstance(head, h11.InformationalResponse):
                head = await asyncio.wait_for(_next_event(conn, reader), self.head_timeout)
            if not isinstance(head, h11.Response):
                raise UpstreamError(f"no response: {head!r}")
        except UpstreamError:
            writer.close()
            raise
        except (OSError, asyncio.TimeoutError, h11.ProtocolError) as exc:
            writer.close()
            raise UpstreamError(repr(exc)) from exc
        return UpstreamResponse(head, conn, reader, writer)


async def _next_event(conn, reader):
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        conn.receive_data(await reader.read(65536))   # b"" at EOF: h11 then ends or raises


class UpstreamResponse:
    def __init__(self, head, conn, reader, writer):
        self.status = head.status_code
        self.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in head.headers.raw_items()]
        self.conn, self.reader, self.writer = conn, reader, writer

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    async def chunks(self):
        """The body as it comes; ends quietly when the service goes away mid-stream."""
        try:
            while True:
                event = await _next_event(self.conn, self.reader)
                if isinstance(event, h11.Data):
                    yield bytes(event.data)
                else:   # EndOfMessage, ConnectionClosed
                    return
        except (OSError, h11.ProtocolError):
            return
        finally:
            self.close()

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])

    def close(self) -> None:
        self.writer.close()

    def body(self, loop) -> asyncweb.AsyncBody:
        return asyncweb.AsyncBody(self.chunks, loop=loop, on_abandon=lambda: loop.call_soon_threadsafe(self.close))


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
