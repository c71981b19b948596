"""gunicorn's own protocol errors as the API's JSON error body.

gunicorn answers what it refuses before the app sees it (a request line over
`limit_request_line`, a header over `limit_request_field_size`, too many headers, a bad header
name, Content-Length with Transfer-Encoding, a bad chunk...) through `gunicorn.util.write_error`,
an HTML page echoing the parser's message. `install()` (called by deploy/gunicorn.conf.py) swaps
it for the error body {statusCode, message, error} with a fixed message per status: no parser
internals. gunicorn's `asgi` worker (the processes serving streams, libs/common/asyncweb.py) has
its own parser that answers through `ASGIProtocol._send_error_response`, a text/plain page with the
parser's message: swapped the same way. What gunicorn closes without an answer (a connection
dropped mid-request, TLS, ...) stays unanswered.
"""
from __future__ import annotations

import json
from http import HTTPStatus

MESSAGES = {
    400: "Malformed HTTP request",
    403: "Request forbidden",
    414: "Request line too long",
    417: "Expectation failed",
    431: "Request header fields too large",
    500: "Internal server error",
    501: "Transfer coding not supported",
}


def error_response(status: int) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        status, reason = 400, "Bad Request"
    body = json.dumps({"statusCode": status, "message": MESSAGES.get(status, reason), "error": reason},
                      separators=(",", ":")).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
    return head + body


def write_error(sock, status_int, reason, mesg) -> None:  # gunicorn.util.write_error's signature
    from gunicorn import util
    util.write_nonblock(sock, error_response(int(status_int)))


def _asgi_send_error(self, status, message, extra_headers=()) -> None:  # ASGIProtocol._send_error_response
    head, _, body = error_response(int(status)).partition(b"\r\n\r\n")
    extra = "".join(f"\r\n{name}: {value}" for name, value in extra_headers).encode("latin-1")
    self._safe_write(head + extra + b"\r\n\r\n" + body)


def install() -> None:
    from gunicorn import util
    util.write_error = write_error
    from gunicorn.asgi.protocol import ASGIProtocol
    ASGIProtocol._send_error_response = _asgi_send_error
