"""What a boards request or job needs, built once per process (after the fork)."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from libs.common.bus import Outbox, SyncNats


@dataclass
class Boards:
    settings: object
    client: object
    db: object
    outbox: Outbox
    bus: SyncNats
    extras: dict = field(default_factory=dict)   # e.g. extras["objects"]: the S3 object store


def boards() -> Boards:
    return current_app.extensions["boards"]
