"""Caps on concurrent event streams (`GET …/stream`: notifications now, agent missions next).

    slots = StreamSlots(per_user=10, per_token=10)
    release = slots.acquire(user_id="u1", token_id="t1")   # TooManyRequests (429) beyond a cap
    ...                                                     # the stream runs
    release()                                               # when the response is closed

An open stream costs the gateway and the service a connection (and, under gunicorn's threaded
workers, a thread each): one user, or one token, must not be able to hold them all. The counts are
per gateway process (like the rate limits): N replicas allow N × the cap.
"""
from __future__ import annotations

import threading

from libs.common.errors import TooManyRequests


def is_stream(path: str, method: str) -> bool:
    return method == "GET" and path.rstrip("/").endswith("/stream")


def closing(body, release):
    """`body` (a response iterable) that calls `release` once the server closes it: the client
    left (the next write failed) or the stream ended. (A passthrough Flask response hands its
    iterable to the server as is, so `call_on_close` would never run.)"""
    try:
        yield from body
    finally:
        try:
            close = getattr(body, "close", None)
            if close:
                close()
        finally:
            release()


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
