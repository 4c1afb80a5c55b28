"""Items of the synthetic suite from (family, split, seed, index), and back from their ids.

Splits never share a problem: each item's facts are drawn, then kept only if a hash of the facts
falls in the split's bucket (about three draws on average), so train, validation and test cover
disjoint parts of the problem space whatever their seeds. The test-only hard split draws from
beyond them (more reasoning steps than any regular problem) and words its questions with
held-out templates, so phrasing memorised in training does not carry it.
"""

from __future__ import annotations

from revthink.errors import DataError
from revthink.records import Problem
from revthink.synthetic import arithmetic, dates, relations
from revthink.synthetic.draw import Draw, stable_int
from revthink.synthetic.item import (
    HARD,
    REGULAR_SPLITS,
    SPLITS,
    Family,
    ItemRef,
    SyntheticItem,
    parse_id,
)

FAMILIES: dict[str, Family] = {
    f.name: f for f in (arithmetic.FAMILY, dates.FAMILY, relations.FAMILY)
}
MIXED = "mixed"
DATASETS: dict[str, str] = {"synthetic_" + name: name for name in FAMILIES} | {"synthetic": MIXED}
_MAX_REPHRASINGS = 8


def dataset_name(family: str) -> str:
    """``synthetic_<family>``, or ``synthetic`` for the mix; raises DataError on an unknown one."""
    if family == MIXED:
        return "synthetic"
    if family not in FAMILIES:
        raise DataError(
            f"synthetic family {family!r} is unknown; expected one of "
            f"{', '.join([*FAMILIES, MIXED])}"
        )
    return "synthetic_" + family


def _family_of(ref: ItemRef) -> Family:
    """The mix cycles through the families in a fixed order, so it is balanced at any size."""
    name = DATASETS[ref.dataset]
    if name == MIXED:
        name = list(FAMILIES)[ref.index % len(FAMILIES)]
    return FAMILIES[name]


def _facts_in_split(family: Family, ref: ItemRef) -> object:
    draw = Draw(ref.id, "facts")
    if ref.split == HARD:
        return family.sample_hard(draw)
    wanted = REGULAR_SPLITS.index(ref.split)
    while True:
        facts = family.sample(draw)
        if stable_int(family.name, family.key(facts)) % len(REGULAR_SPLITS) == wanted:
            return facts


def build(ref: ItemRef, question_variant: int = 0, reasoning_variant: int = 0) -> SyntheticItem:
    """The item of ``ref``; variants > 0 reword the question or the reasoning, never the facts."""
    family = _family_of(ref)
    facts = _facts_in_split(family, ref)
    question = Draw(ref.id, "question", question_variant)
    reasoning = Draw(ref.id, "reasoning", reasoning_variant)
    text = family.render(facts, question, reasoning, ref.split == HARD)
    problem = Problem(
        id=ref.id, dataset=ref.dataset, question=text.question, answer=text.answer,
        answer_type=text.answer_type, options=text.options,
    )
    return SyntheticItem(
        problem=problem, forward_reasoning=text.forward_reasoning,
        backward_question=text.backward_question, backward_reasoning=text.backward_reasoning,
        backward_answer=text.backward_answer,
    )


def generate_items(family: str, split: str, n: int, seed: int) -> list[SyntheticItem]:
    """The first ``n`` items of a family's split for ``seed`` (any n: the stream is unbounded)."""
    dataset = dataset_name(family)
    if split not in SPLITS:
        raise DataError(f"synthetic dataset {dataset!r}: split {split!r} not in {SPLITS}")
    if n < 0 or seed < 0:
        raise DataError(f"synthetic dataset {dataset!r}: n and seed must be >= 0, got {n}, {seed}")
    return [build(ItemRef(dataset, split, seed, index)) for index in range(n)]


def generate_problems(family: str, split: str, n: int, seed: int) -> list[Problem]:
    return [item.problem for item in generate_items(family, split, n, seed)]


def item_from_id(problem_id: str) -> SyntheticItem:
    """Regenerate the item of ``problem_id``; raises DataError if it is no synthetic id."""
    return build(parse_id(problem_id, tuple(DATASETS)))


def reasoning_steps(problem_id: str) -> int:
    """How many steps the item's forward reasoning takes, by its family's measure (arithmetic:
    operations; dates: lines of the date move; relations: parent links chained)."""
    ref = parse_id(problem_id, tuple(DATASETS))
    family = _family_of(ref)
    return family.steps(_facts_in_split(family, ref))


def rephrased_question(problem_id: str) -> str:
    """The same problem in other words (the first rewording that differs from the original)."""
    ref = parse_id(problem_id, tuple(DATASETS))
    original = build(ref).problem.question
    for variant in range(1, _MAX_REPHRASINGS + 1):
        question = build(ref, question_variant=variant).problem.question
        if question != original:
            return question
    return original


def reasoning_variant(problem_id: str, variant: int) -> SyntheticItem:
    """The item with its reasonings reworded (variant 0 is the item itself)."""
    return build(parse_id(problem_id, tuple(DATASETS)), reasoning_variant=variant)
