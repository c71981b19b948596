"""A real HTTP server for the tests and the bench: records every request it gets and answers what
its script says (status, headers, delay), per request in order, then `default`.

    with Receiver(script=[500, 200]) as rx:
        ...            # rx.url
        rx.wait(2)     # -> the first two requests: [Request(headers, body, at)]
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support import wait_until


@dataclass
class Request:
    path: str
    headers: dict
    body: bytes
    at: float = field(default_factory=time.time)

    @property
    def text(self) -> str:
        return self.body.decode()


@dataclass
class Answer:
    status: int = 200
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


class Receiver:
    def __init__(self, script=(), default=200, delay: float = 0.0):
        self.script = [a if isinstance(a, Answer) else Answer(a) for a in script]
        self.default = default if isinstance(default, Answer) else Answer(default, delay=delay)
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append(Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    answer = receiver.script.pop(0) if receiver.script else receiver.default
                if answer.delay:
                    time.sleep(answer.delay)
                self.send_response(answer.status)
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        return False

    def wait(self, n: int = 1, timeout: float = 15.0, where=None) -> list[Request]:
        def enough():
            rows = [r for r in list(self.requests) if where is None or where(r)]
            return rows if len(rows) >= n else None
        return wait_until(enough, timeout=timeout, message=f"{n} requests at the receiver")
