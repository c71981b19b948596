"""Imports every domain module of boards so their routes register on `api` (see api.py)."""
from .attachments import routes as _attachments  # noqa: F401
from .cards import routes as _cards  # noqa: F401
from .checklists import routes as _checklists  # noqa: F401
from .columns import routes as _columns  # noqa: F401
from .comments import routes as _comments  # noqa: F401
from .fields import routes as _fields  # noqa: F401
from .labels import routes as _labels  # noqa: F401
from .projects import routes as _projects  # noqa: F401
from .relations import routes as _relations  # noqa: F401
from .scopes import routes as _scopes  # noqa: F401
