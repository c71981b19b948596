"""Flask apps on an event loop (gunicorn's `asgi` worker): one process holds a thousand open event
streams without a thread each.

    # app.py
    def create_asgi(config=None):
        return asyncweb.WsgiBridge(create_app(config))

    gunicorn -c deploy/gunicorn.conf.py -b 127.0.0.1:3106 'services.notifications.app:create_asgi()'

Every request runs the Flask app as before — hooks, auth, error bodies, metrics — on a bounded pool
of WEB_THREADS threads: one per request being handled, not one per open connection. A response
whose body is an `AsyncBody` (an SSE stream, the gateway's relay of one) leaves its thread as soon
as its status and headers are known; its chunks are then made and written on the event loop, where
an open stream is a coroutine waiting for a wake-up. A client that goes away ends its stream at
once (the server's `http.disconnect`), not at the next heartbeat that fails to write. Blocking work
a stream does (a database read) goes to the same pool: `await run_blocking(fn, ...)`.

Served by a WSGI server (gthread, Flask's test client), an AsyncBody iterates synchronously on the
thread that serves it, as a generator would.

    body = AsyncBody(lambda: frames(...))          # frames: an async generator of str / bytes
    return Response(body, mimetype="text/event-stream", direct_passthrough=True)

`direct_passthrough=True` hands the body to the server as it is (Werkzeug would otherwise iterate
it); wrappers that must run when a stream ends use `ClosingBody`, which keeps it asynchronous.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import sys
import threading
import time
from urllib.parse import unquote_to_bytes

log = logging.getLogger(__name__)
LOOP_KEY = "stellary.loop"          # environ: the event loop serving this request (absent under WSGI)
PORT_KEY = "stellary.local_port"    # environ: the local port the request came in on
_WAIT_S = 1.0                       # a thread waiting on the loop looks this often whether it stopped


class ClientGone(OSError):
    """The client went away before the request body ended (a 400 nobody reads)."""


async def run_blocking(fn, *args):
    """`fn(*args)` on the pool of the loop's process (WsgiBridge makes it the default executor)."""
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


def loop_of(environ) -> asyncio.AbstractEventLoop | None:
    """The event loop serving this request, when served by WsgiBridge."""
    return environ.get(LOOP_KEY)


def call(loop: asyncio.AbstractEventLoop, coro, timeout: float | None = None):
    """From a request thread: run `coro` on `loop` and wait for its result."""
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    waited = 0.0
    while True:
        try:
            return future.result(timeout=_WAIT_S)
        except concurrent.futures.TimeoutError:
            waited += _WAIT_S
            if loop.is_closed() or not loop.is_running() or (timeout is not None and waited >= timeout):
                future.cancel()
                raise ClientGone("the event loop stopped or did not answer") from None


_END = object()


async def _next(chunks):
    try:
        return await chunks.__anext__()
    except StopAsyncIteration:
        return _END


def _encoded(chunk) -> bytes:
    return chunk.encode() if isinstance(chunk, str) else bytes(chunk)


class AsyncBody:
    """A response body made by an async iterator: `make()` returns it (called once, when the body is
    first iterated). `loop`: the loop the iterator must run on (its resources belong to that loop);
    None: any (served synchronously, a private loop on the serving thread). `on_abandon()` runs when
    the body is closed without ever being iterated (a HEAD, an error before the first chunk)."""

    def __init__(self, make, *, loop: asyncio.AbstractEventLoop | None = None, on_abandon=None):
        self.make, self.loop, self.on_abandon = make, loop, on_abandon
        self.started = False

    async def _chunks(self):
        async for chunk in self.make():
            if chunk:
                yield _encoded(chunk)

    def async_iter(self):
        self.started = True
        return self._chunks()

    def __iter__(self):
        chunks = self.async_iter()
        if self.loop is not None:     # bound to a running loop: step it there
            try:
                while (chunk := call(self.loop, _next(chunks))) is not _END:
                    yield chunk
            finally:
                if not self.loop.is_closed():
                    try:
                        call(self.loop, chunks.aclose(), timeout=5)
                    except ClientGone:
                        pass
            return
        loop = asyncio.new_event_loop()
        try:
            while (chunk := loop.run_until_complete(_next(chunks))) is not _END:
                yield chunk
        finally:
            loop.run_until_complete(chunks.aclose())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def close(self):
        if not self.started and self.on_abandon is not None:
            self.started = True
            self.on_abandon()


class ClosingBody:
    """`inner` (a response body) that calls `on_close` once, when the server closes it: the client
    left or the body ended. Asynchronous when `inner` is. (Not Flask's `call_on_close`: a
    direct_passthrough response is handed to the server as it is, and only its body is closed.)"""

    def __init__(self, inner, on_close):
        self.inner, self.on_close, self.closed = inner, on_close, False

    def __iter__(self):
        return iter(self.inner)

    def async_iter(self):
        inner = getattr(self.inner, "async_iter", None)
        return inner() if inner is not None else None

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            close = getattr(self.inner, "close", None)
            if close is not None:
                close()
        finally:
            self.on_close()


