"""Webhooks' HTTP endpoints (API.md §6 "Webhooks", `W/webhooks…`): thin handlers — check the path's
workspace, call the service, return. Workspace admins only; the gateway checks PAT scopes
(`projects:read` for GET, `projects:write` otherwise)."""
from flask import current_app

from libs.common.context import workspace_caller
from libs.common.paging import paged
from libs.common.web import Api

from . import schemas as s
from .catalog import EVENT_TYPES

api = Api("webhooks")
W = "/orgs/<org>/workspaces/<ws>/webhooks"
H = W + "/<webhook_id>"
EVENTS = ", ".join(EVENT_TYPES)


def svc():
    return current_app.extensions["webhooks"]


@api.route(W, "POST", body=s.EndpointIn, response=s.EndpointCreated, status=201,
           summary=f"Create a webhook endpoint: {{url, events?, description?, enabled?}}; events ⊆ {EVENTS} "
                   "(default all); the response's `secret` (whsec_…) is shown only here; a private, loopback "
                   "or link-local target → 400 unless WEBHOOKS_ALLOW_PRIVATE_TARGETS")
def create_webhook(org, ws, body):
    return svc().create(caller=workspace_caller(org, ws), data=body)


@api.route(W, "GET", response=s.EndpointOut(many=True), summary="The workspace's webhook endpoints (no secret)")
def list_webhooks(org, ws):
    return svc().list(caller=workspace_caller(org, ws))


@api.route(H, "GET", response=s.EndpointOut, summary="One webhook endpoint (no secret)")
def get_webhook(org, ws, webhook_id):
    return svc().get(caller=workspace_caller(org, ws), endpoint_id=webhook_id)


@api.route(H, "PATCH", body=s.EndpointPatch, response=s.EndpointOut,
           summary="Change url, events, description or enabled (enabling clears disabledReason)")
def update_webhook(org, ws, webhook_id, body):
    return svc().update(caller=workspace_caller(org, ws), endpoint_id=webhook_id, data=body)


@api.route(H, "DELETE", response=s.Ok, summary="Delete a webhook endpoint and its deliveries")
def delete_webhook(org, ws, webhook_id):
    return svc().delete(caller=workspace_caller(org, ws), endpoint_id=webhook_id)


@api.route(H + "/rotate-secret", "POST", response=s.SecretOut,
           summary="A new secret (shown only here); for 24 h deliveries are signed with the new and the old one")
def rotate_secret(org, ws, webhook_id):
    return svc().rotate(caller=workspace_caller(org, ws), endpoint_id=webhook_id)


@api.route(H + "/ping", "POST", response=s.DeliveryOut,
           summary="Send a `ping` event now; the delivery with its attempt")
def ping_webhook(org, ws, webhook_id):
    return svc().ping(caller=workspace_caller(org, ws), endpoint_id=webhook_id)


@api.route(H + "/deliveries", "GET", query=s.DeliveryQuery, response=s.DeliveryOut(many=True),
           summary="The endpoint's deliveries, newest first (limit 1-200, default 50, + cursor; X-Next-Cursor "
                   "when more remain)")
def list_deliveries(org, ws, webhook_id, query):
    rows, cursor = svc().deliveries(caller=workspace_caller(org, ws), endpoint_id=webhook_id,
                                    limit=query["limit"], cursor=query["cursor"])
    return paged(rows, cursor)


@api.route(H + "/deliveries/<delivery_id>/redeliver", "POST", response=s.DeliveryOut,
           summary="A new attempt of the delivery now (409 while one is in flight); the delivery with it")
def redeliver(org, ws, webhook_id, delivery_id):
    return svc().redeliver(caller=workspace_caller(org, ws), endpoint_id=webhook_id, delivery_id=delivery_id)
