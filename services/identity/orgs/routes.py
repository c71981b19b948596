"""HTTP endpoints: organizations and their members."""
from libs.common.context import caller
from libs.common.schemas import schema

from ..api import api, services
from ..schemas import OK, Ok
from .schemas import OrgIn, OrgMemberAddedOut, OrgMemberIn, OrgMemberOut, OrgMemberPatch, OrgOut, OrgPatch


@api.route("/organizations", "POST", body=OrgIn, response=OrgOut, status=201, errors=(409,),
           summary="Create an organization")
def create_org(body):
    return schema(OrgOut).dump(services().orgs.create(caller=caller(), name=body["name"], slug=body["slug"]))


@api.route("/organizations", "GET", response=OrgOut(many=True), summary="Organizations the caller belongs to")
def list_orgs():
    return schema(OrgOut, many=True).dump(services().orgs.list_orgs(caller=caller()))


@api.route("/organizations/<org>", "GET", response=OrgOut, summary="An organization by slug")
def get_org(org):
    return schema(OrgOut).dump(services().orgs.get_or_raise(caller=caller(), slug=org))


@api.route("/organizations/<org>", "PATCH", body=OrgPatch, response=OrgOut, errors=(409,),
           summary="Rename an organization or change its slug")
def update_org(org, body):
    return schema(OrgOut).dump(services().orgs.update(caller=caller(), slug=org, data=body))


@api.route("/organizations/<org>", "DELETE", response=Ok, errors=(409,),
           summary="Delete an organization and everything in it (owner)")
def delete_org(org):
    services().orgs.delete(caller=caller(), slug=org)
    return schema(Ok).dump(OK)


@api.route("/organizations/<org>/members", "GET", response=OrgMemberOut(many=True),
           summary="Members of an organization with their roles")
def list_org_members(org):
    return schema(OrgMemberOut, many=True).dump(services().org_members.list_members(caller=caller(), slug=org))


@api.route("/organizations/<org>/members", "POST", body=OrgMemberIn, response=OrgMemberAddedOut, status=201,
           errors=(409,),
           summary="Add someone by email: a registered user becomes a member (and is notified), another "
                   "address gets an invitation; the answer is the same either way")
def add_org_member(org, body):
    return schema(OrgMemberAddedOut).dump(services().org_members.create(caller=caller(), slug=org, email=body["email"],
                                                                  role=body["role"]))


@api.route("/organizations/<org>/members/<user_id>", "PATCH", body=OrgMemberPatch, response=OrgMemberOut,
           summary="Change a member's role")
def update_org_member(org, user_id, body):
    return schema(OrgMemberOut).dump(services().org_members.update(caller=caller(), slug=org, user_id=user_id,
                                                             role=body["role"]))


@api.route("/organizations/<org>/members/<user_id>", "DELETE", response=Ok, errors=(409,),
           summary="Remove a member from the organization (admin, or yourself)")
def remove_org_member(org, user_id):
    services().org_members.delete(caller=caller(), slug=org, user_id=user_id)
    return schema(Ok).dump(OK)
