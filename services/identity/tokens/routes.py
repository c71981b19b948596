"""HTTP endpoints: personal access tokens, and their resolution by the gateway (internal)."""
from libs.common.context import caller
from libs.common.schemas import schema

from ..api import api, services, system
from ..schemas import OK, Ok
from .schemas import PatOut, PatResolveIn, TokenCreatedOut, TokenIn, TokenOut


@api.route("/api-tokens", "POST", body=TokenIn, response=TokenCreatedOut, status=201,
           summary="Create a personal access token (JWT only)")
def create_token(body):
    return schema(TokenCreatedOut).dump(services().tokens.create(caller=caller(), name=body["name"], scopes=body["scopes"],
                                                           expires_at=body["expiresAt"]))


@api.route("/api-tokens", "GET", response=TokenOut(many=True), summary="The caller's tokens (without their value)")
def list_tokens():
    return schema(TokenOut, many=True).dump(services().tokens.list_tokens(caller=caller()))


@api.route("/api-tokens/<token_id>", "DELETE", response=Ok, summary="Revoke a token")
def revoke_token(token_id):
    services().tokens.delete(caller=caller(), token_id=token_id)
    return schema(Ok).dump(OK)


@api.route("/internal/pat", "POST", body=PatResolveIn, response=PatOut, tags=["internal"],
           summary="Resolve a PAT by its hash")
def resolve_pat(body):
    system()
    return schema(PatOut).dump(services().tokens.resolve(token_hash=body["hash"]))
