"""The boards service's one route registry, its path prefixes and the helpers every route module uses."""
import hashlib

from libs.common.context import workspace_caller
from libs.common.web import Api

from .activity import Actor
from .context import boards

api = Api("boards")
W = "/orgs/<org>/workspaces/<ws>"
P = W + "/projects/<project_id>"
C = P + "/cards/<card_id>"


def conditional(project: dict, build):
    """A GET of a board's lists with an `ETag`: the project's `boardRev` (bumped by every write to its
    columns and cards, in the writes' own transaction) and the query string. `If-None-Match` with it
    → `304` after one read (the project's); else `build()` (a dict, list or Response)."""
    from flask import Response, jsonify, request
    digest = hashlib.sha1(request.full_path.encode()).hexdigest()[:12]
    tag = f'W/"{project["id"]}.{project.get("boardRev") or 0}.{digest}"'
    wanted = [t.strip() for t in request.headers.get("If-None-Match", "").split(",") if t.strip()]
    if tag in wanted or tag.removeprefix("W/") in wanted or "*" in wanted:
        return Response(status=304, headers={"ETag": tag, "Cache-Control": "no-cache"})
    result = build()
    response = result if isinstance(result, Response) else jsonify(result)
    response.headers["ETag"] = tag
    response.headers["Cache-Control"] = "no-cache"
    return response


def svc():
    """The request's `BoardsService`."""
    return boards().extras["service"]


def who(org: str, ws: str) -> Actor:
    """The caller, checked to be inside the workspace of the path."""
    return Actor.from_caller(workspace_caller(org, ws))

