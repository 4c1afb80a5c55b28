"""The Teacher protocol: what every backend takes and returns.

Backends differ in how they run (HTTP, batched transformers, vLLM, llama.cpp, programs) but
all take a list of ``GenerationRequest`` and return one ``GenerationResult`` per request, in
order. A failed request is a result with ``error`` set (and ``error_kind``, to count failures
alike), never an exception, so one bad call cannot end a long augmentation run; the caller
decides how many it tolerates. Only a fault that no request can survive (a bad key, a server
that cannot be reached) raises a ``RevthinkError``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str


def chat_dicts(messages: Sequence[Message]) -> list[dict[str, str]]:
    """Messages in the ``{"role", "content"}`` form that chat APIs and templates take."""
    return [{"role": m.role, "content": m.content} for m in messages]


@dataclass(frozen=True)
class GenerationRequest:
    """One chat prompt to complete ``n`` times.

    ``purpose`` and ``problem_id`` are labels for accounting (and for the program teacher,
    which answers from the problem itself); they are never sent to a model.
    """

    messages: tuple[Message, ...]
    n: int = 1
    temperature: float = 0.0
    max_tokens: int = 512
    seed: int | None = None
    stop: tuple[str, ...] = ()
    purpose: str = ""
    problem_id: str = ""


@dataclass(frozen=True)
class GenerationResult:
    """The completions of one request, with token counts for the ledger."""

    texts: tuple[str, ...] = ()
    finish_reasons: tuple[str, ...] = ()  # "stop" | "length" | ... per text
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    error: str | None = None  # set when the request failed for good; texts is then empty
    error_kind: str = ""  # a short tag for counting errors alike ("connection", "http_500")
    extra: dict[str, float] = field(default_factory=dict)


ResultCallback = Callable[[int, GenerationResult], None]


class Teacher(Protocol):
    """A text generator used as the RevThink teacher."""

    name: str  # identifies model and backend; part of every cache key

    def generate(
        self, requests: Sequence[GenerationRequest], on_result: ResultCallback | None = None
    ) -> list[GenerationResult]:
        """Complete every request; call ``on_result(index, result)`` as each one finishes."""
        ...

    def close(self) -> None:
        """Release servers, sessions or models."""
        ...
