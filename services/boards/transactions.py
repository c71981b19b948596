"""Units of work of the boards services (one `Transactions` per process, handed to each service)."""
from __future__ import annotations

import time

from pymongo.errors import PyMongoError

from libs.common.mongo import unit_of_work


class Transactions:
    def __init__(self, client):
        self.client = client

    def unit(self):
        """`with tx.unit() as s:` one MongoDB transaction (libs.common.mongo.unit_of_work)."""
        return unit_of_work(self.client)

    def run(self, work, attempts: int = 5):
        """`work(session)` in one unit of work, run again when MongoDB aborts it for a write conflict
        (TransientTransactionError). Board-structure writes first lock the project (`ProjectStore.lock_board`)
        so that concurrent moves, creations and deletions in one project serialise instead of racing."""
        for attempt in range(attempts):
            try:
                with unit_of_work(self.client) as s:
                    return work(s)
            except PyMongoError as exc:
                if attempt + 1 < attempts and exc.has_error_label("TransientTransactionError"):
                    time.sleep(0.005 * 2 ** attempt)
                    continue
                raise
