"""The one JSON loader: what it refuses (400, never a 500 further down) and what it keeps."""
import math

import pytest

from libs.common import jsonio
from libs.common.errors import BadRequest


@pytest.mark.parametrize("raw,message", [
    (b"[" * 1000 + b"]" * 1000, "nested too deeply"),
    (b"[" * 65 + b"]" * 65, "nested too deeply"),
    (b'{"a": {"b": ' * 40 + b"1" + b"}}" * 40, "nested too deeply"),
    (b'{"email": "a\\ud800@x.io"}', "surrogate"),
    (b'{"\\udfff": 1}', "surrogate"),
    (b'{"a": "\xed\xa0\x80"}', "UTF-8"),          # a surrogate encoded as UTF-8 bytes
    (b"\xff\xfe", "UTF-8"),
    (b'{"v": 9223372036854775808}', "64-bit"),
    (b'{"v": -9223372036854775809}', "64-bit"),
    (b'{"v": 1' + b"0" * 5000 + b"}", "64-bit"),
    (b'{"v": NaN}', "NaN"),
    (b'{"v": Infinity}', "Infinity"),
    (b'[-Infinity]', "Infinity"),
    (b'{"v": 1e999}', "out of range"),
    (b'{"v": 1', "not valid JSON"),
])
def test_refused_with_a_400(raw, message):
    with pytest.raises(BadRequest) as err:
        jsonio.loads(raw)
    assert message.lower() in err.value.message.lower()
    assert "line" not in err.value.message and "char" not in err.value.message  # no parser internals


def test_kept():
    assert jsonio.loads(b"[" * 64 + b"]" * 64) is not None
    assert jsonio.loads(b'{"a": "[[[[' + b"[" * 100 + b'\\" {{"}') == {"a": "[[[[" + "[" * 100 + '" {{'}
    assert jsonio.loads('{"e": "\\ud83d\\ude00"}') == {"e": "\U0001F600"}
    assert jsonio.loads(b"[9223372036854775807, -9223372036854775808, 1.5e300]") == [2 ** 63 - 1, -2 ** 63, 1.5e300]
    assert jsonio.loads(b"\xef\xbb\xbf{}") == {}


def test_query_numbers():
    jsonio.check_numbers({"limit": 10, "ok": True, "x": [1.5]})
    for bad in ({"limit": 2 ** 63}, {"x": [math.inf]}, {"x": {"y": math.nan}}):
        with pytest.raises(BadRequest):
            jsonio.check_numbers(bad)
