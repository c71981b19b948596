"""The boards service's one route registry, its path prefixes and the helpers every route module uses."""
import hashlib
import os
import threading
from collections import OrderedDict

from libs.common.context import workspace_caller
from libs.common.web import Api

from .activity import Actor
from .context import boards

api = Api("boards")
W = "/orgs/<org>/workspaces/<ws>"
P = W + "/projects/<project_id>"
C = P + "/cards/<card_id>"


class _Bodies:
    """The last board list body this process served for each (project, path?query), with the
    project's `boardRev` it was built at: a board read of an unchanged board costs the project's read
    and no serialisation. `boardRev` is read before the body is built, so an entry can only be newer
    than its rev, never older. One entry per (project, path): a write makes the previous body
    garbage at once instead of leaving it to age out, so memory follows the boards being read, not
    the writes. Bounded in bytes (BOARDS_BODY_CACHE_MB, 8 MiB by default)."""

    def __init__(self, max_bytes: int = 8 << 20):
        self.max_bytes, self.size = max_bytes, 0
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, where, rev):
        with self.lock:
            entry = self.entries.get(where)
            if entry is None or entry[0] != rev:
                return None
            self.entries.move_to_end(where)
            return entry[1], entry[2]

    def put(self, where, rev, body: bytes, headers: dict) -> None:
        if len(body) > self.max_bytes // 4:
            return
        with self.lock:
            old = self.entries.get(where)
            if old is not None:
                if old[0] >= rev:
                    return
                self.size -= len(old[1])
            self.entries[where] = (rev, body, headers)
            self.entries.move_to_end(where)
            self.size += len(body)
            while self.size > self.max_bytes:
                _, (_, dropped, _) = self.entries.popitem(last=False)
                self.size -= len(dropped)


BODIES = _Bodies(int(float(os.environ.get("BOARDS_BODY_CACHE_MB") or 8) * (1 << 20)))
KEPT_HEADERS = ("X-Next-Cursor",)


def conditional(project: dict, build):
    """A GET of a board's lists with an `ETag`: the project's `boardRev` (bumped by every write to its
    columns and cards, in the writes' own transaction) and the query string. `If-None-Match` with it
    → `304` after one read (the project's); else the body this process last built for that version, or
    `build()` (a dict, list or Response)."""
    from flask import Response, jsonify, request
    rev = project.get("boardRev") or 0
    digest = hashlib.sha1(request.full_path.encode()).hexdigest()[:12]
    tag = f'W/"{project["id"]}.{rev}.{digest}"'
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    wanted = [t.strip() for t in request.headers.get("If-None-Match", "").split(",") if t.strip()]
    if tag in wanted or tag.removeprefix("W/") in wanted or "*" in wanted:
        return Response(status=304, headers=headers)
    where = (project["id"], request.full_path)
    cached = BODIES.get(where, rev)
    if cached is not None:
        return Response(cached[0], status=200, mimetype="application/json", headers=headers | cached[1])
    result = build()
    response = result if isinstance(result, Response) else jsonify(result)
    if response.status_code == 200:
        BODIES.put(where, rev, response.get_data(), {k: response.headers[k] for k in KEPT_HEADERS if k in response.headers})
    response.headers.update(headers)
    return response


def services():
    """This process's boards services (service.py): `services().cards.create(...)`."""
    return boards().services


def who(org: str, ws: str) -> Actor:
    """The caller, checked to be inside the workspace of the path."""
    return Actor.from_caller(workspace_caller(org, ws))

