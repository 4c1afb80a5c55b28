"""Votes over sampled answers, backward checks, and the per-problem record of both.

Pure functions of answers already extracted, so the decision rule is tested without a model:

    votes = tally(["18", "18", "20", None])          # {"18": 2, "20": 1}
    scores = combine(votes, {"20": 1}, weight=2.0)   # {"18": 2.0, "20": 3.0}
    choose(scores, votes)                            # "20"

``evaluate.decode: forward_backward`` ranks candidate c by votes(c) + weight * successes(c),
where successes(c) counts the backward checks of c that recovered the hidden number;
``self_consistency`` is the same with no backward checks. A tie goes to the candidate with more
votes, then to the one sampled first.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from revthink.errors import RecordError

DECODINGS = "decodings.jsonl"  # beside predictions.jsonl: one Decoding a problem


def tally(answers: Sequence[str | None]) -> dict[str, int]:
    """Votes per answer, in order of first appearance; samples without an answer do not vote."""
    return dict(Counter(a for a in answers if a is not None))


def combine(
    votes: Mapping[str, int], successes: Mapping[str, int], weight: float
) -> dict[str, float]:
    """score(c) = votes(c) + weight * successes(c), for every candidate c that was voted for."""
    return {c: n + weight * successes.get(c, 0) for c, n in votes.items()}


def choose(scores: Mapping[str, float], votes: Mapping[str, int]) -> str | None:
    """The best-scored candidate; ties by votes, then by first appearance; None: no candidate."""
    if not scores:
        return None
    order = {c: i for i, c in enumerate(scores)}
    return max(scores, key=lambda c: (scores[c], votes.get(c, 0), -order[c]))


@dataclass(frozen=True)
class BackwardCheck:
    """One candidate put to the test: given it as the answer, is the hidden number recovered?"""

    candidate: str
    question: str  # the forward question with one number hidden as x and the candidate stated
    expected: str  # the hidden number
    extracted: str | None  # the student's answer to ``question`` (strict extraction)
    recovered: bool
    tokens: int


@dataclass(frozen=True)
class Decoding:
    """How one problem's answer was chosen from its samples (a line of ``decodings.jsonl``).

    ``fallback`` says why forward_backward used votes alone ("" when it did not); ``majority``
    is the self-consistency answer of the same samples, so one forward_backward run also gives
    self-consistency at equal samples (``majority_correct``, judged when it was predicted).
    """

    problem_id: str
    strategy: str
    answers: tuple[str | None, ...]  # per sample, strict extraction
    votes: dict[str, int]
    checks: tuple[BackwardCheck, ...]
    scores: dict[str, float]
    chosen: str | None
    majority: str | None
    majority_correct: bool
    fallback: str
    forward_tokens: int
    backward_tokens: int


def decoding_to_json(decoding: Decoding) -> str:
    return json.dumps(dataclasses.asdict(decoding), ensure_ascii=False)


def decoding_from_json(line: str, where: str) -> Decoding:
    """A saved line back as a Decoding; RecordError naming ``where`` when it is not one."""
    try:
        data: dict[str, Any] = json.loads(line)
        checks = tuple(BackwardCheck(**c) for c in data.pop("checks"))
        return Decoding(**{**data, "answers": tuple(data["answers"]), "checks": checks})
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
        raise RecordError(f"{where}: not a decoding record ({err})") from None


def read_decodings(folder: Path) -> dict[str, Decoding]:
    """The saved decodings by problem id (a later line replaces an earlier one of the same id).

    A last line torn by a kill is ignored: its problem has no prediction either and is redone.
    """
    path = folder / DECODINGS
    if not path.is_file():
        return {}
    lines = path.read_text(encoding="utf-8").splitlines()
    found: dict[str, Decoding] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip() or (number == len(lines) and not _is_json(line)):
            continue
        decoding = decoding_from_json(line, f"{path}:{number}")
        found[decoding.problem_id] = decoding
    return found


def append_decodings(folder: Path, decodings: Sequence[Decoding]) -> None:
    with (folder / DECODINGS).open("a", encoding="utf-8") as f:
        f.writelines(decoding_to_json(d) + "\n" for d in decodings)


def keep_decodings(folder: Path, ids: Sequence[str]) -> None:
    """Keep the decodings of ``ids`` (the predictions kept on resume), in that order."""
    path = folder / DECODINGS
    if not path.is_file():
        return
    saved = read_decodings(folder)
    kept = [decoding_to_json(saved[i]) + "\n" for i in ids if i in saved]
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(kept), encoding="utf-8")
    tmp.replace(path)


def summary(decodings: Sequence[Decoding]) -> dict[str, float]:
    """Per-benchmark figures for ``Score.extra``: tokens per problem split forward/backward,
    how often forward_backward fell back, and self-consistency accuracy of the same samples."""
    n = len(decodings) or 1
    return {
        "samples": float(max((len(d.answers) for d in decodings), default=0)),
        "forward_tokens_per_problem": sum(d.forward_tokens for d in decodings) / n,
        "backward_tokens_per_problem": sum(d.backward_tokens for d in decodings) / n,
        "backward_checks_per_problem": sum(len(d.checks) for d in decodings) / n,
        "fallback_rate": sum(bool(d.fallback) for d in decodings) / n,
        "self_consistency_accuracy": sum(d.majority_correct for d in decodings) / n,
    }


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True
