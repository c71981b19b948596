"""Imports every domain module of identity so their routes register on `api` (see api.py)."""
from .accounts import routes as _accounts  # noqa: F401
from .invitations import routes as _invitations  # noqa: F401
from .orgs import routes as _orgs  # noqa: F401
from .sessions import routes as _sessions  # noqa: F401
from .tokens import routes as _tokens  # noqa: F401
from .workspaces import routes as _workspaces  # noqa: F401
