"""What gunicorn refuses before the app (issue 14) is answered with the JSON error body, not an
HTML page, and says nothing of the parser's internals."""
import json
import socket
from urllib.parse import urlparse

import pytest


def _raw(base: str, request: bytes) -> tuple[int, dict, dict]:
    url = urlparse(base)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, json.loads(body)


CASES = {
    "URL beyond the request-line limit": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    "header beyond the field-size limit": (b"GET /ready HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
    "too many headers": (b"GET /ready HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(150))
                         + b"\r\n", 431),
    "bad header name": (b"GET /ready HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", 400),
    "Content-Length with Transfer-Encoding": (
        b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\n", 400),
    "bad chunk size": (b"POST /auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    "garbage request line": (b"\x16\x03\x01 hello\r\n\r\n", 400),
}


@pytest.mark.parametrize("name", CASES)
def test_gunicorn_refusals_are_the_json_error_body(base, name):
    request, expected = CASES[name]
    status, headers, body = _raw(base, request)
    assert status == expected, (status, body)
    assert headers["Content-Type"] == "application/json"
    assert body["statusCode"] == expected and body["error"] and body["message"]
    assert "'" not in body["message"] and "bbbb" not in body["message"] and "aaaa" not in body["message"]


def test_a_long_but_allowed_url_reaches_the_app(base):
    status, headers, body = _raw(base, b"GET /ready?x=" + b"a" * 6000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close"
                                       b"\r\n\r\n")
    assert status == 200 and body == {"status": "ok"}
