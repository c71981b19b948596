"""The query string and the response schemas of the notifications endpoints.

A notification is shown as `schema(NotificationOut).dump(stored document)`, by the handlers, the stream
and the worker's wake-ups alike: one shape, the one `/openapi.json` declares."""
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from libs.common.schemas import IsoTime, schema

from .service import DEFAULT_LIMIT, MAX_LIMIT


class Flag(fields.Field):
    """"true"/"1" → True, "false"/"0" → False (the reference's `unreadOnly`)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0", ""):
            return False
        raise ValidationError('Must be "true", "1", "false" or "0".')


class ListQuery(Schema):
    """`limit` 1–200 (default 50; over 200 → 400), `unreadOnly`, `cursor` (from X-Next-Cursor).
    Unknown parameters are ignored (cache busters and the like)."""

    class Meta:
        unknown = EXCLUDE

    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    unreadOnly = Flag(load_default=False)
    cursor = fields.String(load_default=None)


ACTIVITY_TYPES = ("card_created", "card_updated", "card_moved", "card_archived", "card_deleted", "card_assigned",
                  "comment_added", "member_added", "member_removed", "automation", "org_member_added")
Str = fields.String


class ActivityOut(Schema):
    """What happened (the reference's {type, actorId, meta, createdAt}), with the context a client needs to
    render and link it without another call."""
    type = Str(metadata={"enum": list(ACTIVITY_TYPES)})
    actorId, actorVia = Str(allow_none=True), Str(allow_none=True)
    meta = fields.Dict(metadata={"description": "per type: card_moved {fromColumn, toColumn, fromColumnId, "
                                                "toColumnId}, card_updated {changes}, card_assigned {assigneeId, "
                                                "previousAssigneeId}, comment_added {commentId, content, truncated}, "
                                                "member_added|member_removed {userId, email}, card_created "
                                                "{columnId}, automation {message, ruleId, ruleName}, "
                                                "org_member_added {orgId, orgSlug, orgName, role}"})
    orgId, workspaceId, projectId = Str(allow_none=True), Str(allow_none=True), Str(allow_none=True)
    projectName, cardId, cardTitle = Str(allow_none=True), Str(allow_none=True), Str(allow_none=True)
    eventId = Str()
    createdAt = IsoTime()


class NotificationOut(Schema):
    """A stored notification ({_id, userId, readAt, activity, createdAt, …}) as the API shows it."""
    id = Str(attribute="_id")
    userId = Str()
    readAt = IsoTime(allow_none=True, dump_default=None)
    activity = fields.Nested(ActivityOut)
    createdAt = IsoTime()


class CountOut(Schema):
    count = fields.Integer()


class ReadAllOut(Schema):
    ok = fields.Boolean()
    updated = fields.Integer()


def notifications_out(docs: list[dict]) -> list[dict]:
    return schema(NotificationOut, many=True).dump(docs)
