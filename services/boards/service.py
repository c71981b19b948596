"""The boards core's service: one `BoardsService` composed of each domain's mixin.

Domains (each a package with `routes.py` — thin HTTP handlers — and `service.py` — its mixin):
projects (members, templates, portfolio; import/export in `projects/transfer.py`), columns, cards (moves, comments, checklists),
labels, fields (custom fields), relations, scopes (and views). They share one store (`storage.py`,
the only pymongo code), the activity events (`activity.py`) and pure rules (`domain.py`).

Service functions take keyword-only arguments and an `Actor` (the request's caller or a command's
actor, always bound to one workspace); they return the API's JSON shapes. Every query is scoped by
the actor's workspace id, so an id from another workspace or project is a 404. Every change other
services must hear about records its event in the outbox inside the same unit of work.
"""
from __future__ import annotations

import time

from pymongo.errors import PyMongoError

from libs.common.mongo import unit_of_work

from .cards.service import CardsMixin
from .columns.service import ColumnsMixin
from .fields.service import FieldsMixin
from .labels.service import LabelsMixin
from .projects.service import ProjectsMixin
from .projects.transfer import TransferMixin
from .relations.service import RelationsMixin
from .scopes.service import ScopesMixin
from .storage import BoardsStore


class BoardsService(ProjectsMixin, TransferMixin, ColumnsMixin, CardsMixin, LabelsMixin, FieldsMixin, RelationsMixin,
                    ScopesMixin):
    def __init__(self, *, store: BoardsStore, outbox, client, bus, db):
        self.store = store
        self.outbox = outbox
        self.client = client
        self.bus = bus          # SyncNats: identity's commands (workspace membership)
        self.db = db

    def transaction(self, work, attempts: int = 5):
        """`work(session)` in one unit of work, run again when MongoDB aborts it for a write conflict
        (TransientTransactionError). Board-structure writes first `lock_board` the project so that
        concurrent moves, creations and deletions in one project serialise instead of racing on orders."""
        for attempt in range(attempts):
            try:
                with unit_of_work(self.client) as s:
                    return work(s)
            except PyMongoError as exc:
                if attempt + 1 < attempts and exc.has_error_label("TransientTransactionError"):
                    time.sleep(0.005 * 2 ** attempt)
                    continue
                raise
