"""Attachments: bytes in the S3 bucket, metadata in the `attachments` collection.

The seams the rest of boards uses:
    setup(ctx)                 build the S3 object store into ctx.objects (no network at import;
                               the bucket is created in the background) and the service into
                               ctx.attachments
    ensure_indexes(db)         collections and indexes of the attachments module
    register_jobs(worker, ctx) the periodic job deleting queued S3 keys, retried until S3 accepts
The boards core calls `service.schedule_deletions(db, ..., session=s)` when it deletes cards,
a scope, a project, a workspace or an org.
"""
from . import storage
from .objects import ObjectStore
from .service import AttachmentService, process_deletions, schedule_deletions  # noqa: F401

DELETION_JOB_EVERY_S = 1.0
DELETION_JOB_IDLE_MAX_S = 4.0


def setup(ctx) -> None:
    objects = ObjectStore.from_settings(ctx.settings).start()
    ctx.objects = objects
    ctx.attachments = AttachmentService(db=ctx.db, client=ctx.client, objects=objects,
                                                  settings=ctx.settings)


def ensure_indexes(db) -> None:
    storage.ensure_indexes(db)


def register_jobs(worker, ctx) -> None:
    objects = ctx.objects

    def delete_queued_objects():
        stats = process_deletions(ctx.db, objects)
        return stats["deleted"] + stats["failed"]   # nothing due: the job backs off

    # Every second while the queue holds due rows, backing off to DELETION_JOB_IDLE_MAX_S while it
    # holds none (a queued key waits at most that long; deletions are garbage collection).
    worker.every(DELETION_JOB_EVERY_S, delete_queued_objects, idle_max=DELETION_JOB_IDLE_MAX_S)
