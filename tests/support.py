"""Test helpers: an HTTP client bound to the gateway and a token, and user factories."""
from __future__ import annotations

import time
import uuid

import requests


class Client:
    """`Client(base, token).get("/auth/me")` -> requests.Response (never raises on status).

    `Client.observers`: callables `(method, url, response)` every response is shown to (opt-in checks,
    e.g. tests/openapi_check.py validating bodies against /openapi.json)."""

    observers: list = []

    def __init__(self, base: str, token: str | None = None, **info):
        self.base = base.rstrip("/")
        self.token = token
        self.session = requests.Session()
        self.__dict__.update(info)

    def headers(self, extra=None):
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        h.update(extra or {})
        return h

    def request(self, method, path, **kw):
        headers = self.headers(kw.pop("headers", None))
        response = self.session.request(method, self.base + path, headers=headers, timeout=kw.pop("timeout", 30),
                                        **kw)
        for observe in list(Client.observers):
            observe(method, self.base + path, response)
        return response

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.request("PATCH", path, json=json, **kw)

    def put(self, path, json=None, **kw):
        return self.request("PUT", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def with_token(self, token):
        return Client(self.base, token, **{k: v for k, v in self.__dict__.items()
                                           if k not in ("base", "token", "session")})


def unique_email(prefix="user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def register(base: str, *, email=None, password="secure-pass-123", name="Test User") -> Client:
    email = email or unique_email()
    r = requests.post(base + "/auth/register", json={"email": email, "password": password, "name": name}, timeout=30)
    assert r.status_code == 201, r.text
    body = r.json()
    client = Client(base, body["access_token"], email=email, password=password, user=body["user"],
                    user_id=body["user"]["id"])
    orgs = client.get("/organizations").json()
    personal = next(o for o in orgs if o["isPersonal"])
    client.org = personal["slug"]
    client.ws = client.get(f"/orgs/{client.org}/workspaces").json()[0]["slug"]
    client.W = f"/orgs/{client.org}/workspaces/{client.ws}"
    return client


def assert_error(resp, status: int, contains: str | None = None):
    assert resp.status_code == status, f"expected {status}, got {resp.status_code}: {resp.text[:500]}"
    body = resp.json()
    assert body["statusCode"] == status and isinstance(body["message"], str) and body["error"], body
    if contains:
        assert contains.lower() in body["message"].lower(), body
    return body


def wait_until(fn, timeout=10.0, interval=0.05, message="condition not met"):
    """Poll `fn` until it returns a truthy value (returned), or fail after `timeout` seconds."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{message} within {timeout}s (last: {last!r})")


def team(base: str, owner: Client, *, role="member", pilotage_role="viewer") -> Client:
    """Register a user and make them a member of `owner`'s personal workspace (invite + accept)."""
    other = register(base)
    inv = owner.post(owner.W + "/members/invite", json={"email": other.email, "role": role,
                                                         "pilotageRole": pilotage_role})
    assert inv.status_code == 201, inv.text
    acc = other.post(f"/invitations/{inv.json()['token']}/accept")
    assert acc.status_code == 200, acc.text
    other.org, other.ws, other.W = owner.org, owner.ws, owner.W
    return other


# ---- reaching behind the gateway (tests only): a service's database, the event bus

def service_db(stack, service: str = "identity"):
    """The service's own MongoDB database on the test stack (pymongo, tz-aware). To age a date on
    the embedded stand-in use `$currentDate` (it stores a `$set` datetime as a string)."""
    from pymongo import MongoClient

    client = MongoClient(f"mongodb://127.0.0.1:{stack.infra.mongo_port}", tz_aware=True,
                         serverSelectionTimeoutMS=5000)
    return client[f"{stack.env.get('MONGO_DB_PREFIX', 'stellary_')}{service}"]


class EventCapture:
    """Collects the envelopes published on `subject` (core NATS subscription in a thread).

        with EventCapture(stack, "identity.>") as events:
            ...do something...
            env = events.wait_for(lambda e: e["type"] == "identity.org.deleted")
    """

    def __init__(self, stack, subject: str = "identity.>"):
        self.url = f"nats://127.0.0.1:{stack.infra.nats_port}"
        self.subject = subject
        self.events: list[dict] = []

    def __enter__(self):
        import asyncio
        import json
        import threading

        import nats

        ready = threading.Event()
        self.loop = asyncio.new_event_loop()

        async def start():
            self.nc = await nats.connect(self.url)

            async def on_msg(msg):
                try:
                    self.events.append(json.loads(msg.data))
                except ValueError:
                    pass

            await self.nc.subscribe(self.subject, cb=on_msg)
            await self.nc.flush()
            ready.set()

        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        assert ready.wait(10), "could not subscribe to NATS"
        return self

    def wait_for(self, predicate, timeout: float = 5.0):
        return wait_until(lambda: next((e for e in list(self.events) if predicate(e)), None), timeout=timeout,
                          message=f"no matching event on {self.subject}")

    def __exit__(self, *exc):
        import asyncio

        asyncio.run_coroutine_threadsafe(self.nc.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        return False
