"""Attachments: bytes in the S3 bucket, metadata in the `attachments` collection.

The seams the rest of boards uses (filled in by the attachments module):
    setup(ctx)                 build the S3 object store into ctx.extras["objects"] (no network at import)
    ensure_indexes(db)         collections and indexes of the attachments module
    register_jobs(worker, ctx) periodic jobs in the boards worker (S3 deletions retried until done)
"""


def setup(ctx) -> None:
    """Filled in by the attachments module."""


def ensure_indexes(db) -> None:
    """Filled in by the attachments module."""


def register_jobs(worker, ctx) -> None:
    """Filled in by the attachments module."""
