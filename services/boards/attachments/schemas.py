"""Response shape of the attachment endpoints (documents the OpenAPI; dicts are built in service.py)."""
from marshmallow import Schema, fields


class AttachmentOut(Schema):
    id = fields.String()
    cardId = fields.String()
    uploadedBy = fields.String()
    originalName = fields.String()
    mimeType = fields.String()
    size = fields.Integer()
    createdAt = fields.String(metadata={"format": "date-time"})


class OkOut(Schema):
    ok = fields.Boolean()
