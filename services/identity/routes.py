"""Identity's HTTP endpoints: thin handlers — load through the schema, call the service, return."""
from flask import current_app, request

from libs.common.context import caller
from libs.common.errors import Forbidden
from libs.common.web import Api

from . import schemas as s

api = Api("identity")
W = "/orgs/<org>/workspaces/<ws>"


def svc():
    return current_app.extensions["identity"]


def client_address() -> str:
    """The client's address as the gateway resolved it (it sets X-Forwarded-For to that one address;
    only the gateway reaches this service)."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    return forwarded.rsplit(",", 1)[-1].strip()[:64] or (request.remote_addr or "")


# ---------------------------------------------------------------- auth
@api.route("/auth/register", "POST", body=s.RegisterIn, status=201, public=True, summary="Create an account")
def register(body):
    return svc().register(email=body["email"], password=body["password"], name=body["name"])


@api.route("/auth/login", "POST", body=s.LoginIn, public=True, summary="Log in and receive a JWT")
def login(body):
    return svc().login(email=body["email"], password=body["password"], address=client_address())


@api.route("/auth/me", "GET", summary="The current user's profile")
def me():
    return svc().me(caller=caller())


@api.route("/auth/me", "PATCH", body=s.ProfileIn, summary="Update the current user's profile")
def update_me(body):
    return svc().update_me(caller=caller(), data=body)


@api.route("/auth/change-password", "POST", body=s.ChangePasswordIn, summary="Change the current user's password")
def change_password(body):
    return svc().change_password(caller=caller(), current=body["currentPassword"], new=body["newPassword"],
                                 address=client_address())


# ---------------------------------------------------------------- organizations
@api.route("/organizations", "POST", body=s.OrgIn, status=201, summary="Create an organization")
def create_org(body):
    return svc().create_org(caller=caller(), name=body["name"], slug=body["slug"])


@api.route("/organizations", "GET", summary="Organizations the caller belongs to")
def list_orgs():
    return svc().list_orgs(caller=caller())


@api.route("/organizations/<org>", "GET", summary="An organization by slug")
def get_org(org):
    return svc().get_org(caller=caller(), slug=org)


@api.route("/organizations/<org>", "PATCH", body=s.OrgPatch, summary="Rename an organization or change its slug")
def update_org(org, body):
    return svc().update_org(caller=caller(), slug=org, data=body)


@api.route("/organizations/<org>", "DELETE", summary="Delete an organization and everything in it (owner)")
def delete_org(org):
    return svc().delete_org(caller=caller(), slug=org)


@api.route("/organizations/<org>/members", "GET", summary="Members of an organization with their roles")
def list_org_members(org):
    return svc().list_org_members(caller=caller(), slug=org)


@api.route("/organizations/<org>/members", "POST", body=s.OrgMemberIn, status=201,
           summary="Add someone by email: a registered user becomes a member (and is notified), another "
                   "address gets an invitation; the answer is the same either way")
def add_org_member(org, body):
    return svc().add_org_member(caller=caller(), slug=org, email=body["email"], role=body["role"])


@api.route("/organizations/<org>/members/<user_id>", "PATCH", body=s.OrgMemberPatch, summary="Change a member's role")
def update_org_member(org, user_id, body):
    return svc().update_org_member(caller=caller(), slug=org, user_id=user_id, role=body["role"])


@api.route("/organizations/<org>/members/<user_id>", "DELETE", summary="Remove a member from the organization")
def remove_org_member(org, user_id):
    return svc().remove_org_member(caller=caller(), slug=org, user_id=user_id)


# ---------------------------------------------------------------- workspaces
@api.route("/orgs/<org>/workspaces", "POST", body=s.WorkspaceIn, status=201, summary="Create a workspace")
def create_workspace(org, body):
    return svc().create_workspace(caller=caller(), org_slug=org, name=body["name"], slug=body["slug"])


@api.route("/orgs/<org>/workspaces", "GET", summary="Workspaces of the organization the caller belongs to")
def list_workspaces(org):
    return svc().list_workspaces(caller=caller(), org_slug=org)


@api.route(W, "GET", summary="A workspace by slug")
def get_workspace(org, ws):
    return svc().get_workspace(caller=caller(), org_slug=org, ws_slug=ws)


@api.route(W, "PATCH", body=s.WorkspacePatch, summary="Rename a workspace or change its slug (admin)")
def update_workspace(org, ws, body):
    return svc().update_workspace(caller=caller(), org_slug=org, ws_slug=ws, data=body)


@api.route(W, "DELETE", summary="Delete a workspace and everything in it (admin)")
def delete_workspace(org, ws):
    return svc().delete_workspace(caller=caller(), org_slug=org, ws_slug=ws)


@api.route(W + "/members", "GET", summary="Members of a workspace with their roles")
def list_ws_members(org, ws):
    return svc().list_ws_members(caller=caller(), org_slug=org, ws_slug=ws)


@api.route(W + "/members/invite", "POST", body=s.InviteIn, status=201, summary="Invite someone by email (admin)")
def invite(org, ws, body):
    return svc().invite(caller=caller(), org_slug=org, ws_slug=ws, email=body["email"], role=body["role"],
                        pilotage_role=body["pilotageRole"])


@api.route("/invitations/<token>/accept", "POST", summary="Accept a workspace invitation")
def accept_invitation(token):
    return svc().accept_invitation(caller=caller(), token=token)


@api.route(W + "/members/<user_id>", "PATCH", body=s.WsMemberPatch,
           summary="Change a member's workspace role and/or pilotage role (admin)")
def update_ws_member(org, ws, user_id, body):
    return svc().update_ws_member(caller=caller(), org_slug=org, ws_slug=ws, user_id=user_id, data=body)


@api.route(W + "/members/<user_id>", "DELETE", summary="Remove a member from the workspace (admin, or yourself)")
def remove_ws_member(org, ws, user_id):
    return svc().remove_ws_member(caller=caller(), org_slug=org, ws_slug=ws, user_id=user_id)


# ---------------------------------------------------------------- API tokens
@api.route("/api-tokens", "POST", body=s.TokenIn, status=201, summary="Create a personal access token (JWT only)")
def create_token(body):
    return svc().create_token(caller=caller(), name=body["name"], scopes=body["scopes"], expires_at=body["expiresAt"])


@api.route("/api-tokens", "GET", summary="The caller's tokens (without their value)")
def list_tokens():
    return svc().list_tokens(caller=caller())


@api.route("/api-tokens/<token_id>", "DELETE", summary="Revoke a token")
def revoke_token(token_id):
    return svc().revoke_token(caller=caller(), token_id=token_id)


# ---------------------------------------------------------------- internal (gateway only, not routed publicly)
def _system():
    if caller().via != "system":
        raise Forbidden("Internal endpoint")


@api.route("/internal/principal", "GET", query=s.PrincipalQuery, tags=["internal"], summary="Resolve a caller")
def principal(query):
    _system()
    return svc().principal(user_id=query["userId"], org_slug=query["org"], ws_slug=query["ws"])


@api.route("/internal/pat", "POST", body=s.PatResolveIn, tags=["internal"], summary="Resolve a PAT by its hash")
def resolve_pat(body):
    _system()
    return svc().resolve_pat(token_hash=body["hash"])
