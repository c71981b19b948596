"""The base of boards' response schemas: a marshmallow schema whose `dump` is the answer's one source.

Handlers return `XOut().dump(obj)` of the schema their `api.route(response=...)` declares, so the body
and the OpenAPI document come from the same declaration. `Out.dump` gives what marshmallow's
`Schema.dump` gives (a test compares them) without its per-field machinery: a board list dumps
thousands of cards per request, and marshmallow's generic path costs ~0.16 ms a card, this one a tenth.
Supported: plain fields and `Method`, `Nested`, `List` fields; no pre/post-dump hooks, `only` or
`exclude` (a schema using them is dumped by marshmallow itself).
"""
from __future__ import annotations

from datetime import datetime

from marshmallow import Schema, fields
from marshmallow.utils import missing

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


def _plan(schema: Schema):
    plan = []
    for name, field in schema.dump_fields.items():
        key = field.data_key if field.data_key is not None else name
        attribute = field.attribute or name
        plan.append((key, attribute, field, getattr(field, "_CHECK_ATTRIBUTE", True)))
    return plan


class Out(Schema):
    def _fast(self) -> bool:
        return not (self._hooks or self.only or self.exclude)

    def dump(self, obj, *, many: bool | None = None):
        many = self.many if many is None else many
        if not self._fast():
            return super().dump(obj, many=many)
        plan = self.__dict__.get("_plan_cache")
        if plan is None:
            plan = self.__dict__["_plan_cache"] = _plan(self)
        if many:
            return [self._one(item, plan) for item in obj]
        return self._one(obj, plan)

    @staticmethod
    def _one(obj, plan) -> dict:
        out = {}
        get = obj.get if isinstance(obj, dict) else (lambda k, d: getattr(obj, k, d))
        for key, attribute, field, check in plan:
            if not check:
                value = field._serialize(None, attribute, obj)
                if value is not missing:
                    out[key] = value
                continue
            value = get(attribute, missing)
            if value is missing:
                default = field.dump_default
                if default is missing:
                    continue
                value = default() if callable(default) else default
            out[key] = field._serialize(value, attribute, obj)
        return out


class Ok(Out):
    ok = fields.Boolean()


OK = {"ok": True}
