"""The boards service's one route registry, its path prefixes and the helpers every route module uses."""
from libs.common.context import workspace_caller
from libs.common.web import Api

from .activity import Actor
from .context import boards

api = Api("boards")
W = "/orgs/<org>/workspaces/<ws>"
P = W + "/projects/<project_id>"
C = P + "/cards/<card_id>"


def svc():
    """The request's `BoardsService`."""
    return boards().extras["service"]


def who(org: str, ws: str) -> Actor:
    """The caller, checked to be inside the workspace of the path."""
    return Actor.from_caller(workspace_caller(org, ws))

