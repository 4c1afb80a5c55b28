"""One augmentation step run in rounds: every open problem gets one request per round.

Round r sends, together, one request for each problem that still lacks a usable answer. A bad
answer (empty, cut off at ``max_tokens``, or failing the step's own check) is counted and the
problem is asked again in the next round with a new seed, up to ``attempts`` times; a teacher
error re-sends the same request (same seed and cache key) up to ``ERROR_RESENDS`` times before
it counts as an attempt, so transient faults do not change what the run produces. (By default
the stage stops at the first teacher error instead; re-sends matter where
``augment.max_error_share`` lets it go on.)

Rounds of one sample rather than one request for k samples: a strong teacher is right at the
first try for most problems, so sampling k at once would pay for k - 1 samples nobody reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest

from revthink.augment.calls import Call, TeacherCalls
from revthink.augment.reporting import Funnel
from revthink.records import Problem
from revthink.teachers.base import GenerationRequest, GenerationResult, Message

ERROR_RESENDS = 2

Check = Callable[[Problem, str], str | None]  # (problem, answer) -> reason it is unusable


@dataclass(frozen=True)
class Step:
    """What one step asks each problem and how it judges the answers.

    ``want`` usable distinct answers end a problem's rounds (more than one for answer
    augmentation); ``clean`` tidies an answer before it is checked and kept.
    """

    purpose: str
    messages: Callable[[Problem], tuple[Message, ...]]
    check: Check
    want: int = 1
    clean: Callable[[str], str] = str.strip


@dataclass(frozen=True)
class Sampling:
    seed: int
    temperature: float
    max_tokens: int
    attempts: int  # rounds a problem may take, not counting re-sent errors


@dataclass(frozen=True)
class StepOutcome:
    texts: dict[str, list[str]]  # problem id -> usable answers (at least one)
    failed: dict[str, str]  # problem id -> reason its last answer was unusable


@dataclass
class _Open:
    problem: Problem
    texts: list[str] = field(default_factory=list)
    attempt: int = 0
    errors: int = 0
    reason: str = "no_answer"


def derive_seed(seed: int, problem_id: str, purpose: str, attempt: int) -> int:
    """A per-request seed, so every sample is reproducible and independent of batching."""
    digest = hashlib.sha256(f"{seed}\x00{problem_id}\x00{purpose}\x00{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") >> 1


def run_step(
    step: Step, problems: Sequence[Problem], sampling: Sampling, calls: TeacherCalls,
    funnel: Funnel,
) -> StepOutcome:
    """Ask every problem until it has ``step.want`` usable answers or runs out of attempts."""
    states = [_Open(problem) for problem in problems]
    pending = states
    rounds = 0
    while pending:
        rounds += 1
        batch = [Call(_request(step, state, sampling), state.attempt) for state in pending]
        results = calls.send(f"{step.purpose} #{rounds}", batch)
        for state, result in zip(pending, results, strict=True):
            _absorb(step, state, result, funnel)
        pending = [
            s for s in pending if len(s.texts) < step.want and s.attempt < sampling.attempts
        ]
    return StepOutcome(
        texts={s.problem.id: s.texts for s in states if s.texts},
        failed={s.problem.id: s.reason for s in states if not s.texts},
    )


def _request(step: Step, state: _Open, sampling: Sampling) -> GenerationRequest:
    pid = state.problem.id
    return GenerationRequest(
        messages=step.messages(state.problem),
        n=step.want - len(state.texts),
        temperature=sampling.temperature,
        max_tokens=sampling.max_tokens,
        seed=derive_seed(sampling.seed, pid, step.purpose, state.attempt),
        purpose=step.purpose,
        problem_id=pid,
    )


def _absorb(step: Step, state: _Open, result: GenerationResult, funnel: Funnel) -> None:
    """Keep the usable answers of ``result``; count the bad ones by reason."""
    if result.error is not None:
        funnel.bad_answers[f"{step.purpose}:teacher_error"] += 1
        state.reason, state.errors = "teacher_error", state.errors + 1
        if state.errors > ERROR_RESENDS:
            state.attempt, state.errors = state.attempt + 1, 0
        return
    state.attempt += 1
    if not result.texts:
        funnel.bad_answers[f"{step.purpose}:empty"] += 1
        state.reason = "empty"
    for text, finish in zip_longest(result.texts, result.finish_reasons, fillvalue="stop"):
        text = step.clean(text or "")
        reason = _judge(step, state.problem, text, finish)
        if reason is not None:
            funnel.bad_answers[f"{step.purpose}:{reason}"] += 1
            state.reason = reason
        elif text not in state.texts:
            state.texts.append(text)


def _judge(step: Step, problem: Problem, text: str, finish: str) -> str | None:
    if not text:
        return "empty"
    if finish == "length":
        return "truncated"
    return step.check(problem, text)
