"""Attachments: domain logic. Bytes go to S3, metadata to `attachments`, and objects are only ever
deleted through the `s3_deletions` queue, so a crash or an S3 outage never orphans nor loses one.

Upload: queue a guard deletion of the new key (due in 15 min), PUT the object, then in one unit of
work insert the metadata, $inc the card's attachmentCount and remove the guard. If the process dies
between the PUT and the commit, the guard deletes the orphan later; if the unit of work fails, the
object is deleted at once (or queued when S3 refuses) — unless reading back shows the commit landed
after all (MongoDB's "unknown commit result"), which is then a success.
Delete: in one unit of work remove the metadata, $dec the count and queue the key; then try to
delete the object right away, leaving the row to the worker if S3 refuses.
The worker never deletes a key that an attachment still references.
"""
from __future__ import annotations

import logging

from libs.common.errors import NotFound, ServiceUnavailable
from libs.common.mongo import is_id, new_id, now, unit_of_work

from .objects import ObjectMissing, ObjectStoreError
from .storage import AttachmentStore, deletion_row

log = logging.getLogger(__name__)

UPLOAD_GUARD_S = 15 * 60          # an upload that never committed is deleted after this
# Queued rows are only taken after this delay: on the embedded Mongo stand-in, reads
# outside a transaction see its uncommitted writes, so a row of a transaction that later aborts
# must not be acted on at once. (MongoDB proper never shows them.)
QUEUE_GRACE_S = 1.0
CLAIM_LEASE_S = 60
MAX_BACKOFF_S = 300


def object_key(card: dict, attachment_id: str) -> str:
    return f"{card['orgId']}/{card['workspaceId']}/{card['projectId']}/{card['id']}/{attachment_id}"


def backoff_s(attempts: int) -> float:
    """1, 2, 4, … seconds after each failed attempt, capped at 5 minutes."""
    return float(min(2 ** max(attempts - 1, 0), MAX_BACKOFF_S))


def schedule_deletions(db, *, card_ids=None, project_id=None, workspace_id=None, org_id=None,
                       session=None) -> int:
    """Remove the attachments of some cards / a project / a workspace / an org and queue their
    objects for deletion, in the caller's transaction (`session`). Filters given together must all
    match. Returns how many attachments were removed.

        with unit_of_work(client) as s:
            db.cards.delete_many({"_id": {"$in": ids}, "workspaceId": ws}, session=s)
            schedule_deletions(db, card_ids=ids, workspace_id=ws, session=s)
    """
    query: dict = {}
    if card_ids is not None:
        query["cardId"] = {"$in": list(card_ids)}
    if project_id is not None:
        query["projectId"] = project_id
    if workspace_id is not None:
        query["workspaceId"] = workspace_id
    if org_id is not None:
        query["orgId"] = org_id
    if not query:
        raise ValueError("schedule_deletions needs card_ids, project_id, workspace_id or org_id")
    if card_ids is not None and not query["cardId"]["$in"]:
        return 0
    store = AttachmentStore(db)
    found = store.keys_matching(query, session=session)
    if not found:
        return 0
    store.queue([deletion_row(key, reason="cascade", delay_s=QUEUE_GRACE_S) for _, key in found], session=session)
    return store.delete_ids([attachment_id for attachment_id, _ in found], session=session)


def process_deletions(db, objects, *, limit: int = 100) -> dict:
    """One pass of the worker job: delete due keys from S3; a row goes away only once S3 accepted.
    On failure: attempts+1, lastError, nextAt pushed back (1 s, 2 s, 4 s … 5 min), and the pass
    stops there (S3 is likely down; the next pass, a second later, goes on with the other rows). Returns {"deleted", "failed"}."""
    store = AttachmentStore(db)
    stats = {"deleted": 0, "failed": 0}
    for row in store.due(limit=limit):
        claimed = store.claim(row, lease_s=CLAIM_LEASE_S)
        if claimed is None:
            continue
        if store.key_referenced(claimed["key"]):
            # Metadata still points at it (an aborted cascade seen early): never lose a live object.
            log.warning("s3 deletion of %s skipped: still referenced by an attachment", claimed["key"])
            store.unqueue(claimed["_id"])
            continue
        try:
            objects.delete(claimed["key"])
        except ObjectStoreError as exc:
            attempts = int(claimed.get("attempts") or 0) + 1
            store.failed(claimed["_id"], attempts=attempts, retry_in_s=backoff_s(attempts), error=str(exc))
            stats["failed"] += 1
            log.warning("s3 deletion of %s failed (attempt %d): %s", claimed["key"], attempts, exc)
            break
        store.unqueue(claimed["_id"])
        stats["deleted"] += 1
    return stats


