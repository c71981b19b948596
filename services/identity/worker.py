"""The identity worker: relays the outbox and answers identity commands.

Commands (request/reply on cmd.identity.<verb>, queue group "identity"):
    workspace_member   {workspaceId, userId | email} -> {userId, email, name, role, pilotageRole}  (404 if not a member)
    workspace_members  {workspaceId}                 -> [{userId, email, name, role, pilotageRole}]
    users              {ids: [...]}                  -> [{id, email, name}]
"""
from libs.common.bus import Worker
from libs.common.kit import worker_main
from libs.common.mongo import connect, ensure_in_background

from .app import build_service
from .settings import Settings


def build_worker(config: dict | None = None) -> Worker:
    settings = Settings(config)
    client = connect(settings.mongo_uri, "identity-worker")
    service = build_service(settings, client, "identity-worker")
    ensure_in_background(lambda: (service.store.ensure_indexes(), service.outbox.ensure_indexes()), "identity-worker")
    worker = Worker("identity", settings, client[settings.mongo_db])
    worker.command("workspace_member", lambda p: service.workspace_member(
        workspace_id=p["workspaceId"], user_id=p.get("userId"), email=p.get("email")))
    worker.command("workspace_members", lambda p: service.workspace_members(workspace_id=p["workspaceId"]))
    worker.command("users", lambda p: service.users(ids=list(p.get("ids", []))))
    return worker


def main() -> None:
    worker_main("identity", build_worker)


if __name__ == "__main__":
    main()
