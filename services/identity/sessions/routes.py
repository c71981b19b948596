"""HTTP endpoints: sessions (login) and the principal the gateway resolves (internal)."""
from libs.common.schemas import schema
from ..api import api, client_address, services, system
from .schemas import LoginIn, PrincipalOut, PrincipalQuery, SessionOut


@api.route("/auth/login", "POST", body=LoginIn, response=SessionOut, public=True, errors=(429,),
           summary="Log in and receive a JWT (failed attempts are throttled: 429 with Retry-After)")
def login(body):
    return schema(SessionOut).dump(services().sessions.create(email=body["email"], password=body["password"],
                                                        address=client_address()))


@api.route("/internal/principal", "GET", query=PrincipalQuery, response=PrincipalOut, tags=["internal"],
           summary="Resolve a caller")
def principal(query):
    system()
    return schema(PrincipalOut).dump(services().sessions.principal(user_id=query["userId"], org_slug=query["org"],
                                                             ws_slug=query["ws"]))
