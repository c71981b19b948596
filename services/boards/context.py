"""What a boards request or job needs, built once per process (after the fork)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from libs.common.bus import Outbox, SyncNats


@dataclass
class Boards:
    settings: object
    client: object
    db: object
    outbox: Outbox
    bus: SyncNats
    services: object = None      # the BoardsService (service.py), set by app.build_context
    objects: object = None       # the S3 object store (attachments/objects.py), set by attachments.setup
    attachments: object = None   # the AttachmentService, set by attachments.setup
    ready: bool = False          # collections and indexes created (app.ensure_indexes)


def boards() -> Boards:
    return current_app.extensions["boards"]
