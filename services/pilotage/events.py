"""What pilotage publishes (through its outbox) and what it handles.

Published (stream PILOTAGE), the entity as the API renders it in `data`:
    pilotage.mission.created|updated|deleted     {mission}            (+ {changes} on updated)
    pilotage.priority.created|updated|deleted    {priority}           (+ {changes})
    pilotage.todo.created|updated|deleted        {todo}               (+ {changes})
    pilotage.decision.created|updated|deleted    {decision}           (+ {changes})
    pilotage.doc.created|updated|deleted         {doc}                (+ {changes})
    pilotage.action.proposed|reviewed|applied    {action}
    pilotage.action.updated|deleted              {action}
    pilotage.document.created|updated|deleted    {document}           (without `content`: it may be
    pilotage.document.submitted|reviewed         {document}            large; GET it by id when needed)
    pilotage.cycle.updated                       {cycle}
`changes` = {field: {"before": …, "after": …}}.

Example (`pilotage.mission.updated`):
    {"id": "…", "type": "pilotage.mission.updated", "actor": {"userId": "…", "via": "user"},
     "orgId": "…", "workspaceId": "…",
     "data": {"mission": {"id": "…", "objective": "Implement billing module", "module": "billing",
                          "status": "blocked", "blockedReason": "Waiting on API", …},
              "changes": {"status": {"before": "in_progress", "after": "blocked"}, …}}}

Handled (durable consumer "pilotage" on IDENTITY), idempotent:
    identity.workspace.deleted {workspaceId, orgId}     -> delete the workspace's pilotage data
    identity.org.deleted {orgId, slug, workspaceIds}    -> delete the org's pilotage data

Commands answered (cmd.pilotage.<verb>, queue group "pilotage"):
    get_state       {workspaceId, role?, profile?, intent?, detailLevel?}  -> the state (as GET …/pilotage/state)
    propose_action  {workspaceId, orgId, actionType, explanation, payload?, actor}  -> the action
    get_documents   {workspaceId, ids}  -> [document with content] (ids of other workspaces omitted; ≤ 50)
"""
from __future__ import annotations

import logging

from libs.common.bus import Outbox, event
from libs.common.kit import on_tenant_deleted

log = logging.getLogger(__name__)



def publish(outbox: Outbox, subject: str, data: dict, *, caller=None, actor=None, org_id=None,
            workspace_id=None, session=None) -> None:
    outbox.add(event(subject, data, caller=caller, actor=actor, org_id=org_id, workspace_id=workspace_id),
               session=session)


def changes_between(before: dict, after: dict, fields) -> dict:
    return {f: {"before": before.get(f), "after": after.get(f)} for f in fields if before.get(f) != after.get(f)}


def get_documents(documents, payload: dict) -> list[dict]:
    """The workspace's documents among `ids`, in that order (agents' project wizard reads its context)."""
    from libs.common.errors import BadRequest
    from libs.common.mongo import is_id

    from .responses import render_document

    ids = payload.get("ids")
    if not isinstance(payload.get("workspaceId"), str) or not isinstance(ids, list) or len(ids) > 50:
        raise BadRequest("get_documents needs workspaceId and at most 50 ids")
    wanted = [i for i in dict.fromkeys(ids) if is_id(i)]
    found = {d["id"]: d for d in documents.store.find_by_ids("documents", payload["workspaceId"], wanted)}
    return [render_document(found[i]) for i in wanted if i in found]


def register(worker, service, documents=None) -> None:
    """Every subscription and command of the pilotage worker, in one place."""

    on_tenant_deleted(worker, service.store.purge_tenant)
    worker.command("get_state", lambda p: service.state_for(
        workspace_id=p["workspaceId"], role=p.get("role"), profile=p.get("profile"), intent=p.get("intent"),
        detail_level=p.get("detailLevel")))
    worker.command("propose_action", service.propose_from_command)
    if documents is not None:
        worker.command("get_documents", lambda p: get_documents(documents, p))
