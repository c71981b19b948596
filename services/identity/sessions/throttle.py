"""Failed-password throttling for login and change-password.

Failures are counted per (account, client address) first: LOGIN_MAX_FAILURES of them lock that
pair (LOGIN_LOCK_SECONDS, doubling, at most LOGIN_LOCK_MAX_SECONDS), so a stranger guessing a
password locks out only themself. The account alone is locked only after
LOGIN_ACCOUNT_MAX_FAILURES failures from anywhere (a distributed guess), and that lock spares the
addresses the account logged in from successfully in the last 30 days: nobody can lock the owner
out from elsewhere. While a lock holds, the right password is refused too (else the lock
would not stop a guess). A success clears the pair's count and remembers the address.

Rows (collection `login_failures`; TTL indexes expire them, sessions/storage.py):
    {_id: "<kind>|<account>|<address>", count, lastAt, lockedUntilMs}   the pair
    {_id: "<kind>|<account>", count, lastAt, lockedUntilMs}             the account alone
    {_id: "ok|<kind>|<account>|<address>", seenAt}                      an address known good
`kind` is "login" (account = the email) or "password" (account = the user id).
"""
from __future__ import annotations

import math

from libs.common.errors import TooManyRequests
from libs.common.mongo import now_ms

from .storage import FailureStore


class Throttle:
    def __init__(self, *, store: FailureStore, settings, kind: str):
        self.store = store
        self.settings = settings
        self.kind = kind

    def _keys(self, account: str, address: str) -> tuple[str, str, str]:
        pair = f"{self.kind}|{account}|{address or '-'}"
        return pair, f"{self.kind}|{account}", f"ok|{pair}"

    def check(self, *, account: str, address: str) -> None:
        """429 (Retry-After) while the pair, or the account from an unknown address, is locked."""
        pair, alone, known = self._keys(account, address)
        docs = {d["_id"]: d for d in self.store.list_by_keys([pair, alone, known])}
        waits = [self._wait(docs.get(pair))]
        if known not in docs:
            waits.append(self._wait(docs.get(alone)))
        wait = max(waits)
        if wait > 0:
            retry = str(max(1, math.ceil(wait)))
            raise TooManyRequests("Too many failed attempts; try again later",
                                  headers={"Retry-After": retry, "X-RateLimit-Remaining": "0",
                                           "X-RateLimit-Reset": retry})

    @staticmethod
    def _wait(doc: dict | None) -> float:
        until = (doc or {}).get("lockedUntilMs")
        return (until - now_ms()) / 1000 if isinstance(until, int) else 0.0

    def failed(self, *, account: str, address: str) -> None:
        pair, alone, _ = self._keys(account, address)
        s = self.settings
        self._count(pair, s.login_max_failures)
        self._count(alone, s.login_account_max_failures)

    def _count(self, key: str, threshold: int) -> None:
        s = self.settings
        over = self.store.count(key) - threshold
        if over >= 0:
            lock = min(s.login_lock_seconds * (2 ** min(over, 30)), s.login_lock_max_seconds)
            self.store.lock(key, now_ms() + lock * 1000)

    def succeeded(self, *, account: str, address: str) -> None:
        pair, _, known = self._keys(account, address)
        self.store.delete(pair)
        self.store.remember(known)
