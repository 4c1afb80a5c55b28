"""A model-free OpenAI-compatible endpoint whose every reply a test chooses.

``OpenAIServer`` answers with a real model; fault and resume tests need none, only a server
that says exactly what the test wants (an HTTP 500 that echoes the API key, a torn body, a fixed
completion) and that can be started on a given port after a client has failed to reach it::

    with StubServer(lambda body, auth: completion("The answer is 4.")) as server:
        ...server.url, server.requests...
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from support.http_thread import BackgroundHTTPServer

Reply = Callable[[dict[str, Any], str], tuple[int, bytes]]  # (body, Authorization) -> answer


def completion(text: str) -> tuple[int, bytes]:
    """A 200 with one chat choice holding ``text``."""
    body = {
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    }
    return 200, json.dumps(body).encode()


def error(status: int, message: str) -> tuple[int, bytes]:
    """An OpenAI-style error body."""
    return status, json.dumps({"error": {"message": message}}).encode()


class StubServer(BackgroundHTTPServer):
    """Serves ``reply`` on 127.0.0.1 (``port`` 0: any free port) while the context is open."""

    def __init__(self, reply: Reply, port: int = 0) -> None:
        self.reply = reply
        self.requests = 0
        self._lock = threading.Lock()
        super().__init__(_Handler, port)

    def answer(self, body: dict[str, Any], auth: str) -> tuple[int, bytes]:
        with self._lock:
            self.requests += 1
        return self.reply(body, auth)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        """Silent."""

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        stub: StubServer = self.server.app  # type: ignore[attr-defined]
        status, data = stub.answer(body, self.headers.get("Authorization") or "")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
