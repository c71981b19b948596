"""The transactional outbox: a change and the event announcing it commit together; the event reaches
JetStream right after the commit, and nothing polls for it.

    outbox = Outbox(db, bus=SyncNats(settings.nats_url, "boards"))
    with unit_of_work(client) as s:
        cards.insert_one(card, session=s)
        outbox.add(event("boards.card.created", data, caller=caller), session=s)
    # committed: the process's NATS thread publishes the row (Nats-Msg-Id = event id) and deletes it

Three paths, one row format `{_id: event id, subject, envelope, seq, createdAt}`:
- the writer's process publishes each committed row at once (`after_commit` → `bus.relay`), in
  commit order, then deletes what JetStream acknowledged, in one command per batch;
- the service's worker sweeps what a crash, a NATS outage or a lost delete left behind: rows older
  than a grace period, oldest first, every second while it finds some, backing off to
  OUTBOX_SWEEP_MAX_S while it finds none, and at once when NATS comes back (`Worker._sweep_loop`);
- a re-publish (the sweeper racing a slow writer, a delete lost after the publish) carries the same
  `Nats-Msg-Id`: JetStream drops it inside its duplicate window, and consumers skip event ids they
  have processed after that.
Published rows are deleted, so the outbox holds only what is in flight: the sweeper's query (served
by the `seq` index) costs the same after a million events as on the first day.
"""
from __future__ import annotations

import logging
import time

from .mongo import after_commit, now

log = logging.getLogger(__name__)
SWEEP_BATCH = 500


class Outbox:
    """The `outbox` collection of one service's database. `bus` (a SyncNats, or anything with
    `relay(outbox, rows)`) publishes committed rows from this process; without one, the worker's
    sweeper does, after its grace period."""

    def __init__(self, db, bus=None):
        self.col = db["outbox"]
        self.bus = bus

    def ensure_indexes(self) -> None:
        self.col.create_index("seq")
        # The polling relay (before 2026-12) kept published rows with a `published` flag and a TTL
        # index on `publishedAt`: drop that history and its indexes once.
        for name, info in self.col.index_information().items():
            keys = [k for k, _ in info.get("key", [])]
            if "published" in keys or "publishedAt" in keys:
                self.col.drop_index(name)
        self.col.delete_many({"published": True})

    def add(self, envelope: dict, *, session=None) -> dict:
        self.add_many([envelope], session=session)
        return envelope

    def add_many(self, envelopes: list[dict], *, session=None) -> None:
        if not envelopes:
            return
        base = time.time_ns()
        rows = [{"_id": e["id"], "subject": e["type"], "envelope": e, "seq": base + i, "createdAt": now()}
                for i, e in enumerate(envelopes)]
        self.col.insert_many(rows, session=session)
        if self.bus is not None:
            after_commit(session, lambda: self.bus.relay(self, rows))

    def pending(self, *, limit: int = SWEEP_BATCH, older_than_s: float = 0.0) -> list[dict]:
        """What is still unpublished, oldest first, leaving out rows younger than `older_than_s`
        (their writer is publishing them)."""
        cutoff = time.time_ns() - int(older_than_s * 1e9)
        return list(self.col.find({"seq": {"$lt": cutoff}}).sort("seq", 1).limit(limit))

    def delete(self, ids: list[str]) -> None:
        if ids:
            self.col.delete_many({"_id": {"$in": ids}})


async def publish_rows(js, rows: list[dict], *, timeout: float = 2.0) -> tuple[list[str], Exception | None]:
    """Publish rows in order; stop at the first failure. Returns (ids JetStream acknowledged, error)."""
    from . import telemetry
    from .bus import dumps  # the envelope's JSON form lives with the envelope

    done: list[str] = []
    try:
        for row in rows:
            env = row["envelope"]
            headers = {"Nats-Msg-Id": row["_id"]}
            carried = {"traceparent": env["traceparent"]} if env.get("traceparent") else {}
            # traced: a producer span, child of the request that wrote the row, whose context the
            # message carries (the consumer's span is its child); untraced: the request's trace
            with telemetry.span(f"{row['subject']} publish", kind="producer", parent=carried,
                                attributes={"messaging.system": "nats", "messaging.destination.name": row["subject"],
                                            "messaging.message.id": row["_id"]}) as span:
                headers.update(telemetry.inject_headers() if span is not None else carried)
                await js.publish(row["subject"], dumps(env), headers=headers, timeout=timeout)
            done.append(row["_id"])
    except Exception as exc:  # noqa: BLE001 - NATS down or slow: the rest stays for the sweeper
        return done, exc
    return done, None
