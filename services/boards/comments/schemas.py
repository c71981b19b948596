"""Comments of a card: what a request may send, what an answer holds."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from libs.common.schemas import StrictSchema

from ..shapes import IsoTime, Out

Str, Int, Bool, List, Nested = fields.String, fields.Integer, fields.Boolean, fields.List, fields.Nested


class CommentIn(StrictSchema):
    content = fields.String(required=True, validate=validate.Length(min=1, max=2000))

    @validates_schema
    def _not_blank(self, data, **kwargs):
        if not data.get("content", "").strip():
            raise ValidationError({"content": ["Must not be blank."]})


class CommentOut(Out):
    id, cardId, projectId, authorId = Str(), Str(), Str(), Str()
    authorName = Str(allow_none=True, dump_default=None)
    content = Str()
    createdAt = IsoTime()
