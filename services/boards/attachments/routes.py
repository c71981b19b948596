"""Attachment endpoints: thin handlers over AttachmentService (see service.py), dumping schemas.py's shapes.

    GET    P/cards/<cardId>/attachments                  [{id, cardId, uploadedBy, originalName, mimeType, size, createdAt}]
    POST   P/cards/<cardId>/attachments                  multipart/form-data, field `file` (≤ MAX_UPLOAD_BYTES) → 201
    GET    P/cards/<cardId>/attachments/<attachmentId>   the bytes, stored MIME type, Content-Disposition: attachment
    DELETE P/cards/<cardId>/attachments/<attachmentId>   {"ok": true}
"""
import unicodedata
from urllib.parse import quote

from flask import Response, request

from libs.common.context import workspace_caller
from libs.common.errors import ApiError
from libs.common.schemas import schema

from ..api import P, api
from ..context import boards
from .schemas import AttachmentOut, OkOut
from .uploads import drain, read_upload

CARD = P + "/cards/<card_id>/attachments"


def svc():
    return boards().attachments


def content_disposition(name: str) -> str:
    """RFC 6266: an ASCII fallback for old clients, the exact name in `filename*` (RFC 5987)."""
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = "".join("_" if c in '"\\' or not c.isprintable() else c for c in fallback).strip() or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@api.route(CARD, "GET", response=AttachmentOut(many=True), summary="List a card's attachments")
def list_attachments(org, ws, project_id, card_id):
    return schema(AttachmentOut, many=True).dump(svc().list(caller=workspace_caller(org, ws), project_id=project_id,
                                                    card_id=card_id))


@api.route(CARD, "POST", status=201, response=AttachmentOut, raw_body=True,
           summary="Upload a file (multipart/form-data, field 'file', 10 MB max)")
def upload_attachment(org, ws, project_id, card_id):
    service = svc()
    try:
        current = workspace_caller(org, ws)
        card = service.card_or_404(caller=current, project_id=project_id, card_id=card_id)
    except ApiError:
        drain(request.stream, service.max_upload_bytes * 4)  # read the body before answering
        raise
    upload = read_upload(request.stream, request.content_type, limit=service.max_upload_bytes)
    try:
        return schema(AttachmentOut).dump(service.create(caller=current, card=card, upload=upload))
    finally:
        upload.close()


@api.route(CARD + "/<attachment_id>", "GET", summary="Download an attachment (the raw bytes)")
def download_attachment(org, ws, project_id, card_id, attachment_id):
    doc, stored = svc().open(caller=workspace_caller(org, ws), project_id=project_id, card_id=card_id,
                             attachment_id=attachment_id)
    response = Response(stored.chunks(), status=200, content_type=doc["mimeType"], direct_passthrough=True)
    response.call_on_close(stored.close)   # HEAD, or a client gone before the first chunk
    response.headers["Content-Length"] = str(stored.length)
    response.headers["Content-Disposition"] = content_disposition(doc["originalName"])
    # Stored types come from the uploader: never let a browser render or sniff them as a page.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=0"
    return response


@api.route(CARD + "/<attachment_id>", "DELETE", response=OkOut, summary="Delete an attachment")
def delete_attachment(org, ws, project_id, card_id, attachment_id):
    svc().delete(caller=workspace_caller(org, ws), project_id=project_id, card_id=card_id,
                 attachment_id=attachment_id)
    return schema(OkOut).dump({"ok": True})
