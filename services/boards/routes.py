"""Imports every domain module of boards so their routes register on `api`."""
from .attachments import routes as _attachments  # noqa: F401
