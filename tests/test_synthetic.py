"""The synthetic suite: seeded, regenerable from ids, exact, varied and split-disjoint."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from revthink.errors import DataError
from revthink.synthetic import (
    REGULAR_SPLITS,
    generate_items,
    generate_problems,
    item_from_id,
    rephrased_question,
)
from revthink.synthetic.dates import count_days, day_steps, long
from revthink.synthetic.draw import Draw
from revthink.synthetic.lexicon import FEMALE_NAMES, MALE_NAMES, THINGS, Person
from revthink.synthetic.relations import Tree

FAMILIES = ("arithmetic", "dates", "relations", "mixed")
FINAL = re.compile(r"The answer is \(?([^()]+?)\)?\.$")


def final_answer(text: str) -> str | None:
    match = FINAL.search(text)
    return match.group(1) if match else None


@pytest.fixture(scope="module")
def items() -> dict[str, list]:
    return {family: generate_items(family, "train", 300, seed=0) for family in FAMILIES}


@pytest.mark.parametrize("family", FAMILIES)
def test_same_seed_same_items_and_other_seed_other_items(family: str) -> None:
    first = generate_items(family, "train", 40, seed=3)
    assert generate_items(family, "train", 40, seed=3) == first
    other = generate_items(family, "train", 40, seed=4)
    assert len({i.problem.question for i in first} & {i.problem.question for i in other}) < 4


def test_draw_is_pinned_across_platforms() -> None:
    """Ids must regenerate the same items anywhere: the draws themselves are fixed values."""
    draw = Draw("synthetic", 0)
    assert [draw.between(0, 999) for _ in range(5)] == [130, 137, 120, 233, 234]


@pytest.mark.parametrize("family", FAMILIES)
def test_item_from_id_round_trips(family: str, items: dict[str, list]) -> None:
    for item in items[family][:60]:
        assert item_from_id(item.problem.id) == item


def test_ids_name_dataset_split_seed_and_index() -> None:
    assert [p.id for p in generate_problems("dates", "test", 2, seed=7)] == [
        "synthetic_dates/test/7/000000", "synthetic_dates/test/7/000001",
    ]
    mixed = generate_problems("mixed", "validation", 3, seed=0)
    assert [p.dataset for p in mixed] == ["synthetic"] * 3
    assert [p.answer_type for p in mixed] == ["number", "choice", "choice"]


@pytest.mark.parametrize(
    "bad", ["synthetic_dates/train/0", "gsm8k/train/0/000001", "synthetic_dates/dev/0/000001",
            "synthetic_dates/train/x/000001", "synthetic_dates/train/0/1"],
)
def test_bad_ids_raise_data_errors_naming_the_id(bad: str) -> None:
    with pytest.raises(DataError, match=re.escape(repr(bad))):
        item_from_id(bad)


def test_unknown_family_or_split_is_refused() -> None:
    with pytest.raises(DataError, match="unknown"):
        generate_problems("poetry", "train", 1, seed=0)
    with pytest.raises(DataError, match="split 'dev'"):
        generate_problems("dates", "dev", 1, seed=0)


@pytest.mark.parametrize("family", FAMILIES)
def test_forward_reasoning_ends_in_the_gold_answer(family: str, items: dict[str, list]) -> None:
    for item in items[family]:
        problem = item.problem
        assert final_answer(item.forward_reasoning) == problem.answer, problem.id
        if problem.answer_type == "choice":
            assert 4 <= len(problem.options) <= 5 or problem.options == ("yes", "no")
            assert len(set(problem.options)) == len(problem.options), problem.id
        else:
            assert problem.answer.isdigit()


@pytest.mark.parametrize("family", FAMILIES)
def test_backward_answer_is_stated_in_the_question(family: str, items: dict[str, list]) -> None:
    for item in items[family]:
        assert final_answer(item.backward_reasoning) == item.backward_answer, item.problem.id
        assert re.search(rf"(?<![\w/-]){re.escape(item.backward_answer)}(?![\w/-])",
                         item.problem.question), item.problem.id
        assert item.backward_question != item.problem.question


@pytest.mark.parametrize("family", FAMILIES)
def test_texts_are_short_enough_for_a_small_student(family: str, items: dict[str, list]) -> None:
    for item in items[family]:
        assert len(item.problem.question.split()) < 80
        assert len(item.backward_question.split()) < 80
        assert len(item.forward_reasoning.split()) < 120
        assert len(item.backward_reasoning.split()) < 120


def _equations(text: str) -> list[tuple[str, int]]:
    """Every "a op b [op c ...] = d" shown, as (left side, right side)."""
    found = re.findall(r"(?<![\w-])(-?\d+(?: [-+*/] \d+)+) = (-?\d+)", text)
    return [(left, int(right)) for left, right in found]


@pytest.mark.parametrize("family", ["arithmetic", "dates"])
def test_every_shown_calculation_is_right(family: str, items: dict[str, list]) -> None:
    checked = 0
    for item in items[family]:
        for left, right in _equations(item.forward_reasoning + " " + item.backward_reasoning):
            assert eval(left) == right, (item.problem.id, left, right)  # digits and + - * / only
            checked += 1
    assert checked > len(items[family])


def test_arithmetic_backward_question_masks_one_number_as_x(items: dict[str, list]) -> None:
    for item in items["arithmetic"]:
        assert len(re.findall(r"\bx\b", item.backward_question)) == 2  # masked, then asked for
        assert item.problem.answer in item.backward_question


def test_day_arithmetic_matches_the_calendar() -> None:
    draw = Draw("calendar")
    for _ in range(400):
        start = date(2000, 1, 1) + timedelta(days=draw.between(0, 12000))
        days = draw.between(1, 70) * draw.choice((1, -1))
        end = start + timedelta(days=days)
        assert day_steps(start, days).endswith(f"That is {long(end)}.")
        early, late = sorted((start, end))
        assert count_days(early, late).endswith(f"= {abs(days)} days.")


def test_relation_holders_follow_the_tree() -> None:
    names = [Person(n, "f") for n in ("Ann", "Bea", "Cat", "Dot", "Eve")]
    tree = Tree(tuple(names), (-1, 0, 0, 1, 1))  # Ann -> Bea, Cat; Bea -> Dot, Eve
    assert tree.holders("parent", 3) == [1]
    assert tree.holders("grandparent", 4) == [0]
    assert tree.holders("child", 0) == [1, 2]
    assert tree.holders("grandchild", 0) == [3, 4]
    assert tree.holders("sibling", 1) == [2]
    assert tree.others("sibling", 1) == [0, 3, 4]


@pytest.mark.parametrize("family", ["arithmetic", "dates", "relations"])
def test_splits_never_share_a_question(family: str) -> None:
    questions = {
        split: {p.question for p in generate_problems(family, split, 1500, seed=0)}
        for split in REGULAR_SPLITS
    }
    assert not questions["train"] & questions["test"]
    assert not questions["train"] & questions["validation"]
    assert not questions["validation"] & questions["test"]


def _skeleton(question: str) -> str:
    words = {*FEMALE_NAMES, *MALE_NAMES, *(t.plural for t in THINGS), *(t.pack for t in THINGS),
             *(t.singular for t in THINGS), "January", "February", "March", "April", "May",
             "June", "July", "August", "September", "October", "November", "December"}
    text = re.sub(r"\d+", "#", question)
    return re.sub(r"\b(" + "|".join(sorted(words, key=len, reverse=True)) + r")\b", "_", text)


@pytest.mark.parametrize("family", ["arithmetic", "dates", "relations"])
def test_questions_come_in_many_shapes(family: str, items: dict[str, list]) -> None:
    skeletons = {_skeleton(item.problem.question) for item in items[family][:200]}
    assert len(skeletons) >= 10


def test_mixed_cycles_through_the_families() -> None:
    kinds = [p.answer_type for p in generate_problems("mixed", "train", 9, seed=1)]
    assert kinds == ["number", "choice", "choice"] * 3


@pytest.mark.parametrize("family", ["arithmetic", "dates", "relations"])
def test_rephrasing_keeps_the_problem_and_changes_the_words(family: str) -> None:
    for item in generate_items(family, "train", 20, seed=0):
        rephrased = rephrased_question(item.problem.id)
        assert rephrased != item.problem.question
        if item.problem.answer_type == "number":
            assert sorted(re.findall(r"\d+", rephrased)) == sorted(
                re.findall(r"\d+", item.problem.question))
