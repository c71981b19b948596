"""The identity worker: relays the outbox and answers identity commands.

Commands (request/reply on cmd.identity.<verb>, queue group "identity"), each answered by the domain
that owns the data and dumped through its response schema:
    workspace_member   {workspaceId, userId | email} -> {userId, email, name, role, pilotageRole, joinedAt}
                       (404 if not a member)                                    workspaces/members.py
    workspace_members  {workspaceId}                 -> [the same rows]         workspaces/members.py
    users              {ids: [...]}                  -> [{id, email, name}]     accounts/service.py
"""
from libs.common.bus import Worker
from libs.common.kit import worker_main
from libs.common.mongo import connect, ensure_in_background
from libs.common.schemas import schema

from .accounts.schemas import UserOut
from .app import build_services
from .settings import Settings
from .workspaces.schemas import WsMemberOut


def build_worker(config: dict | None = None) -> Worker:
    settings = Settings(config)
    client = connect(settings.mongo_uri, "identity-worker")
    services = build_services(settings, client, "identity-worker")
    ensure_in_background(services.ensure_indexes, "identity-worker")
    worker = Worker("identity", settings, client[settings.mongo_db])
    worker.command("workspace_member", lambda p: schema(WsMemberOut).dump(services.ws_members.get_or_raise(
        workspace_id=p["workspaceId"], user_id=p.get("userId"), email=p.get("email"))))
    worker.command("workspace_members", lambda p: schema(WsMemberOut, many=True).dump(
        services.ws_members.list_of_workspace(workspace_id=p["workspaceId"])))
    worker.command("users", lambda p: schema(UserOut, many=True).dump(services.accounts.list_users(ids=list(p.get("ids", [])))))
    return worker


def main() -> None:
    worker_main("identity", build_worker)


if __name__ == "__main__":
    main()
