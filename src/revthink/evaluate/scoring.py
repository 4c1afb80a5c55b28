"""Verdicts and scores: model outputs in, ``Prediction`` and ``Score`` records out.

Everything here works from saved text, so a benchmark is rescored (after an extractor fix, or
with another number of bootstrap samples) without loading a model:

    from revthink.evaluate.scoring import rescore
    score = rescore(Path("runs/x/evaluate/revthink/gsm8k/predictions.jsonl"))

Strict extraction only accepts the requested final-answer sentence; flexible extraction also
takes the last answer-like span. Accuracy and its interval are strict; flexible figures and
failure rates sit beside them (``Score.extra``). Outputs that ask a question instead of
answering one (a student that learnt to copy backward questions) are counted on their own
(``Score.question_rate``): they are a failure with a cause, not just a missing answer.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from revthink import answers
from revthink.errors import RecordError
from revthink.records import Prediction, Problem, Score, read_jsonl

TIMING = "timing.json"  # generation seconds, summed over every (resumed) evaluation process
LEVEL = 0.95
_TRAILING_MARKUP = " \t\n*_`\"')]"  # what may close a question: markdown, quotes, brackets
_QUESTION_END = re.compile(r"\?[" + re.escape(_TRAILING_MARKUP) + r"]*$")


def judge(problem: Problem, output: str, *, method: str, prompt: str, tokens: int) -> Prediction:
    """A prediction of ``method`` for ``problem`` with strict and flexible verdicts."""
    options = problem.options or None
    return Prediction(
        problem_id=problem.id,
        dataset=problem.dataset,
        method=method,
        prompt=prompt,
        output=output,
        gold=problem.answer,
        extracted=answers.extract(output, problem.answer_type, options, mode="strict"),
        extracted_flexible=answers.extract(output, problem.answer_type, options, mode="flexible"),
        correct=answers.is_correct(output, problem.answer, problem.answer_type, options, "strict"),
        correct_flexible=answers.is_correct(
            output, problem.answer, problem.answer_type, options, "flexible"
        ),
        generated_tokens=tokens,
    )


def answer_check(problem: Problem) -> Callable[[str], bool]:
    """Whether a text states a final answer to ``problem`` the way strict scoring reads one.

    Generation stops an output once this holds at a sentence end, so early stopping follows
    the extractors (and any rewording of the requested answer sentence) by construction.
    """
    options = problem.options or None

    def check(text: str) -> bool:
        return answers.extract(text, problem.answer_type, options, mode="strict") is not None

    return check


def rejudge(prediction: Prediction, problem: Problem) -> Prediction:
    """The same output judged again with the current extractors and gold answer."""
    return judge(
        problem, prediction.output, method=prediction.method, prompt=prediction.prompt,
        tokens=prediction.generated_tokens,
    )


def asks_question(prediction: Prediction) -> bool:
    """True when the output states no final answer and ends by asking a question.

    A copied or invented question ends with "?" (perhaps inside markdown or quotes); an answer
    that merely quotes a question on the way still states "The answer is ..." and is not counted.
    """
    return prediction.extracted is None and _QUESTION_END.search(prediction.output) is not None


def bootstrap_interval(
    correct: Sequence[bool], samples: int = 1000, seed: int = 0, level: float = LEVEL
) -> tuple[float, float]:
    """Percentile bootstrap interval of the accuracy of ``correct``.

    Resampling n verdicts with replacement and counting the correct ones is exactly a draw
    from Binomial(n, accuracy), so the resamples are drawn that way: the same interval as
    index resampling, in O(samples) memory instead of O(samples * n).
    """
    n = len(correct)
    if n == 0:
        return 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = rng.binomial(n, float(np.mean(correct)), size=samples) / n
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def score(
    predictions: Sequence[Prediction], *, samples: int = 1000, seed: int = 0, seconds: float = 0.0
) -> Score:
    """Accuracy (strict) with its interval, flexible accuracy, failure and question rates, speed.

    ``seconds`` is the time spent generating these predictions; 0 leaves tokens/s at 0.
    """
    strict = [p.correct for p in predictions]
    flexible = [p.correct_flexible for p in predictions]
    tokens = sum(p.generated_tokens for p in predictions)
    low, high = bootstrap_interval(strict, samples, seed)
    flex_low, flex_high = bootstrap_interval(flexible, samples, seed)
    first = predictions[0] if predictions else None
    return Score(
        method=first.method if first else "",
        dataset=first.dataset if first else "",
        n=len(predictions),
        accuracy=_mean(strict),
        ci_low=low,
        ci_high=high,
        accuracy_flexible=_mean(flexible),
        extraction_failure_rate=_mean([p.extracted is None for p in predictions]),
        mean_generated_tokens=tokens / len(predictions) if predictions else 0.0,
        tokens_per_second=tokens / seconds if seconds > 0 else 0.0,
        question_rate=_mean([asks_question(p) for p in predictions]),
        extra={
            "ci_low_flexible": flex_low,
            "ci_high_flexible": flex_high,
            "extraction_failure_rate_flexible": _mean(
                [p.extracted_flexible is None for p in predictions]
            ),
            "generation_seconds": seconds,
        },
    )


def rescore(
    path: Path, problems: Mapping[str, Problem] | None = None, *, samples: int = 1000,
    seed: int = 0,
) -> Score:
    """The score of a saved ``predictions.jsonl``; no model is needed.

    With ``problems`` (by id) every output is judged again with the current extractors;
    without, the saved verdicts are counted. Generation time comes from the ``timing.json``
    beside the file when there is one.
    """
    predictions = read_jsonl(path, Prediction, tolerate_torn_tail=True)
    if problems is not None:
        unknown = [p.problem_id for p in predictions if p.problem_id not in problems]
        if unknown:
            raise RecordError(f"{path}: problem id {unknown[0]!r} is not in the benchmark")
        predictions = [rejudge(p, problems[p.problem_id]) for p in predictions]
    return score(predictions, samples=samples, seed=seed, seconds=read_seconds(path.parent))


def read_seconds(folder: Path) -> float:
    """Generation seconds recorded in ``folder`` (0 when none were)."""
    path = folder / TIMING
    if not path.is_file():
        return 0.0
    return float(json.loads(path.read_text(encoding="utf-8")).get("seconds", 0.0))


def add_seconds(folder: Path, seconds: float) -> None:
    """Add one batch's generation time, atomically, so a resumed run keeps the total."""
    total = read_seconds(folder) + seconds
    tmp = folder / (TIMING + ".tmp")
    tmp.write_text(json.dumps({"seconds": total}), encoding="utf-8")
    os.replace(tmp, folder / TIMING)


def _mean(values: Sequence[bool]) -> float:
    return float(np.mean(values)) if len(values) else 0.0
