"""HTTP endpoints: invitations (to a workspace; accepting any)."""
from libs.common.context import caller
from libs.common.schemas import schema

from ..api import W, api, services
from .schemas import AcceptedOut, InvitationOut, InviteIn


@api.route(W + "/members/invite", "POST", body=InviteIn, response=InvitationOut, status=201, errors=(409,),
           summary="Invite someone by email (admin)")
def invite(org, ws, body):
    return schema(InvitationOut).dump(services().invitations.create(
        caller=caller(), org_slug=org, ws_slug=ws, email=body["email"], role=body["role"],
        pilotage_role=body["pilotageRole"]))


@api.route("/invitations/<token>/accept", "POST", response=AcceptedOut, errors=(409,),
           summary="Accept an invitation (to a workspace, or to an organization)")
def accept_invitation(token):
    return schema(AcceptedOut).dump(services().invitations.accept(caller=caller(), token=token))
