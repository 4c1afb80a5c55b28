"""A small OpenAI-compatible chat server with real SmolLM2 generations and injected faults.

Tests and benchmarks need a real HTTP endpoint that behaves like a busy hosted API: this one
answers ``POST /v1/chat/completions`` (and ``GET /v1/models``) with generations from
``llama_cpp.Llama`` on the SmolLM2-135M GGUF (in a child process, so a native crash fails the
requests, not the test run), and can fail a seeded fraction of requests the
way real servers do: 429 with ``Retry-After``, 500, an answer later than the client's timeout,
an unparseable body, or JSON without ``choices``. Like the llama.cpp server it ignores ``n``
unless ``honour_n`` is set, so clients must top up missing completions themselves.

In tests::

    with serve(fault_rate=0.3, seed=0) as url:       # url ends in /v1
        ...
    with OpenAIServer(api_key="k", latency_s=0.2) as server:
        ...server.url, server.stats.max_in_flight...

As a benchmark target, from ``tests/``: ``python -m support.openai_server --port 8000``.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from revthink.errors import RevthinkError
from revthink.teachers.llamacpp_process import LlamaProcess, LlamaSettings
from support.http_thread import BackgroundHTTPServer

FAULT_KINDS = ("429", "500", "timeout", "garbage", "no_choices")


@dataclass
class ServerStats:
    """What the server saw; read it after the client is done."""

    requests: int = 0
    completions: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    arrivals: list[float] = field(default_factory=list)  # time.monotonic() of each request


class OpenAIServer(BackgroundHTTPServer):
    """The server; a context manager that starts it on 127.0.0.1 and stops it on exit.

    Args:
        fault_rate: fraction of chat requests answered with a fault instead of a completion.
        seed: seeds the fault draws, so a run sees the same sequence of faults.
        kinds: faults to draw from (see ``FAULT_KINDS``).
        script: faults for the first requests, in order, before random draws start.
        retry_after: ``Retry-After`` header value sent with each 429.
        delay_s: how late a "timeout" fault answers (with a 504); set it beyond the client's
            timeout.
        latency_s: extra time each request takes before generating (to make overlap visible).
        api_key: when set, requests must carry ``Authorization: Bearer <api_key>``.
        model: the model name clients must ask for (404 otherwise).
        honour_n: return ``n`` choices per request instead of one.
    """

    def __init__(
        self,
        *,
        fault_rate: float = 0.0,
        seed: int = 0,
        kinds: Sequence[str] = FAULT_KINDS,
        script: Sequence[str] = (),
        retry_after: str = "0.2",
        delay_s: float = 3.0,
        latency_s: float = 0.0,
        api_key: str | None = None,
        model: str = "smollm2-135m",
        honour_n: bool = False,
        port: int = 0,
        n_threads: int = 1,
        n_ctx: int = 2048,
    ) -> None:
        unknown = (set(kinds) | set(script)) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS}")
        self.fault_rate, self.kinds, self._script = fault_rate, tuple(kinds), list(script)
        self.retry_after, self.delay_s, self.latency_s = retry_after, delay_s, latency_s
        self.api_key, self.model, self.honour_n = api_key, model, honour_n
        self.stats = ServerStats()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()  # guards stats, draws and the script
        self._llama = _load_llama(n_threads, n_ctx)
        super().__init__(_Handler, port)

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self._llama.close()

    def draw_fault(self) -> str | None:
        """The fault for the next request (None: answer normally), counted in the stats."""
        with self._lock:
            if self._script:
                fault: str | None = self._script.pop(0)
            elif self._rng.random() < self.fault_rate:
                fault = self._rng.choice(self.kinds)
            else:
                fault = None
            if fault:
                self.stats.faults[fault] += 1
            return fault

    def enter(self) -> None:
        with self._lock:
            self.stats.requests += 1
            self.stats.arrivals.append(time.monotonic())
            self.stats.in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.stats.in_flight -= 1

    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """A chat.completion object for ``body``, generated by the model."""
        time.sleep(self.latency_s)
        count = int(body.get("n") or 1) if self.honour_n else 1
        choices, prompt_tokens, completion_tokens = [], 0, 0
        for i in range(count):
            seed = body.get("seed")
            # one generation at a time, like a single slot; each forgets the KV cache before
            out = self._llama.chat(
                messages=body["messages"],
                temperature=float(body.get("temperature", 1.0)),
                max_tokens=int(body.get("max_tokens") or 16),
                seed=None if seed is None else int(seed) + i,
                stop=body.get("stop") or None,
            )
            choice = out["choices"][0]
            choices.append({**choice, "index": i})
            prompt_tokens = out["usage"]["prompt_tokens"]
            completion_tokens += out["usage"]["completion_tokens"]
        with self._lock:
            self.stats.completions += count
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def _load_llama(n_threads: int, n_ctx: int) -> LlamaProcess:
    from revthink.models import resolve

    path = resolve("smollm2-135m").gguf_path
    settings = LlamaSettings(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, seed=0)
    return LlamaProcess(settings, engine="test server's llama.cpp")


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients with connection pools expect

    @property
    def app(self) -> OpenAIServer:
        return self.server.app  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        """Silent: tests read the stats, not an access log."""

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        if self.path.rstrip("/") == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": self.app.model}]})
        else:
            self._send(404, _error(f"no route {self.path}", "not_found"))

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, _error(f"no route {self.path}", "not_found"))
            return
        self.app.enter()
        try:
            self._chat(body)
        finally:
            self.app.leave()

    def _chat(self, body: dict[str, Any]) -> None:
        app = self.app
        given = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        if app.api_key is not None and given != app.api_key:
            # Echoes the key it got, as careless servers do: clients must redact it themselves.
            self._send(401, _error(f"Incorrect API key provided: {given}", "invalid_api_key"))
            return
        if not body.get("messages"):
            self._send(400, _error("'messages' must be a non-empty list", "invalid_request"))
            return
        if body.get("model") != app.model:
            self._send(404, _error(f"The model {body.get('model')!r} does not exist", "not_found"))
            return
        fault = app.draw_fault()
        if fault == "429":
            headers = {"Retry-After": app.retry_after}
            self._send(429, _error("Rate limit reached", "rate_limit"), headers)
        elif fault == "500":
            self._send(500, _error("The server had an error", "server_error"))
        elif fault == "garbage":
            self._send_raw(200, b'{"id": "chatcmpl-x", "choices": [{"message": ')
        elif fault == "no_choices":
            self._send(200, {"id": "chatcmpl-x", "object": "chat.completion"})
        elif fault == "timeout":
            time.sleep(app.delay_s)  # the client has given up by now; answer without generating
            self._send(504, _error("The server answered too late", "timeout"))
        else:
            try:
                self._send(200, app.complete(body))
            except RevthinkError as err:  # the model crashed, or closed as the server stops
                self._send(500, _error(str(err), "server_error"))

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None):
        self._send_raw(status, json.dumps(payload).encode(), headers)

    def _send_raw(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a "timeout" fault): nothing left to answer


@contextmanager
def serve(**options: Any) -> Iterator[str]:
    """Run an ``OpenAIServer`` (same keyword options) and yield its ``/v1`` base URL."""
    with OpenAIServer(**options) as server:
        yield server.url


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp CPU threads")
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--honour-n", action="store_true", help="return n choices per call")
    args = parser.parse_args(argv)
    server = OpenAIServer(
        fault_rate=args.fault_rate, seed=args.seed, port=args.port, n_threads=args.threads,
        n_ctx=args.n_ctx, honour_n=args.honour_n,
    )
    print(f"serving {server.model} on {server.url} (fault rate {args.fault_rate})", flush=True)
    with suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
