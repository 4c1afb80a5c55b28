"""Teacher backend for any OpenAI-compatible ``/v1/chat/completions`` endpoint.

Hosted APIs, vLLM, SGLang, TGI and the llama.cpp server all speak this protocol. Requests go
out concurrently (at most ``concurrency`` in flight) under requests-per-minute and
tokens-per-minute limits; rate limits (429), server errors (5xx), timeouts, dropped connections
and unreadable bodies are retried with exponential backoff and jitter, honouring
``Retry-After``. A 401/403/404 raises at once (a bad key or unknown model will not recover); any
other 4xx, or a request still failing after ``max_retries``, becomes an error result tagged with
its kind (``http_500``, ``malformed_body``, ...). A server that cannot be reached at all is
reported at once ("cannot connect to URL", one warning) and retried for at most
``connect_timeout_total_s`` in all; then the run stops with that message instead of stalling.

The client is ``httpx`` rather than the ``openai`` SDK: the protocol is one JSON POST, httpx is
already a core dependency, and owning the retry loop lets every retry, token and fault be
counted for the ledger instead of hidden inside the SDK. The API key is read from the
environment variable named by ``api_key_env`` and exists only in the request header: it is
never logged, stored in results, or shown in errors or ``repr``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import logging
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from revthink.config import TeacherConfig
from revthink.errors import ConfigError, RevthinkError
from revthink.teachers.base import (
    GenerationRequest,
    GenerationResult,
    ResultCallback,
    chat_dicts,
)

# Statuses worth retrying, as the OpenAI SDK does: timeout, conflict, rate limit, server errors.
_RETRY_STATUS = frozenset({408, 409, 429})
# Statuses that no retry will fix for any request: bad key, forbidden, unknown model or route.
_FATAL_STATUS = frozenset({401, 403, 404})
_MAX_WAIT_S = 300.0  # cap on one Retry-After or backoff pause
UNREACHABLE = "connection"  # error kind of a server that cannot be connected to

_log = logging.getLogger(__name__)


class _Retryable(Exception):
    """A failed attempt worth repeating; ``wait_s`` is the server's Retry-After, if any."""

    def __init__(self, reason: str, kind: str, wait_s: float | None = None) -> None:
        super().__init__(reason)
        self.kind = kind
        self.wait_s = wait_s


class _Rejected(Exception):
    """A 4xx that this request will never pass (e.g. a 400 for a too-long prompt)."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.kind = kind


@dataclass
class TokenBucket:
    """Rate limiter that schedules callers in arrival order (a reservation-based token bucket).

    ``reserve(amount)`` takes ``amount`` from the bucket at once (the level may go negative)
    and returns how long the caller must wait before its request may start. Later callers
    wait for the debt of earlier ones, so requests are served first come, first served
    without locks, which keeps the bucket usable from any event loop. ``capacity`` is the
    largest burst; by default one second of budget (at least one unit), since providers
    enforce per-minute limits over shorter windows too. A reservation larger than the
    bucket waits for a full bucket and then goes into debt.
    """

    per_minute: float
    clock: Callable[[], float] = time.monotonic
    capacity: float = 0.0  # 0: one second of budget
    _level: float = field(init=False)
    _last: float = field(init=False)

    def __post_init__(self) -> None:
        self.capacity = self.capacity or max(1.0, self.per_minute / 60.0)
        self._level = self.capacity
        self._last = self.clock()

    def reserve(self, amount: float) -> float:
        """Take ``amount`` units; return the seconds to wait before using them."""
        self._refill()
        rate = self.per_minute / 60.0
        wait = max(0.0, (min(amount, self.capacity) - self._level) / rate)
        self._level -= amount
        return wait

    def settle(self, reserved: float, used: float) -> None:
        """Correct a reservation made on an estimate once the real usage is known."""
        self._refill()
        self._level = min(self.capacity, self._level + reserved - used)

    def _refill(self) -> None:
        now = self.clock()
        self._level = min(self.capacity, self._level + (now - self._last) * self.per_minute / 60)
        self._last = now


def estimate_tokens(request: GenerationRequest, n: int) -> int:
    """Tokens a call for ``n`` completions may use: prompt chars / 4 plus the full budget.

    Used to reserve tokens-per-minute budget before the server reports the real usage.
    """
    chars = sum(len(m.content) for m in request.messages)
    return math.ceil(chars / 4) + request.max_tokens * n


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse ``Retry-After``: delta seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_seconds(attempt: int, base_s: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: a uniform draw in [half, all] of base * 2^attempt."""
    ceiling = min(_MAX_WAIT_S, base_s * 2**attempt)
    return rng.uniform(ceiling / 2, ceiling)


