"""One cursor codec and one paged response for every list endpoint.

    rows = store.page(after=decode_cursor(query["cursor"], int, str), limit=limit + 1)
    more = len(rows) > limit
    return paged(rows[:limit], encode_cursor(rows[limit - 1]["seq"], rows[limit - 1]["id"]) if more else None)

A cursor is opaque to clients: the URL-safe base64 of a JSON array of the last row's sort key.
A cursor that does not decode to the expected types is a 400, never a 500 (integers are bounded
to what MongoDB stores).
"""
from __future__ import annotations

import base64
import binascii
import json

from flask import jsonify

from .errors import BadRequest

NEXT_CURSOR = "X-Next-Cursor"
_INT64 = 2 ** 63


def encode_cursor(*values) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(text: str | None, *types: type) -> tuple | None:
    """The values of a cursor made by encode_cursor, checked against `types`; None without one."""
    if text in (None, ""):
        return None
    try:
        if len(text) > 512:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        values = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise BadRequest("Invalid cursor") from None
    if not isinstance(values, list) or len(values) != len(types):
        raise BadRequest("Invalid cursor")
    for value, kind in zip(values, types):
        if type(value) is not kind or (kind is int and not -_INT64 <= value < _INT64):
            raise BadRequest("Invalid cursor")
    return tuple(values)


def paged(items: list, next_cursor: str | None):
    """A JSON list, with `X-Next-Cursor` when more remain."""
    response = jsonify(items)
    if next_cursor:
        response.headers[NEXT_CURSOR] = next_cursor
    return response
