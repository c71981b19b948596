"""What identity publishes (through its outbox) — every other service and the gateway follow these.

Subjects and their `data`:
    identity.user.registered        {user: {id, email, name}}
    identity.user.updated           {user: {id, email, name}}
    identity.user.password_changed  {userId}
    identity.org.created|updated    {org: {id, name, slug, ownerId}}
    identity.org.deleted            {orgId, slug, workspaceIds}          <- every service deletes its data
    identity.org_member.added       {orgId, userId, role, orgSlug, orgName}  <- notifications tells the user
    identity.org_member.updated     {orgId, userId, role}
    identity.org_member.removed     {orgId, userId, workspaceIds}
    identity.workspace.created|updated {workspace: {id, orgId, name, slug}}
    identity.workspace.deleted      {workspaceId, orgId}                 <- every service deletes its data
    identity.member.added|updated   {workspaceId, orgId, userId, role, pilotageRole}
    identity.member.removed         {workspaceId, orgId, userId}         <- boards unassigns, drops from projects
    identity.invitation.created     {invitationId, workspaceId, email, role}
    identity.token.created|revoked  {tokenId, userId}
Identity consumes no events. Its commands (cmd.identity.*) are declared in worker.py.
"""
from libs.common.bus import Outbox, event


def publish(outbox: Outbox, subject: str, data: dict, *, caller=None, org_id=None, workspace_id=None,
            session=None, actor=None) -> None:
    outbox.add(event(subject, data, caller=caller, actor=actor, org_id=org_id, workspace_id=workspace_id),
               session=session)