class _Input:
    """wsgi.input: the request body, pulled from the loop by the request thread as the app reads."""

    def __init__(self, first: bytes, more: bool, pull):
        self.buffer, self.more, self.pull = bytearray(first), more, pull

    def _fill(self, wanted: int) -> None:
        while self.more and (wanted < 0 or len(self.buffer) < wanted):
            message = self.pull()
            if message["type"] == "http.disconnect":
                self.more = False
                raise ClientGone("the client went away before the end of the body")
            self.buffer += message.get("body", b"")
            self.more = message.get("more_body", False)

    def read(self, size: int | None = -1) -> bytes:
        size = -1 if size is None else size
        self._fill(size)
        if size < 0 or size >= len(self.buffer):
            out, self.buffer = bytes(self.buffer), bytearray()
        else:
            out, self.buffer = bytes(self.buffer[:size]), self.buffer[size:]
        return out

    def readline(self, size: int | None = -1) -> bytes:
        while b"\n" not in self.buffer and self.more and (size is None or size < 0 or len(self.buffer) < size):
            self._fill(len(self.buffer) + 1)
        end = self.buffer.find(b"\n") + 1 or len(self.buffer)
        if size is not None and size >= 0:
            end = min(end, size)
        out, self.buffer = bytes(self.buffer[:end]), self.buffer[end:]
        return out

    def readlines(self, hint=-1):
        return list(iter(self.readline, b""))

    def __iter__(self):
        return iter(self.readline, b"")


def _environ(scope, body: _Input, loop) -> dict:
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": "",
        # as a WSGI server sets it: the percent-decoded bytes, latin-1 (scope["path"] is decoded as
        # UTF-8 with replacement, which would change a path that is not UTF-8)
        "PATH_INFO": (unquote_to_bytes(scope["raw_path"]).decode("latin-1") if scope.get("raw_path")
                      else scope["path"].encode("utf-8").decode("latin-1")),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "RAW_URI": (scope.get("raw_path") or scope["path"].encode()).decode("latin-1"),
        "SERVER_NAME": str(server[0]), "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0], "REMOTE_PORT": str(client[1]),
        "wsgi.version": (1, 0), "wsgi.url_scheme": scope.get("scheme", "http"), "wsgi.input": body,
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True,
        "wsgi.run_once": False, "wsgi.input_terminated": True,
        LOOP_KEY: loop, PORT_KEY: server[1],
    }
    if scope.get("raw_path") and scope.get("query_string"):
        environ["RAW_URI"] += "?" + environ["QUERY_STRING"]
    for name, value in scope.get("headers", ()):
        key = name.decode("latin-1").upper().replace("-", "_")
        value = value.decode("latin-1")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
            continue
        key = "HTTP_" + key
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def _start_message(started) -> dict:
    status, headers = started
    return {"type": "http.response.start", "status": int(status.split(" ", 1)[0]),
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]}


async def _send_all(send, messages) -> None:
    for message in messages:
        await send(message)


