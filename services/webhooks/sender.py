"""Sending one attempt: the outgoing HTTP client behind an interface.

    sender = HttpSender(timeout_s=10, allow_private=False)
    outcome = sender.post(url, body=b"{…}", headers={…})
    outcome.status, outcome.retry_after_s, outcome.error, outcome.duration_ms

`HttpSender` is the real client (httpcore): no redirect is followed (a 3xx is a failure), no proxy
from the environment, one budget of `timeout_s` for the whole attempt, at most 64 KiB of the answer
read (and dropped). Its network backend resolves the host itself and refuses to connect when any
address is not public (targets.py) — so a name rebound to a private address after the endpoint was
created is refused at delivery time, and the connection goes to the very address that was checked.
Tests use it against real local HTTP servers; anything with `post()` of that shape can stand in.
"""
from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import httpcore

from .targets import TargetRefused, public_addresses

MAX_ANSWER = 64 * 1024


@dataclass
class Outcome:
    status: int | None          # the HTTP status, None when there was no answer
    duration_ms: int
    error: str | None = None    # why there was no answer (timeout, refused…), or the non-2xx reason
    retry_after_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) as seconds from now; None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (now if now is not None else datetime.now(timezone.utc).timestamp()))


class GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses the private-target guard accepts, resolved at connect time."""

    def __init__(self, *, allow_private: bool, resolver=None):
        super().__init__()
        self.allow_private = allow_private
        self.resolver = resolver

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        kwargs = {"resolver": self.resolver} if self.resolver is not None else {}
        try:
            addresses = public_addresses(host, port, allow_private=self.allow_private, **kwargs)
        except TargetRefused as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        last: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                           socket_options=socket_options)
            except httpcore.ConnectError as exc:
                last = exc
        raise last or httpcore.ConnectError(f"cannot connect to {host}")


class HttpSender:
    def __init__(self, *, timeout_s: float = 10.0, allow_private: bool = False, max_connections: int = 64,
                 resolver=None):
        self.timeout_s = timeout_s
        self.pool = httpcore.ConnectionPool(max_connections=max_connections, max_keepalive_connections=16,
                                            keepalive_expiry=30.0, retries=0,
                                            network_backend=GuardedBackend(allow_private=allow_private,
                                                                           resolver=resolver))

    def post(self, url: str, *, body: bytes, headers: dict) -> Outcome:
        started = time.perf_counter()
        deadline = started + self.timeout_s

        def left() -> float:
            return max(0.001, deadline - time.perf_counter())

        def took() -> int:
            return int(round((time.perf_counter() - started) * 1000))

        timeout = {"connect": left(), "read": left(), "write": left(), "pool": left()}
        try:
            with self.pool.stream("POST", url, headers=list(headers.items()), content=body,
                                  extensions={"timeout": timeout}) as response:
                read = 0
                for chunk in response.iter_stream():
                    read += len(chunk)
                    if read >= MAX_ANSWER or time.perf_counter() >= deadline:
                        break
                status = response.status
                answer_headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers}
        except httpcore.TimeoutException:
            return Outcome(None, took(), f"timed out after {self.timeout_s:g} s")
        except httpcore.ConnectError as exc:
            return Outcome(None, took(), f"connection failed: {exc}"[:300])
        except (httpcore.UnsupportedProtocol, httpcore.LocalProtocolError) as exc:
            return Outcome(None, took(), f"bad target: {exc}"[:300])
        except httpcore.NetworkError as exc:
            return Outcome(None, took(), f"network error: {exc.__class__.__name__}: {exc}"[:300])
        except httpcore.ProtocolError as exc:
            return Outcome(None, took(), f"protocol error: {exc}"[:300])
        outcome = Outcome(status, took())
        if not outcome.ok:
            outcome.error = f"HTTP {status}"
            outcome.retry_after_s = retry_after(answer_headers.get("retry-after"))
            if 300 <= status < 400:
                outcome.error += " (redirects are not followed)"
        return outcome

    def close(self) -> None:
        self.pool.close()
