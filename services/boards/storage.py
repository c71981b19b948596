"""Boards' collections and indexes (filled in by the boards core)."""


def ensure_indexes(db) -> None:
    """Create collections and indexes at start-up (a transaction cannot create a collection)."""
