"""Announced caches (libs/common/announced.py) on a real NATS and MongoDB-protocol server: what a worker
keeps per key costs no read while it heard every change, and a change made by another process (its
own NATS connection) reaches it; a worker that cannot hear announcements reads every time."""
import subprocess
import time

import pytest
from pymongo import MongoClient, monitoring

from devtools.infra import free_port, nats_cmd, stop_process, wait_tcp
from libs.common.announced import MISSING, AnnouncedCache, announce
from libs.common.bus import SyncNats
from libs.common.mongo import new_id, now
from tests.support import wait_until


class Commands(monitoring.CommandListener):
    def __init__(self):
        self.seen: list[str] = []

    def started(self, event):
        if event.command_name not in {"hello", "isMaster", "ismaster", "ping", "endSessions"}:
            self.seen.append(f"{event.command_name} {event.command.get(event.command_name)}")

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


@pytest.fixture
def buses(stack):
    made = []

    def make(url=None):
        bus = SyncNats(url or stack.env["NATS_URL"], f"announced-test-{len(made)}").start()
        made.append(bus)
        return bus
    yield make
    for bus in made:
        bus.close()


@pytest.fixture
def watched(stack):
    commands = Commands()
    client = MongoClient(stack.env["MONGO_URI"], event_listeners=[commands])
    yield client, commands
    client.close()


def test_a_key_is_trusted_until_another_process_announces_it(buses):
    subject = f"test.announced.{new_id()}"
    reader, writer = buses(), buses()
    cache = AnnouncedCache(reader, subject, recheck_s=60)
    wait_until(lambda: reader.connected and writer.connected, message="both connected")
    ticket = cache.ticket()
    cache.put("p1", ["rule"], ticket)
    cache.put("p2", ["other"], cache.ticket())
    assert cache.get("p1") == ["rule"]

    announce(writer, subject, "p1")
    wait_until(lambda: cache.get("p1") is MISSING, message="p1 forgotten")
    assert cache.get("p2") == ["other"]          # only the key announced

    ticket = cache.ticket()                       # a read that straddles an announcement is not trusted
    announce(writer, subject, "p2")
    wait_until(lambda: cache.stats["announced"] == 2, message="second announcement heard")
    cache.put("p2", ["stale?"], ticket)
    assert cache.get("p2") is MISSING and cache.peek("p2") == ["stale?"]

    cache.put("p3", 1, cache.ticket())
    announce(writer, subject, None)               # "anything may have changed"
    wait_until(lambda: cache.get("p3") is MISSING, message="all forgotten")


