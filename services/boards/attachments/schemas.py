"""Response shapes of the attachment endpoints: what the handlers dump (routes.py) and OpenAPI documents."""
from marshmallow import fields

from ..shapes import IsoTime, Out


class AttachmentOut(Out):
    """The reference shape: {id, cardId, uploadedBy, originalName, mimeType, size, createdAt}."""
    id = fields.String()
    cardId = fields.String()
    uploadedBy = fields.String()
    originalName = fields.String()
    mimeType = fields.String()
    size = fields.Integer()
    createdAt = IsoTime(metadata={"format": "date-time"})


class OkOut(Out):
    ok = fields.Boolean()
