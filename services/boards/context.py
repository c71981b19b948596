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
    services: object = None                      # the BoardsService (service.py), set by app.build_context
    extras: dict = field(default_factory=dict)   # the attachments module's: "objects" (S3), "attachments"


def boards() -> Boards:
    return current_app.extensions["boards"]