def test_nothing_is_trusted_while_disconnected_nor_after_a_reconnection_or_the_recheck(buses, tmp_path):
    port = free_port()
    nats = subprocess.Popen(nats_cmd(tmp_path, port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_tcp(port, proc=nats)
        bus = buses(f"nats://127.0.0.1:{port}")
        cache = AnnouncedCache(bus, "test.announced.outage", recheck_s=60)
        wait_until(lambda: bus.connected, message="connected")
        cache.put("k", 1, cache.ticket())
        assert cache.get("k") == 1

        stop_process(nats)                        # what is announced now cannot be heard
        wait_until(lambda: not bus.connected, message="disconnected")
        assert cache.get("k") is MISSING and cache.peek("k") == 1
        cache.put("k", 2, cache.ticket())
        assert cache.get("k") is MISSING

        nats = subprocess.Popen(nats_cmd(tmp_path, port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
        wait_until(lambda: bus.connected, timeout=20, message="reconnected")
        wait_until(lambda: cache.peek("k") is None, message="forgotten on reconnection")
        cache.put("k", 3, cache.ticket())
        assert cache.get("k") == 3
        bus.close()   # before its server goes: a client left reconnecting would retry for ever
    finally:
        stop_process(nats)

    quick_bus = buses()
    quick = AnnouncedCache(quick_bus, f"test.announced.{new_id()}", recheck_s=0.2)
    wait_until(lambda: quick_bus.connected, message="connected")
    quick.put("k", 1, quick.ticket())
    assert quick.get("k") == 1
    time.sleep(0.3)
    assert quick.get("k") is MISSING


def test_automations_reads_a_projects_rules_once_and_hears_a_rule_created_elsewhere(stack, buses, watched):
    from services.automations.execution import Executor, announce_rule_changes
    from services.automations.settings import Settings
    from services.automations.storage import Stores

    client, commands = watched
    db_name = f"t{new_id()[-6:]}_automations"
    worker_bus, web_bus = buses(), buses()
    worker_stores = Stores(client[db_name])
    worker_stores.ensure_indexes()
    executor = Executor(stores=worker_stores, outbox=None, client=client, bus=worker_bus, settings=Settings({}))
    web_client = MongoClient(stack.env["MONGO_URI"])
    try:
        web_stores = Stores(web_client[db_name])          # the web process: its own client and bus
        announce_rule_changes(web_stores, web_bus)
        wait_until(lambda: worker_bus.connected and web_bus.connected, message="connected")
        project = new_id()

        commands.seen.clear()
        assert executor.rules_of(project) == []
        assert len(commands.seen) == 2                   # the version, then the rules
        commands.seen.clear()
        for _ in range(5):
            assert executor.rules_of(project) == []
        assert commands.seen == []                       # five events, no command

        stamp = now()
        web_stores.rules.insert({"_id": new_id(), "orgId": "o", "workspaceId": "w", "projectId": project,
                                 "name": "r", "trigger": "card_created", "conditions": {}, "enabled": True,
                                 "action": {"type": "archive_card", "params": {}}, "failures": 0,
                                 "createdAt": stamp, "updatedAt": stamp})
        # well inside RULES_RECHECK_S (10 s): heard, not re-read on schedule
        rules = wait_until(lambda: executor.rules_of(project), timeout=4, message="the new rule seen by the worker")
        assert [r["name"] for r in rules] == ["r"]
    finally:
        web_client.close()


def test_webhooks_fanout_reads_a_workspaces_endpoints_once_and_hears_a_change(stack, buses, watched):
    from services.webhooks.fanout import Fanout, announce_endpoint_changes
    from services.webhooks.storage import Stores

    client, commands = watched
    db_name = f"t{new_id()[-6:]}_webhooks"
    worker_bus, web_bus = buses(), buses()
    worker_stores = Stores(client[db_name])
    worker_stores.ensure_indexes()
    fanout = Fanout(stores=worker_stores, bus=worker_bus)
    web_client = MongoClient(stack.env["MONGO_URI"])
    try:
        web_stores = Stores(web_client[db_name])
        announce_endpoint_changes(web_stores, web_bus)
        wait_until(lambda: worker_bus.connected and web_bus.connected, message="connected")
        workspace = new_id()
        event = {"id": new_id(), "type": "boards.card.created", "workspaceId": workspace, "orgId": "o",
                 "data": {"card": {"id": new_id()}}}

        commands.seen.clear()
        assert fanout.handle(event) == 0
        assert len(commands.seen) == 1                   # the workspace's endpoints
        commands.seen.clear()
        for _ in range(5):
            assert fanout.handle(dict(event, id=new_id())) == 0
        assert commands.seen == []

        stamp = now()
        endpoint = web_stores.endpoints.insert({
            "_id": new_id(), "orgId": "o", "workspaceId": workspace, "url": "https://example.com/h",
            "events": ["card_created"], "enabled": True, "secrets": [], "failedRun": 0,
            "createdAt": stamp, "updatedAt": stamp})
        wait_until(lambda: fanout.handle(dict(event, id=new_id())) == 1, timeout=4,   # < ENDPOINTS_RECHECK_S
                   message="the new endpoint used")
        web_stores.endpoints.update(workspace, endpoint["id"], {"enabled": False})
        wait_until(lambda: fanout.handle(dict(event, id=new_id())) == 0, timeout=4,
                   message="the disabled endpoint left out")
    finally:
        web_client.close()