@dataclass
class _Tally:
    """What one request consumed over all its HTTP calls."""

    texts: list[str] = field(default_factory=list)
    finish_reasons: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    calls: int = 0


class OpenAICompatTeacher:
    """Concurrent, rate-limited, retrying client of an OpenAI-compatible chat endpoint."""

    def __init__(
        self, cfg: TeacherConfig, *, backoff_base_s: float = 1.0, rng_seed: int | None = None
    ) -> None:
        if not cfg.model:
            raise ConfigError(
                "key 'augment.teacher.model': expected the model name the server serves "
                "(e.g. the name passed to `vllm serve`)"
            )
        self.cfg = cfg
        self.name = f"openai_compat:{cfg.model}"
        self._url = cfg.base_url.rstrip("/") + "/chat/completions"
        self._api_key = os.environ.get(cfg.api_key_env) or None
        self._backoff_base_s = backoff_base_s
        self._rng = random.Random(rng_seed)
        rpm = cfg.requests_per_minute  # a bucket of one request: calls evenly spaced
        self._rpm = TokenBucket(rpm, capacity=1.0) if rpm else None
        self._tpm = TokenBucket(cfg.tokens_per_minute) if cfg.tokens_per_minute else None
        self._paused_until = 0.0  # monotonic time before which no request is sent (after 429)
        self._unreachable_since: float | None = None  # first failed connect of this outage

    def __repr__(self) -> str:
        return f"OpenAICompatTeacher(model={self.cfg.model!r}, base_url={self.cfg.base_url!r})"

    def generate(
        self, requests: Sequence[GenerationRequest], on_result: ResultCallback | None = None
    ) -> list[GenerationResult]:
        """Complete every request concurrently; callable from plain (non-async) code."""
        coro = self.agenerate(requests, on_result)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        # Called from inside a running loop (a notebook, an async app): use a private loop.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, coro).result()

    async def agenerate(
        self, requests: Sequence[GenerationRequest], on_result: ResultCallback | None = None
    ) -> list[GenerationResult]:
        """The async form of ``generate`` for callers that already run an event loop."""
        limits = httpx.Limits(
            max_connections=self.cfg.concurrency, max_keepalive_connections=self.cfg.concurrency
        )
        slots = asyncio.Semaphore(self.cfg.concurrency)
        results: list[GenerationResult | None] = [None] * len(requests)
        async with httpx.AsyncClient(timeout=self.cfg.timeout_s, limits=limits) as client:

            async def one(index: int) -> None:
                result = await self._complete(client, slots, requests[index])
                results[index] = result
                if on_result is not None:
                    on_result(index, result)

            try:
                async with asyncio.TaskGroup() as group:
                    for index in range(len(requests)):
                        group.create_task(one(index))
            except* RevthinkError as fatal:  # a bad key or model: stop everything, say why
                raise fatal.exceptions[0] from None
        return [r for r in results if r is not None]

    def close(self) -> None:
        """Nothing to release: each ``generate`` call opens and closes its own connections."""

    async def _complete(
        self, client: httpx.AsyncClient, slots: asyncio.Semaphore, request: GenerationRequest
    ) -> GenerationResult:
        """All ``n`` completions of one request, topping up when a server returns fewer."""
        tally = _Tally()
        started = time.monotonic()
        try:
            while len(tally.texts) < request.n:
                await self._call_with_retries(client, slots, request, tally)
        except _Rejected as err:
            return self._failure(tally, str(err), err.kind, started)
        except _Retryable as err:
            reason = f"gave up after {self.cfg.max_retries} retries: {err}"
            return self._failure(tally, reason, err.kind, started)
        return GenerationResult(
            texts=tuple(tally.texts[: request.n]),
            finish_reasons=tuple(tally.finish_reasons[: request.n]),
            prompt_tokens=tally.prompt_tokens,
            completion_tokens=tally.completion_tokens,
            retries=tally.retries,
            extra={"calls": float(tally.calls), "latency_s": time.monotonic() - started},
        )

    def _failure(self, tally: _Tally, reason: str, kind: str, started: float) -> GenerationResult:
        return GenerationResult(
            prompt_tokens=tally.prompt_tokens,
            completion_tokens=tally.completion_tokens,
            retries=tally.retries,
            error=self._redact(f"{self._where()}: {reason}"),
            error_kind=kind,
            extra={"calls": float(tally.calls), "latency_s": time.monotonic() - started},
        )

    async def _call_with_retries(
        self,
        client: httpx.AsyncClient,
        slots: asyncio.Semaphore,
        request: GenerationRequest,
        tally: _Tally,
    ) -> None:
        """One HTTP exchange for the missing completions, retried until it succeeds.

        An unreachable server is retried until ``connect_timeout_total_s`` runs out, whatever
        ``max_retries`` says; the other faults get ``max_retries`` retries.
        """
        have = len(tally.texts)
        body = self._body(request, have)
        estimate = estimate_tokens(request, request.n - have)
        attempt = 0
        while True:
            try:
                async with slots:  # rate waits happen inside a slot: no herd released at once
                    await self._wait_for_limits(estimate)
                    tally.calls += 1
                    return await self._post(client, body, estimate, tally)
            except _Retryable as err:
                if attempt >= self.cfg.max_retries and err.kind != UNREACHABLE:
                    raise
                tally.retries += 1
                await asyncio.sleep(self._pause(err, attempt))
                attempt += 1

    def _body(self, request: GenerationRequest, have: int) -> dict[str, object]:
        """The JSON body asking for the ``n - have`` completions still missing.

        Top-up calls shift the seed by the number of completions already received, so a
        server that ignores ``n`` (llama.cpp) does not return the same sample again.
        """
        body: dict[str, object] = {
            "model": self.cfg.model,
            "messages": chat_dicts(request.messages),
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        if request.n - have > 1:
            body["n"] = request.n - have
        if request.seed is not None:
            body["seed"] = request.seed + have
        if request.stop:
            body["stop"] = list(request.stop)
        return body

    async def _wait_for_limits(self, estimate: int) -> None:
        wait = self._paused_until - time.monotonic()
        if self._rpm is not None:
            wait = max(wait, self._rpm.reserve(1))
        if self._tpm is not None:
            wait = max(wait, self._tpm.reserve(estimate))
        if wait > 0:
            await asyncio.sleep(wait)

    def _pause(self, err: _Retryable, attempt: int) -> float:
        """Seconds before the next attempt; a Retry-After also pauses every other request.

        Connection retries never wait past the end of ``connect_timeout_total_s``, so the last
        one happens right at its end.
        """
        if err.wait_s is None:
            wait = backoff_seconds(attempt, self._backoff_base_s, self._rng)
            if err.kind == UNREACHABLE and self._unreachable_since is not None:
                deadline = self._unreachable_since + self.cfg.connect_timeout_total_s
                wait = min(wait, max(0.0, deadline - time.monotonic()))
            return wait
        wait = min(_MAX_WAIT_S, err.wait_s)
        self._paused_until = max(self._paused_until, time.monotonic() + wait)
        return wait

    async def _post(
        self,
        client: httpx.AsyncClient,
        body: dict[str, object],
        estimate: int,
        tally: _Tally,
    ) -> None:
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        try:
            response = await client.post(self._url, json=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as err:
            raise self._unreachable(type(err).__name__) from None
        except httpx.TimeoutException:
            raise _Retryable(f"no answer within {self.cfg.timeout_s} s", "timeout") from None
        except httpx.TransportError as err:
            raise _Retryable(f"connection lost ({type(err).__name__})", "connection_lost") from None
        self._unreachable_since = None  # the server answered: any outage is over
        self._check_status(response)
        self._read_body(response, estimate, tally)

    def _unreachable(self, reason: str) -> _Retryable:
        """A failed connect: warn at the first, stop the run once the outage lasts too long."""
        now = time.monotonic()
        total = self.cfg.connect_timeout_total_s
        if self._unreachable_since is None:
            self._unreachable_since = now
            _log.warning(
                "%s", self._redact(f"cannot connect to {self.cfg.base_url} ({reason}); "
                                   f"retrying for up to {total:g} s")
            )
        elif now - self._unreachable_since >= total:
            raise RevthinkError(self._redact(
                f"cannot connect to {self.cfg.base_url} ({reason}) for {total:g} s (model "
                f"{self.cfg.model!r}): start the server, or check augment.teacher.base_url; "
                "augment.teacher.connect_timeout_total_s sets how long to wait"
            ))
        return _Retryable(f"cannot connect to {self.cfg.base_url} ({reason})", UNREACHABLE)

    def _check_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        detail = f"HTTP {status}: {_error_message(response)}"
        kind = f"http_{status}"
        if status in _FATAL_STATUS:
            raise RevthinkError(self._fatal_message(status, detail))
        if status in _RETRY_STATUS or status >= 500:
            headers = response.headers
            wait = retry_after_seconds(headers.get("retry-after"))
            if wait is None and headers.get("retry-after-ms"):
                wait = (retry_after_seconds(headers["retry-after-ms"]) or 0.0) / 1000
            raise _Retryable(detail, kind, wait)
        raise _Rejected(detail, kind)

    def _where(self) -> str:
        return f"{self.cfg.base_url} (model {self.cfg.model!r})"

    def _fatal_message(self, status: int, detail: str) -> str:
        if status == 404:
            hint = "check teacher.model against the server's model list and teacher.base_url"
        else:
            hint = f"check the API key in the environment variable {self.cfg.api_key_env}"
        return self._redact(f"{self._where()} refused the request ({detail}); {hint}")

    def _read_body(self, response: httpx.Response, estimate: int, tally: _Tally) -> None:
        """Add the response's completions and usage to ``tally``; unreadable bodies retry."""
        try:
            data = response.json()
            choices = sorted(data["choices"], key=lambda c: c.get("index", 0))
            texts = [c["message"].get("content") or "" for c in choices]
            reasons = [c.get("finish_reason") or "stop" for c in choices]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise _Retryable(
                "malformed response body (not chat-completion JSON)", "malformed_body"
            ) from None
        if not texts:
            raise _Retryable("response without choices", "no_choices")
        usage = data.get("usage") or {}
        tally.prompt_tokens += int(usage.get("prompt_tokens") or 0)
        tally.completion_tokens += int(usage.get("completion_tokens") or 0)
        tally.texts.extend(texts)
        tally.finish_reasons.extend(reasons)
        if self._tpm is not None:
            used = int(usage.get("total_tokens") or 0) or estimate
            self._tpm.settle(estimate, used)

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text


def _error_message(response: httpx.Response) -> str:
    """The server's own explanation: OpenAI-style ``error.message`` or the raw text, shortened."""
    try:
        error = response.json().get("error")
        message = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        message = None
    return str(message or response.text or response.reason_phrase)[:300]
