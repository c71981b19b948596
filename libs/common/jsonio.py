"""The one JSON loader of the API: every service's request bodies and the gateway's go through it.

    value = loads(raw)                 # -> the document, or BadRequest (400) with a plain message
    check_numbers(query)               # the numbers of a loaded query string (int64, finite)

Refused, each with a 400 instead of a 500 further down (RecursionError, BSON encoding errors,
MongoDB's 8-byte integers):
- nesting deeper than MAX_DEPTH arrays/objects;
- a lone UTF-16 surrogate in a string or a key (`"\\ud800"`), or bytes that are not UTF-8;
- an integer outside int64, `NaN`, `Infinity`, `-Infinity` and floats that overflow (`1e999`).
Messages never echo the parser's internals (no offsets, no Python exception text).
"""
from __future__ import annotations

import json
import math
import re
from itertools import accumulate

from flask.json.provider import DefaultJSONProvider

from .errors import BadRequest

MAX_DEPTH = 64
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_MAX_INT_DIGITS = 20  # beyond this, int() of the literal is not even attempted


def _parse_int(text: str) -> int:
    if len(text) > _MAX_INT_DIGITS:
        raise BadRequest("Integer out of range (64-bit signed integers only)")
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise BadRequest("Integer out of range (64-bit signed integers only)")
    return value


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadRequest("Number out of range")
    return value


def _parse_constant(name: str):
    raise BadRequest(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)


def _max_depth_ok(text: str, limit: int) -> bool:
    """Whether no point of `text` (JSON) sits inside more than `limit` arrays/objects. Brackets
    inside strings are skipped (strings are cut out first, escapes included)."""
    if text.count("[") + text.count("{") <= limit:
        return True
    brackets = _BRACKETS.findall(_STRINGS.sub("", text))
    return max(accumulate(map(_DELTA.__getitem__, brackets)), default=0) <= limit


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = re.compile(r"[\[\]{}]")
_DELTA = {"[": 1, "{": 1, "]": -1, "}": -1}


def loads(raw: bytes | str, *, max_depth: int = MAX_DEPTH):
    """The JSON document in `raw`, checked (see the module docstring); BadRequest otherwise."""
    if isinstance(raw, (bytes, bytearray)):
        try:
            text = bytes(raw).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadRequest("Request body is not valid UTF-8") from None
    else:
        text = raw
    if _SURROGATE.search(text):
        raise BadRequest("Strings must not contain lone surrogates")
    if not _max_depth_ok(text, max_depth):
        raise BadRequest(f"JSON nested too deeply (at most {max_depth} levels)")
    try:
        value = _DECODER.decode(text)
    except BadRequest:
        raise
    except (ValueError, RecursionError):
        raise BadRequest("Request body is not valid JSON") from None
    if _ESCAPED_SURROGATE.search(text) and _has_surrogate(value):  # "\ud800" escapes decode into lone ones
        raise BadRequest("Strings must not contain lone surrogates")
    return value


def _has_surrogate(value) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            for key, inner in item.items():
                if _SURROGATE.search(key):
                    return True
                if not isinstance(inner, (int, float, bool)) and inner is not None:
                    stack.append(inner)
        elif isinstance(item, list):
            stack.extend(i for i in item if isinstance(i, (str, list, dict)))
    return False


def check_numbers(value, *, what: str = "Query parameter") -> None:
    """BadRequest when a loaded value (a query string's, a form's) holds an integer outside int64
    or a float that is not finite."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bool):
            continue
        if isinstance(item, int) and not INT64_MIN <= item <= INT64_MAX:
            raise BadRequest(f"{what} out of range (64-bit signed integers only)")
        if isinstance(item, float) and not math.isfinite(item):
            raise BadRequest(f"{what} must be a finite number")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON with `loads` above: `request.get_json()` anywhere uses it (create_service_app
    and the gateway install it)."""

    def loads(self, s, **kwargs):
        return loads(s)


def install(app) -> None:
    app.json_provider_class = JSONProvider
    app.json = JSONProvider(app)
    app.json.sort_keys = False
