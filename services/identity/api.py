"""Identity's one route registry, its path prefix and the helpers every route module uses."""
from flask import current_app, request

from libs.common.context import caller
from libs.common.errors import Forbidden
from libs.common.web import Api

api = Api("identity")
W = "/orgs/<org>/workspaces/<ws>"


def services():
    """This process's identity services (service.py): `services().orgs.create(...)`."""
    return current_app.extensions["identity"]


def client_address() -> str:
    """The client's address as the gateway resolved it (it sets X-Forwarded-For to that one address;
    only the gateway reaches this service)."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    return forwarded.rsplit(",", 1)[-1].strip()[:64] or (request.remote_addr or "")


def system() -> None:
    """Internal endpoints answer the gateway only (its system caller), never a user."""
    if caller().via != "system":
        raise Forbidden("Internal endpoint")
