"""A real HTTP server speaking OpenAI's chat-completions API, for the `openai` provider's tests: it answers
from a script (completions with content or tool calls, failures: a status, a delay past the client's timeout,
malformed JSON) and records every request it got.

    with FakeOpenAI() as fake:
        fake.add(tool_calls=[call("c1", "read_card", {"cardId": "…"})])
        fake.add(status=429, headers={"Retry-After": "0"})
        fake.add(content="All done.")
        llm = OpenAILLM(base_url=fake.url, model="fake-model", api_key="sk-test")
"""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def call(call_id: str, name: str, arguments) -> dict:
    """A tool call as the API writes it (`arguments` a JSON string, or given raw when it is a str)."""
    return {"id": call_id, "type": "function",
            "function": {"name": name, "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments)}}


class FakeOpenAI:
    def __init__(self):
        self.script: deque = deque()
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake.lock:
                    fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    step = fake.script.popleft() if fake.script else {"content": "Nothing scripted."}
                if self.path != "/v1/chat/completions":
                    step = {"status": 404, "raw": '{"error": {"message": "not found"}}'}
                if step.get("delay"):
                    time.sleep(step["delay"])
                status = step.get("status", 200)
                if "raw" in step:
                    payload = step["raw"].encode()
                elif status != 200:
                    payload = json.dumps({"error": {"message": f"scripted {status}", "type": "server_error"}}).encode()
                else:
                    message = {"role": "assistant", "content": step.get("content")}
                    if step.get("tool_calls"):
                        message["tool_calls"] = step["tool_calls"]
                    payload = json.dumps({"id": "chatcmpl-fake", "object": "chat.completion", "model": body.get("model"),
                                          "choices": [{"index": 0, "message": message,
                                                       "finish_reason": "tool_calls" if step.get("tool_calls") else "stop"}],
                                          "usage": {"prompt_tokens": 7, "completion_tokens": 5,
                                                    "total_tokens": step.get("tokens", 12)}}).encode()
                try:
                    self.send_response(status)
                    for key, value in (step.get("headers") or {}).items():
                        self.send_header(key, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):   # the client timed out first
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def add(self, **step) -> "FakeOpenAI":
        with self.lock:
            self.script.append(step)
        return self

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        return False
