"""Sending one round of teacher requests: answers from the cache first, the rest at once.

All requests of a round go to the teacher in one ``generate`` call (batched by local backends,
concurrent for servers); each result is cached, counted in the ledger and shown on the progress
bar as it arrives, so a kill loses at most the calls still in flight.

An error result has outlived the backend's own retries. Once more problems have met one than
``error_limit`` allows, the run stops at once (mid-round: the calls in flight are abandoned)
rather than spend hours on a broken server; errors are never cached, so the rerun asks only
what failed or was not asked yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.progress import Progress, TaskID

from revthink.augment.cache import ResultCache, request_key
from revthink.augment.reporting import Ledger
from revthink.errors import RevthinkError
from revthink.teachers.base import GenerationRequest, GenerationResult, Teacher


class TeacherErrorLimit(RevthinkError):
    """More problems met teacher errors than ``augment.max_error_share`` allows."""


@dataclass(frozen=True)
class Call:
    """A request and the attempt it is (the sample index, part of its cache key)."""

    request: GenerationRequest
    attempt: int


class TeacherCalls:
    """The teacher behind the cache, with every call accounted for.

    ``error_limit``: how many problems may meet a teacher error before ``TeacherErrorLimit``
    is raised; None for no limit.
    """

    def __init__(
        self, teacher: Teacher, cache: ResultCache, ledger: Ledger, progress: Progress | None,
        error_limit: int | None = None,
    ) -> None:
        self.teacher = teacher
        self.cache = cache
        self.ledger = ledger
        self.progress = progress
        self.error_limit = error_limit

    def send(self, label: str, calls: Sequence[Call]) -> list[GenerationResult]:
        """One result per call, in order; only calls missing from the cache reach the teacher."""
        keys = [request_key(self.teacher.name, call.request, call.attempt) for call in calls]
        results: list[GenerationResult | None] = [self.cache.get(key) for key in keys]
        for call, result in zip(calls, results, strict=True):
            if result is not None:
                self.ledger.record(call.request, result, cached=True)
        missing = [i for i, result in enumerate(results) if result is None]
        task = self._task(label, len(calls), len(calls) - len(missing))

        def keep(j: int, result: GenerationResult) -> None:
            i = missing[j]
            if results[i] is not None:  # already kept through the callback
                return
            results[i] = result
            self.cache.put(keys[i], calls[i].request, result)
            self.ledger.record(calls[i].request, result, cached=False)
            if self.progress is not None and task is not None:
                self.progress.advance(task)
            if result.error is not None:
                self._check_errors()

        if missing:
            fresh = self.teacher.generate([calls[i].request for i in missing], keep)
            for j, result in enumerate(fresh):  # backends that do not call back
                keep(j, result)
        return [result for result in results if result is not None]

    def _check_errors(self) -> None:
        errors = self.ledger.errors
        if self.error_limit is None or len(errors.problems) <= self.error_limit:
            return
        raise TeacherErrorLimit(
            f"teacher {self.teacher.name}: {len(errors.problems)} problem(s) met errors that "
            f"outlived the backend's retries; augment.max_error_share allows "
            f"{self.error_limit}. First error: {errors.first_error()}"
        )

    def _task(self, label: str, total: int, done: int) -> TaskID | None:
        if self.progress is None:
            return None
        return self.progress.add_task(label, total=total, completed=done)
