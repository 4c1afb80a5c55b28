"""What a synthetic problem is made of, and the ids that regenerate it.

An id ``<dataset>/<split>/<seed>/<index>`` (e.g. ``synthetic_arithmetic/train/0/000123``) holds
everything needed to rebuild its item, so records, caches and the program teacher only ever
store the id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from revthink.errors import DataError
from revthink.records import AnswerType, Problem
from revthink.synthetic.draw import Draw

REGULAR_SPLITS: tuple[str, ...] = ("train", "validation", "test")  # disjoint parts of one space
HARD = "hard"  # test-only: more reasoning steps than any regular problem, held-out wording
SPLITS: tuple[str, ...] = (*REGULAR_SPLITS, HARD)


@dataclass(frozen=True)
class SyntheticItem:
    """A problem with the exact forward and backward texts a perfect teacher would write."""

    problem: Problem
    forward_reasoning: str  # ends "The answer is X." in the problem's answer format
    backward_question: str  # takes the answer as given and asks for a piece of the question
    backward_reasoning: str  # ends "The answer is M."
    backward_answer: str  # M: a number, date or name stated in the original question


@dataclass(frozen=True)
class Rendering:
    """A family's texts for one set of facts, before they get an id."""

    question: str
    answer: str
    answer_type: AnswerType
    forward_reasoning: str
    backward_question: str
    backward_reasoning: str
    backward_answer: str
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Family:
    """A problem family: facts are drawn first, then worded.

    Facts (numbers, people, options) fix what is asked; ``render`` words them with two streams,
    one for the question and one for the reasoning, so a rephrasing redraws only the first and
    answer augmentation only the second; its last argument picks the held-out question templates
    of the hard split. ``key`` names what the question asks, leaving out what it does not show
    (options, the backward mask): the regular splits are partitioned on it. ``sample_hard`` draws
    facts needing more reasoning ``steps`` than any ``sample`` can, so the hard split is
    out of distribution by construction.
    """

    name: str
    sample: Callable[[Draw], Any]  # a frozen facts object
    render: Callable[[Any, Draw, Draw, bool], Rendering]  # (facts, question, reasoning, held_out)
    key: Callable[[Any], str]
    sample_hard: Callable[[Draw], Any]
    steps: Callable[[Any], int]  # reasoning steps the facts need: the hard split's measure


@dataclass(frozen=True)
class ItemRef:
    """The parsed parts of a synthetic problem id."""

    dataset: str
    split: str
    seed: int
    index: int

    @property
    def id(self) -> str:
        return f"{self.dataset}/{self.split}/{self.seed}/{self.index:06d}"


def parse_id(problem_id: str, datasets: tuple[str, ...]) -> ItemRef:
    """Split ``problem_id``; raises DataError saying which part is wrong."""
    parts = problem_id.split("/")
    expected = "expected '<dataset>/<split>/<seed>/<index>', e.g. 'synthetic_dates/train/0/000007'"
    if len(parts) != 4:
        raise DataError(f"synthetic problem id {problem_id!r}: {expected}")
    dataset, split, seed, index = parts
    if dataset not in datasets:
        raise DataError(
            f"synthetic problem id {problem_id!r}: dataset {dataset!r} is not one of {datasets}"
        )
    if split not in SPLITS:
        raise DataError(f"synthetic problem id {problem_id!r}: split {split!r} not in {SPLITS}")
    if not (seed.isdigit() and index.isdigit()):
        raise DataError(f"synthetic problem id {problem_id!r}: seed and index must be digits")
    ref = ItemRef(dataset, split, int(seed), int(index))
    if ref.id != problem_id:
        raise DataError(f"synthetic problem id {problem_id!r}: not canonical, expected {ref.id!r}")
    return ref
