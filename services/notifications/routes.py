"""The notifications endpoints: every query is scoped by the caller's user id. Each handler returns the
dump of the response schema its route declares (schemas.py)."""
from flask import Response, current_app, request

from libs.common.asyncweb import AsyncBody
from libs.common.context import caller
from libs.common.paging import paged
from libs.common.web import Api, sse_event
from libs.common.schemas import schema

from . import schemas as s
from .stream import LIVE_SUBJECT, event_stream, parse_last_event_id

api = Api("notifications")


def svc():
    return current_app.extensions["notifications"]


@api.route("/notifications", "GET", query=s.ListQuery, response=s.NotificationOut(many=True),
           summary="The caller's notifications, newest first (X-Next-Cursor when more remain)")
def list_notifications(query):
    docs, next_cursor = svc().list(caller=caller(), limit=query["limit"], unread_only=query["unreadOnly"],
                                   cursor=query["cursor"])
    return paged(schema(s.NotificationOut, many=True).dump(docs), next_cursor)


def _touch(user_id: str) -> None:
    """A read changed the unread count: every web process's streams of this user re-read it (over
    NATS; this process's at once, even while NATS is away)."""
    current_app.extensions["notifications_live"].touch(user_id)
    current_app.extensions["bus"].publish(f"{LIVE_SUBJECT}.{user_id}", {"ids": []})


@api.route("/notifications/count", "GET", response=s.CountOut, summary="Number of unread notifications")
def count():
    return schema(s.CountOut).dump(svc().count(caller=caller()))


@api.route("/notifications/read-all", "PATCH", response=s.ReadAllOut, summary="Mark all notifications as read")
def read_all():
    result = svc().read_all(caller=caller())
    _touch(caller().user_id)
    return schema(s.ReadAllOut).dump(result)


@api.route("/notifications/<notification_id>/read", "PATCH", response=s.NotificationOut,
           summary="Mark one notification as read")
def read(notification_id):
    doc = svc().read(caller=caller(), notification_id=notification_id)
    _touch(caller().user_id)
    return schema(s.NotificationOut).dump(doc)


@api.route("/notifications/stream", "GET", errors=(429,),
           sse=sse_event({"notification": "a new notification, JSON as a row of GET /notifications",
                          "count": 'the unread count, JSON {"count": n}, sent as the stream opens and on each change'}),
           summary="Server-Sent Events of new notifications and the unread count (Last-Event-ID resumes; 429 "
                   "beyond the gateway's open streams per user or token)")
def stream():
    user_id = caller().user_id
    settings = current_app.config["SETTINGS"]
    live = current_app.extensions["notifications_live"]
    last = parse_last_event_id(request.headers.get("Last-Event-ID") or request.args.get("lastEventId"))
    store = svc().store
    body = AsyncBody(lambda: event_stream(store=store, hub=live, user_id=user_id, last_event_id=last,
                                          heartbeat_s=settings.stream_heartbeat, max_age_s=settings.stream_max_age))
    return Response(body, mimetype="text/event-stream", direct_passthrough=True,
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
