"""The base of boards' response schemas: `Out`, the fields they derive values with, `Ok`.

Handlers return `schema(XOut).dump(obj)` of the schema their `api.route(response=...)` declares, so the body
and the OpenAPI document come from the same declaration. `IsoTime` renders a stored date (or the
stand-in's text of one) as the API's `...Z`; `Computed…` fields derive their value from the whole object
(`compute(obj)`) and are documented as the type they are mixed into.
"""
from __future__ import annotations

from datetime import datetime

from marshmallow import Schema, fields

from libs.common.mongo import iso, read_date


class IsoTime(fields.String):
    """A stored datetime (or the stand-in's text of one) as the API's `...Z` text; documented as a string."""

    def _serialize(self, value, attr, obj, **kwargs):
        value = read_date(value)
        return iso(value) if isinstance(value, datetime) else value


class Computed:
    """A field whose value `compute(obj)` derives from the whole object, then dumped (and documented) as
    the field it is mixed into: `ComputedInt(compute=lambda card: progress(card["checklist"]))`."""

    _CHECK_ATTRIBUTE = False

    def __init__(self, *args, compute, **kwargs):
        self.compute = compute
        super().__init__(*args, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(self.compute(obj), attr, obj, **kwargs)


class ComputedInt(Computed, fields.Integer):
    pass


class ComputedList(Computed, fields.List):
    pass


class ComputedDict(Computed, fields.Dict):
    pass


class ComputedTime(Computed, IsoTime):
    pass


class ComputedStr(Computed, fields.String):
    pass


class Out(Schema):
    """The base of boards' response schemas (marshmallow's dump as it is: on 10,000 cards it costs
    ~1.7x the dicts built by hand it replaced, ~0.03 ms a card; a board list body is kept per board
    version, api.conditional)."""


class Ok(Out):
    ok = fields.Boolean()


OK = {"ok": True}
