"""Running the augmentation pipeline in tests: a scripted teacher and the funnel's arithmetic."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from revthink.augment.cache import ResultCache
from revthink.augment.calls import TeacherCalls
from revthink.augment.pipeline import augment
from revthink.augment.reporting import Funnel, Ledger
from revthink.config import AugmentConfig
from revthink.records import AugmentedExample, Problem
from revthink.teachers.base import GenerationRequest, GenerationResult, ResultCallback

Script = Callable[[GenerationRequest, int], GenerationResult]  # (request, nth call) -> result


class ScriptedTeacher:
    """Answers each request through ``script``; records every request it was sent."""

    name = "scripted"

    def __init__(self, script: Script) -> None:
        self.script = script
        self.sent: list[GenerationRequest] = []
        self.generate_calls = 0

    def generate(
        self, requests: Sequence[GenerationRequest], on_result: ResultCallback | None = None
    ) -> list[GenerationResult]:
        self.generate_calls += 1
        results = []
        for index, request in enumerate(requests):
            nth = sum(r.purpose == request.purpose and r.problem_id == request.problem_id
                      for r in self.sent)
            self.sent.append(request)
            results.append(self.script(request, nth))
            if on_result is not None:
                on_result(index, results[-1])
        return results

    def close(self) -> None:
        pass


def ok(*texts: str, finish: str = "stop") -> GenerationResult:
    return GenerationResult(texts=texts, finish_reasons=(finish,) * len(texts),
                            prompt_tokens=10, completion_tokens=5 * len(texts))


def run(problems: Sequence[Problem], teacher, tmp_path: Path, family: str = "mixed", **settings):
    ledger = Ledger(prompt_price_per_mtok=2.0, completion_price_per_mtok=8.0)
    calls = TeacherCalls(teacher, ResultCache(tmp_path / "cache.jsonl"), ledger, None)
    cfg = AugmentConfig(**settings)
    records, funnel = augment(problems, calls, cfg, seed=0, family=family)
    calls.cache.close()
    return records, funnel, ledger


def assert_funnel_adds_up(funnel: Funnel, records: list[AugmentedExample]) -> None:
    assert funnel.kept == len(records)
    assert funnel.problems_in == funnel.kept + sum(funnel.dropped.values())
    dropped_at = {step: sum(n for r, n in funnel.dropped.items() if r.startswith(step + ":"))
                  for step in ("forward", "backward_question", "backward_reasoning", "consistency",
                               "quality")}
    assert funnel.forward_correct == funnel.problems_in - dropped_at["forward"]
    assert funnel.backward_generated == (
        funnel.forward_correct - dropped_at["backward_question"] - dropped_at["backward_reasoning"])
    assert funnel.kept == (
        funnel.backward_generated - dropped_at["consistency"] - dropped_at["quality"])
