"""The boards service's one route registry; every domain module registers on it."""
from libs.common.web import Api

api = Api("boards")
W = "/orgs/<org>/workspaces/<ws>"
P = W + "/projects/<project_id>"
