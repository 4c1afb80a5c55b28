"""What an augmentation run kept and what it cost: the funnel, the ledger, the progress bar.

``funnel.json`` follows the problems: how many came in, passed each step and were kept, and
why each of the others was dropped (one reason per problem, so ``problems_in == kept +
sum(dropped)``), plus every bad teacher answer seen on the way (retried or not), and
``failure``: why the stage stopped early, when it did.
``ledger.json`` follows the teacher: calls, tokens, retries, errors and cache hits per step,
the errors by kind with the first text of each (what a person needs to fix the cause), wall
time, and the cost at the configured per-token prices (this run's calls, and all calls the
records needed including those answered from the cache).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from revthink.teachers.base import GenerationRequest, GenerationResult


@dataclass
class Funnel:
    """Problem counts through the steps; ``drop`` and ``bad_answer`` take ``step:reason``."""

    problems_in: int = 0
    forward_correct: int = 0
    backward_generated: int = 0
    consistent: int = 0
    kept: int = 0
    extra_forward: int = 0  # further correct forward reasonings kept (answer augmentation)
    rephrased: int = 0
    flagged: Counter[str] = field(default_factory=Counter)  # records raising each quality flag
    # backward questions made by rule where the teacher's failed, by the teacher's failure
    fallback: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    bad_answers: Counter[str] = field(default_factory=Counter)
    failure: str | None = None  # why the stage stopped without a manifest

    def drop(self, step: str, reason: str) -> None:
        self.dropped[f"{step}:{reason}"] += 1

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["dropped"] = dict(sorted(self.dropped.items()))
        data["bad_answers"] = dict(sorted(self.bad_answers.items()))
        data["flagged"] = dict(sorted(self.flagged.items()))
        data["fallback"] = dict(sorted(self.fallback.items()))
        if self.failure is None:  # a finished stage has nothing to say here
            del data["failure"]
        return data


@dataclass
class Usage:
    """Teacher usage of one step (or of the whole run)."""

    calls: int = 0  # requests sent to the teacher (each may ask for several samples)
    cache_hits: int = 0
    errors: int = 0
    retries: int = 0  # the backend's own retries (HTTP 429/5xx, timeouts, bad bodies)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    cached_completion_tokens: int = 0

    def add(self, other: Usage) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass
class TeacherErrors:
    """Errors the teacher returned after its own retries: counted by kind, the first text kept.

    ``problems`` holds the ids of the problems that met one; their share of all problems is
    what ``augment.max_error_share`` bounds.
    """

    counts: Counter[str] = field(default_factory=Counter)
    first: dict[str, str] = field(default_factory=dict)  # kind -> first error, in arrival order
    problems: set[str] = field(default_factory=set)

    def add(self, request: GenerationRequest, result: GenerationResult) -> None:
        kind = result.error_kind or "teacher_error"
        self.counts[kind] += 1
        where = f"{request.purpose or 'request'} of problem {request.problem_id!r}"
        self.first.setdefault(kind, f"{where}: {result.error}")
        self.problems.add(request.problem_id)

    def first_error(self) -> str | None:
        """The earliest error of the run, the one to read first."""
        return next(iter(self.first.values()), None)

    def lines(self) -> list[str]:
        """One line per kind, most frequent first: count and first text."""
        return [f"{kind}: {n} (first: {self.first[kind]})" for kind, n in self.counts.most_common()]

    def to_json(self) -> dict[str, dict[str, Any]]:
        return {kind: {"count": n, "first": self.first[kind]}
                for kind, n in sorted(self.counts.items())}


@dataclass
class Ledger:
    """Teacher calls and tokens per step, priced in USD per million tokens."""

    prompt_price_per_mtok: float = 0.0
    completion_price_per_mtok: float = 0.0
    steps: dict[str, Usage] = field(default_factory=dict)
    errors: TeacherErrors = field(default_factory=TeacherErrors)
    wall_time_s: float = 0.0
    teacher_load_s: float = 0.0  # part of wall_time_s spent starting the teacher

    def record(self, request: GenerationRequest, result: GenerationResult, *, cached: bool) -> None:
        usage = self.steps.setdefault(request.purpose, Usage())
        if cached:
            usage.cache_hits += 1
            usage.cached_prompt_tokens += result.prompt_tokens
            usage.cached_completion_tokens += result.completion_tokens
            return
        usage.calls += 1
        if result.error is not None:
            usage.errors += 1
            self.errors.add(request, result)
        usage.retries += result.retries
        usage.prompt_tokens += result.prompt_tokens
        usage.completion_tokens += result.completion_tokens

    def total(self) -> Usage:
        total = Usage()
        for usage in self.steps.values():
            total.add(usage)
        return total

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.prompt_price_per_mtok
            + completion_tokens * self.completion_price_per_mtok
        ) / 1e6

    def to_json(self) -> dict[str, Any]:
        total = self.total()
        return {
            **asdict(total),
            "wall_time_s": round(self.wall_time_s, 3),
            "teacher_load_s": round(self.teacher_load_s, 3),
            "cost_usd": self.cost(total.prompt_tokens, total.completion_tokens),
            "cost_usd_with_cached": self.cost(
                total.prompt_tokens + total.cached_prompt_tokens,
                total.completion_tokens + total.cached_completion_tokens,
            ),
            "steps": {name: asdict(usage) for name, usage in self.steps.items()},
            "errors_by_kind": self.errors.to_json(),
            "problems_with_errors": len(self.errors.problems),
        }


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write a report atomically, so a kill never leaves half a JSON file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class RateColumn(ProgressColumn):
    """Finished requests per second since the step began.

    The average, not rich's recent speed: a batched teacher finishes its requests together, and
    a speed taken over those last moments reads thousands of requests a second.
    """

    def render(self, task: Task) -> Text:
        elapsed = task.finished_time if task.finished else task.elapsed
        rate = task.completed / elapsed if elapsed else 0.0
        return Text(f"{rate:.1f} req/s", style="progress.data.speed")


def progress_bar() -> Progress:
    """One bar per step and round: done/total, rate, elapsed and remaining time (on stderr)."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True),
    )