class WsgiBridge:
    """An ASGI app serving the WSGI `app` as the module docstring says; `threads` (WEB_THREADS) bounds
    the requests handled at once — the others wait for a thread on the loop, costing nothing."""

    def __init__(self, app, *, threads: int | None = None):
        self.app = app
        self.threads = threads or int(os.environ.get("WEB_THREADS") or 16)
        self.pool: concurrent.futures.ThreadPoolExecutor | None = None
        self.lock = threading.Lock()

    def _pool(self, loop) -> concurrent.futures.ThreadPoolExecutor:
        if self.pool is None:  # made on the first request, after gunicorn forked
            self.pool = concurrent.futures.ThreadPoolExecutor(self.threads, thread_name_prefix="web")
            loop.set_default_executor(self.pool)
        return self.pool

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self._lifespan(receive, send)
        if scope["type"] != "http":   # websockets: not served here
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1000})
            return
        loop = asyncio.get_running_loop()
        pool = self._pool(loop)
        first = await receive()
        if first["type"] == "http.disconnect":
            return
        body = _Input(first.get("body", b""), first.get("more_body", False), lambda: call(loop, receive()))
        environ = _environ(scope, body, loop)
        handed = await loop.run_in_executor(pool, self._call, environ, send, loop)
        if handed is None:
            return
        started, result, chunks = handed
        await self._stream(started, result, chunks, receive, send, watch=not body.more)

    async def _lifespan(self, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    self.pool.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _call(self, environ, send, loop):
        """On a pool thread: the app, then its body — or its async body handed back to the loop."""
        started: list = []

        def start_response(status, headers, exc_info=None):
            if exc_info is not None and started and started[-1] == "sent":
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]

        result = self.app(environ, start_response)
        async_iter = getattr(result, "async_iter", None)
        chunks = async_iter() if async_iter is not None else None
        if chunks is not None:
            return started, result, chunks
        try:
            self._send_sync(started, result, send, loop)
        except ClientGone:
            pass
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return None

    @staticmethod
    def _send_sync(started, result, send, loop) -> None:
        iterator = iter(result)
        first = b""
        for chunk in iterator:       # the first non-empty chunk (start_response may come with it)
            if chunk:
                first = chunk
                break
        start = _start_message(started)
        started.append("sent")
        pending = [start, {"type": "http.response.body", "body": bytes(first), "more_body": True}]
        for chunk in iterator:
            if not chunk:
                continue
            call(loop, _send_all(send, pending))
            pending = [{"type": "http.response.body", "body": bytes(chunk), "more_body": True}]
        pending[-1]["more_body"] = False   # one hop to the loop for a one-chunk answer
        call(loop, _send_all(send, pending))

    async def _stream(self, started, result, chunks, receive, send, *, watch: bool) -> None:
        """On the loop: an async body, until it ends or the client goes away."""
        async def pump():
            await send(_start_message(started))
            async for chunk in chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        async def gone():
            while (await receive())["type"] != "http.disconnect":
                pass

        pumping = asyncio.ensure_future(pump())
        watching = asyncio.ensure_future(gone()) if watch else None
        try:
            if watching is None:
                await pumping
            else:
                await asyncio.wait({pumping, watching}, return_when=asyncio.FIRST_COMPLETED)
                if not pumping.done():
                    pumping.cancel()
                    await asyncio.gather(pumping, return_exceptions=True)
                elif not pumping.cancelled() and pumping.exception() is not None:
                    log.error("a streamed response failed", exc_info=pumping.exception())
        finally:
            if watching is not None:
                watching.cancel()
                await asyncio.gather(watching, return_exceptions=True)
            if not pumping.done():
                pumping.cancel()
                await asyncio.gather(pumping, return_exceptions=True)
            try:
                await chunks.aclose()
            finally:
                result.close()


class Fanout:
    """Per-process registry of open streams by key (a user, a mission): each an asyncio queue on its
    own loop, fed from any thread (a NATS callback, a request). With `poll`, one safety poll for
    them all: `poll(keys)` runs every `poll_s` seconds on a thread of its own while a stream is open
    (none at rest), and returns {key: item} to hand to that key's streams.

        fanout = Fanout(poll=lambda keys: {k: ("poll", ...) for k in keys}, poll_s=5)
        queue = fanout.register("u1")          # in the stream's coroutine
        fanout.put("u1", item)                 # any thread
        fanout.unregister("u1", queue)
    """

    def __init__(self, *, poll=None, poll_s: float = 5.0, name: str = "stream-poll"):
        self.poll, self.poll_s, self.name = poll, poll_s, name
        self._lock = threading.Lock()
        self._watchers: dict[str, dict[asyncio.Queue, asyncio.AbstractEventLoop]] = {}
        self._opened = threading.Event()
        self._poller: threading.Thread | None = None

    def register(self, key: str) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()
        with self._lock:
            self._watchers.setdefault(key, {})[queue] = loop
            if self.poll is not None and self._poller is None:
                self._poller = threading.Thread(target=self._poll_forever, name=self.name, daemon=True)
                self._poller.start()
        self._opened.set()
        return queue

    def unregister(self, key: str, queue: asyncio.Queue) -> None:
        with self._lock:
            watchers = self._watchers.get(key)
            if watchers is not None:
                watchers.pop(queue, None)
                if not watchers:
                    del self._watchers[key]

    def put(self, key: str, item) -> None:
        with self._lock:
            watchers = list(self._watchers.get(key, {}).items())
        for queue, loop in watchers:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:   # that loop is closed: its stream is gone
                pass

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._watchers)

    @property
    def open_streams(self) -> int:
        with self._lock:
            return sum(len(w) for w in self._watchers.values())

    def _poll_forever(self) -> None:
        while True:
            if not self.keys():
                self._opened.clear()
                if not self.keys():
                    self._opened.wait()     # nothing open: sleep until a stream opens
                continue
            time.sleep(self.poll_s)
            keys = self.keys()
            if not keys:
                continue
            try:
                items = self.poll(keys)
            except Exception:  # noqa: BLE001 - the database is away: the next poll retries
                log.warning("%s: the safety poll failed", self.name, exc_info=True)
                continue
            for key, item in items.items():
                self.put(key, item)
