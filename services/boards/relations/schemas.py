"""Relations between cards: what a request may send, what an answer holds."""
from __future__ import annotations

from marshmallow import fields

from libs.common.schemas import Enum, StrictSchema

from ..schemas import RELATION_TYPES
from ..shapes import IsoTime, Out

Str, Int, Bool, List, Nested = fields.String, fields.Integer, fields.Boolean, fields.List, fields.Nested


class RelationIn(StrictSchema):
    targetCardId = fields.String(required=True)
    type = Enum(RELATION_TYPES, required=True)


class RelationOut(Out):
    """A relation as seen from one card (`direction`: outgoing from it, or incoming)."""
    id, projectId, sourceCardId, targetCardId = Str(), Str(), Str(), Str()
    type = Str(metadata={"enum": list(RELATION_TYPES)})
    direction = Str(metadata={"enum": ["outgoing", "incoming"]})
    createdAt = IsoTime()