class AttachmentService:
    def __init__(self, *, db, client, objects, settings):
        self.db = db
        self.client = client
        self.objects = objects
        self.store = AttachmentStore(db)
        self.max_upload_bytes = settings.max_upload_bytes

    # ---- scope
    def card_or_404(self, *, caller, project_id: str, card_id: str) -> dict:
        if not (is_id(project_id) and is_id(card_id)):
            raise NotFound("Card not found")
        card = self.store.find_card(card_id=card_id, project_id=project_id, workspace_id=caller.workspace_id)
        if card is None:
            raise NotFound("Card not found")
        return card

    # ---- endpoints
    def list(self, *, caller, project_id: str, card_id: str) -> list[dict]:
        card = self.card_or_404(caller=caller, project_id=project_id, card_id=card_id)
        return self.store.list_for_card(card_id=card["id"], workspace_id=caller.workspace_id)

    def create(self, *, caller, card: dict, upload) -> dict:
        """Store an upload (already spooled and size-checked) on `card`."""
        attachment_id = new_id()
        key = object_key(card, attachment_id)
        guard = deletion_row(key, reason="upload", delay_s=UPLOAD_GUARD_S)
        self.store.queue([guard])
        try:
            self.objects.put(key, upload.file, size=upload.size, content_type=upload.mime_type)
        except ObjectStoreError as exc:
            self.store.make_due(guard["_id"])  # a partial write, if any, is cleaned up by the worker
            log.warning("upload of %s failed: %s", key, exc)
            raise ServiceUnavailable("File storage is unavailable") from exc
        doc = {"_id": attachment_id, "orgId": card["orgId"], "workspaceId": card["workspaceId"],
               "projectId": card["projectId"], "cardId": card["id"], "uploadedBy": caller.user_id,
               "originalName": upload.filename, "mimeType": upload.mime_type, "size": upload.size,
               "key": key, "createdAt": now()}
        try:
            with unit_of_work(self.client) as s:
                if not self.store.bump_count(card_id=card["id"], project_id=card["projectId"],
                                             workspace_id=card["workspaceId"], by=1, session=s):
                    raise NotFound("Card not found")
                self.store.insert(doc, session=s)
                self.store.unqueue(guard["_id"], session=s)
        except BaseException:
            saved = self.store.get_by_id(attachment_id)
            if saved is None:
                self._discard(key, guard["_id"])
                raise
            # The commit reported an error but landed (MongoDB's unknown commit result; the embedded
            # stand-in does this under concurrent transactions): the upload succeeded.
            log.warning("unit of work for attachment %s raised, yet its metadata is stored", attachment_id)
            self.store.unqueue(guard["_id"])
            return saved
        return self.store.get_by_id(attachment_id) or {**doc, "id": attachment_id}

    def _discard(self, key: str, guard_id: str) -> None:
        """The metadata was not written: delete the object now, or have the worker do it."""
        try:
            self.objects.delete(key)
            self.store.unqueue(guard_id)
        except Exception as exc:  # noqa: BLE001 - the queue retries; the original error wins
            log.warning("could not delete orphan %s now (%s); queued", key, exc)
            try:   # a fresh row due now (the guard may have gone with a half-applied transaction)
                self.store.queue([deletion_row(key, reason="upload-failed")])
                self.store.unqueue(guard_id)
            except Exception:  # noqa: BLE001 - the guard, if still there, fires after UPLOAD_GUARD_S
                log.exception("could not queue deletion of %s", key)

    def open(self, *, caller, project_id: str, card_id: str, attachment_id: str):
        """The metadata and the S3 object (its body not read yet) of one attachment."""
        card = self.card_or_404(caller=caller, project_id=project_id, card_id=card_id)
        doc = self.store.get(attachment_id=attachment_id, card_id=card["id"],
                             workspace_id=caller.workspace_id) if is_id(attachment_id) else None
        if doc is None:
            raise NotFound("Attachment not found")
        try:
            stored = self.objects.get(doc["key"])
        except ObjectMissing as exc:
            log.error("attachment %s has no object at %s", doc["id"], doc["key"])
            raise NotFound("Attachment content not found") from exc
        except ObjectStoreError as exc:
            raise ServiceUnavailable("File storage is unavailable") from exc
        return doc, stored

    def delete(self, *, caller, project_id: str, card_id: str, attachment_id: str) -> None:
        card = self.card_or_404(caller=caller, project_id=project_id, card_id=card_id)
        doc = self.store.get(attachment_id=attachment_id, card_id=card["id"],
                             workspace_id=caller.workspace_id) if is_id(attachment_id) else None
        if doc is None:
            raise NotFound("Attachment not found")
        row = deletion_row(doc["key"], reason="delete", delay_s=QUEUE_GRACE_S)
        try:
            with unit_of_work(self.client) as s:
                if self.store.delete_one(attachment_id=doc["id"], card_id=card["id"],
                                         workspace_id=caller.workspace_id, session=s) is None:
                    raise NotFound("Attachment not found")   # deleted concurrently
                self.store.bump_count(card_id=card["id"], project_id=card["projectId"],
                                      workspace_id=card["workspaceId"], by=-1, session=s)
                self.store.queue([row], session=s)
        except NotFound:
            raise
        except Exception:
            if self.store.get_by_id(doc["id"]) is not None:
                raise
            # The metadata is gone: the commit landed despite the error. Make sure the key is queued.
            log.warning("unit of work deleting attachment %s raised, yet it is gone", doc["id"])
            row = deletion_row(doc["key"], reason="delete")
            self.store.queue([row])
        try:   # committed: try now so the object is gone when we answer; the worker retries otherwise
            self.objects.delete(doc["key"])
            self.store.unqueue(row["_id"])
        except ObjectStoreError as exc:
            log.warning("deletion of %s deferred to the worker: %s", doc["key"], exc)
