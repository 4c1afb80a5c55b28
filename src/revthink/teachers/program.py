"""The program teacher: exact answers for the synthetic suite, through the Teacher protocol.

It reads no prompt to think: each request's ``problem_id`` names a synthetic item and its
``purpose`` says which of the item's texts to return, so augmentation (filters, funnel, ledger,
cache) runs unchanged, instantly and for free. With ``error_rate`` > 0 a seeded share of the
forward and backward reasonings end in a wrong answer, so the filters have something to catch.
It knows nothing else: ``check_dataset`` refuses any other dataset before a stage starts.

Token counts are whitespace-separated words (prompt: every message; completion: every text),
close enough for the ledger of a teacher that costs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from revthink.augment.prompts import backward_reply
from revthink.config import TeacherConfig
from revthink.data import DatasetSpec, registry
from revthink.errors import ConfigError, DataError
from revthink.synthetic import SyntheticItem, item_from_id, reasoning_variant, rephrased_question
from revthink.synthetic.draw import stable_int
from revthink.teachers.base import GenerationRequest, GenerationResult, ResultCallback

PURPOSES = ("forward", "backward_question", "backward_reasoning", "consistency", "rephrase")


def check_dataset(spec: DatasetSpec) -> None:
    """Refuse, before any work, a dataset whose problems this teacher cannot answer.

    A backward benchmark is refused too: its problems are backward questions, which the
    program teacher would answer as the forward ones their ids name.
    """
    if _answerable(spec):
        return
    suite = [name for name, s in registry().items() if _answerable(s)]
    raise ConfigError(
        f"key 'augment.teacher.backend': the program teacher only knows the synthetic suite, "
        f"but augment.data.dataset is {spec.name!r}; choose a synthetic dataset "
        f"({', '.join(suite)}) or a model teacher (openai_compat, llamacpp, hf_local, vllm)"
    )


def _answerable(spec: DatasetSpec) -> bool:
    """A forward dataset of the synthetic suite: the problems this teacher knows."""
    return spec.local is not None and spec.local.format == "synthetic" and not spec.backward


def _corrupt(text: str) -> str:
    """The same reasoning ending in a wrong final answer."""
    head, _, answer = text.rpartition("The answer is ")
    answer = answer.rstrip(".")
    if answer.isdigit():
        wrong = str(int(answer) + 1)
    elif re.fullmatch(r"\([A-Z]\)", answer):
        wrong = "(B)" if answer == "(A)" else "(A)"
    else:
        wrong = "unknown"
    return f"{head}The answer is {wrong}."


def _verdict(item: SyntheticItem, prompt: str) -> str:
    """True when the reasoning under review reaches the item's backward answer.

    The consistency prompt quotes the backward reasoning it asks about; a corrupted one ends in
    another answer, which is exactly what the consistency filter should drop.
    """
    if f"The answer is {item.backward_answer}." in prompt:
        return f"The backward reasoning recovers {item.backward_answer} from the answer.\nTrue"
    return f"The backward reasoning does not recover {item.backward_answer}.\nFalse"


class ProgramTeacher:
    """A teacher that knows the synthetic suite's solutions (backend ``program``)."""

    def __init__(self, cfg: TeacherConfig) -> None:
        if not 0.0 <= cfg.error_rate <= 1.0:
            raise ConfigError(
                f"augment.teacher.error_rate is {cfg.error_rate}, expected a number from 0 to 1"
            )
        self.error_rate = cfg.error_rate
        # the error rate changes the answers, so it must change cache keys too
        suffix = f":error_rate={cfg.error_rate:g}" if cfg.error_rate else ""
        self.name = "program:synthetic" + suffix

    def generate(
        self, requests: Sequence[GenerationRequest], on_result: ResultCallback | None = None
    ) -> list[GenerationResult]:
        results = []
        for index, request in enumerate(requests):
            results.append(self._answer(request))
            if on_result is not None:
                on_result(index, results[-1])
        return results

    def close(self) -> None:
        """Nothing to release."""

    def _answer(self, request: GenerationRequest) -> GenerationResult:
        prompt = "\n".join(message.content for message in request.messages)
        if request.purpose not in PURPOSES:
            return GenerationResult(
                error=f"program teacher: unknown purpose {request.purpose!r} for problem "
                f"{request.problem_id!r}; it answers {', '.join(PURPOSES)}",
                error_kind="unknown_purpose",
            )
        try:
            item = item_from_id(request.problem_id)
        except DataError as err:
            return GenerationResult(
                error=f"the program teacher only knows the synthetic suite "
                f"(datasets synthetic_*), not this problem: {err}",
                error_kind="not_synthetic",
            )
        if request.purpose == "backward_reasoning" and item.backward_question not in prompt:
            return GenerationResult(
                error=f"program teacher: problem {item.problem.id!r}: it can only reason about "
                "its own backward question (use augment.backward: teacher), and the prompt does "
                "not contain it",
                error_kind="foreign_backward_question",
            )
        texts = tuple(self._text(item, request, prompt, sample) for sample in range(request.n))
        return GenerationResult(
            texts=texts, finish_reasons=("stop",) * len(texts),
            prompt_tokens=len(prompt.split()),
            completion_tokens=sum(len(text.split()) for text in texts),
        )

    def _text(
        self, item: SyntheticItem, request: GenerationRequest, prompt: str, sample: int
    ) -> str:
        """Completion ``sample`` of a request: reasonings vary in wording from sample to sample."""
        variant = (request.seed or 0) + sample
        if request.purpose == "backward_question":
            return backward_reply(item.backward_answer, item.backward_question)
        if request.purpose == "consistency":
            return _verdict(item, prompt)
        if request.purpose == "rephrase":
            return rephrased_question(item.problem.id)
        worded = reasoning_variant(item.problem.id, variant)
        forward = request.purpose == "forward"
        text = worded.forward_reasoning if forward else worded.backward_reasoning
        return _corrupt(text) if self._errs(item, request, variant) else text

    def _errs(self, item: SyntheticItem, request: GenerationRequest, variant: int) -> bool:
        """A seeded draw: the same request always errs or not, other samples draw afresh."""
        key = stable_int(item.problem.id, request.purpose, variant, "error")
        return key / 2**64 < self.error_rate
