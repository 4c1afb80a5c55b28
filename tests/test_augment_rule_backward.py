"""Rule-made backward questions: one number of Q hidden as x, its value the exact answer; or
a choice problem's concept hidden as a blank."""

from __future__ import annotations

import dataclasses

import pytest

from revthink.answers import is_correct
from revthink.augment.quality import reaches, reversal_defect
from revthink.augment.rule_backward import (
    mask_concept,
    mask_number,
    maskable_numbers,
    rule_backward,
)
from revthink.data import find_data_dir, load_problems
from revthink.records import Problem


def problem(question: str, answer: str = "10", answer_type: str = "number") -> Problem:
    return Problem(id="q", dataset="t", question=question, answer=answer,
                   answer_type=answer_type)  # type: ignore[arg-type]


def test_masks_one_number_and_states_the_answer() -> None:
    rule = mask_number(problem("Sam has 4 apples and buys 6 more. How many now?"), seed=0)
    assert rule is not None
    assert rule.answer in {"4", "6"}
    masked, ask = rule.question.split("\n")
    assert masked.count("x") == 1 and rule.answer not in masked.replace("x", "")
    assert ask == "We know that the answer to this question is 10. What number does x stand for?"
    assert is_correct(f"So x = {rule.answer}. The answer is {rule.answer}.", rule.answer, "number")


def test_the_choice_depends_on_the_seed_and_is_reproducible() -> None:
    p = problem("Add 1, 2, 3, 4, 5, 6, 7 and 8 then 9 and 11 and 12.")
    answers = {mask_number(p, seed).answer for seed in range(30)}  # type: ignore[union-attr]
    assert len(answers) > 3
    assert mask_number(p, 5) == mask_number(p, 5)


def test_numbers_with_separators_and_decimals_are_whole_numbers() -> None:
    text = "It costs $1,250.50 for 3rd-row seats, 7 of them."
    found = [m.group() for m in maskable_numbers(text)]
    assert found == ["1,250.50", "7"]  # "3rd" is an ordinal, not a quantity
    rule = mask_number(problem("A car costs $1,250 and a bike 7 dollars."), seed=1)
    assert rule is not None and rule.answer in {"1250", "7"}


def test_repeated_numbers_are_not_masked() -> None:
    assert [m.group() for m in maskable_numbers("2 cats, 2 dogs and 5 fish")] == ["5"]
    assert mask_number(problem("2 cats and 2 dogs. How many pets?", "4"), seed=0) is None


def test_only_numeric_answers_qualify() -> None:
    assert mask_number(problem("Is 5 more than 3?", "yes", "yes_no"), seed=0) is None
    assert mask_number(problem("How many legs does a spider have?", "8"), seed=0) is None


def test_numbers_inside_words_are_neither_masked_nor_counted_as_unique() -> None:
    assert [m.group() for m in maskable_numbers("COVID19 kept 19 away; 5 came.")] == ["5"]
    assert [m.group() for m in maskable_numbers("Model X2 costs 40 and Y3 costs 9.")] == [
        "40", "9",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("She reads from 3:30 to 5:45 and then 12 pages.", ["12"]),
        ("The shop opens at 9 am and closes at 6 p.m.; 14 people came.", ["14"]),
        ("Mix flour and water in the ratio 7:11, then add 1/4 of 9 cups.", ["9"]),
        ("It happened on 2021-05-01 and took 12 days.", ["12"]),
        ("In 2021 he had 4 cats, worth 2000 dollars.", ["4", "2000"]),
        ("On March 3, 2019 she got 7 pens.", ["7"]),
        ("Born 5 May, she has 8 toys.", ["8"]),
        ("It costs $2021 and 3 more.", ["2021", "3"]),
    ],
)
def test_numbers_of_dates_times_ratios_and_fractions_are_never_masked(
    text: str, expected: list[str]
) -> None:
    assert [m.group() for m in maskable_numbers(text)] == expected


def test_a_question_that_already_uses_x_is_not_masked() -> None:
    assert mask_number(problem("A box is 3 x 4 feet. What is its area?", "12"), seed=0) is None


def test_every_candidate_answer_hides_the_same_number() -> None:
    p = problem("Sam has 4 apples, buys 6 and eats 3. How many now?", "7")
    rules = [mask_number(dataclasses.replace(p, answer=a), seed=2) for a in ("7", "8", "100")]
    assert len({r.answer for r in rules if r is not None}) == 1
    assert [r.question.endswith(f"is {a}. What number does x stand for?")
            for r, a in zip(rules, ("7", "8", "100"), strict=True) if r is not None] == [True] * 3


def test_a_number_equal_to_the_stated_answer_is_never_hidden() -> None:
    p = problem("Sam has 7 apples and buys 10 more. How many now?", "17")
    for seed in range(10):
        assert mask_number(dataclasses.replace(p, answer="10"), seed).answer == "7"  # type: ignore[union-attr]
    assert mask_number(p, 0, avoid=["7.0", "10"]) is None


def choice(question: str, concept: str, options: tuple[str, ...] = ("lake", "ignore", "desk"),
           answer: str = "B") -> Problem:
    return Problem(id="c", dataset="t", question=question, answer=answer, answer_type="choice",
                   options=options, concept=concept)


def test_a_choice_problem_hides_its_concept_as_a_blank_and_states_the_answer() -> None:
    p = choice("The Punishing blow seemed to what the efforts made?", "punishing")
    rule = rule_backward(p, seed=0)
    assert rule == mask_concept(p)
    assert rule is not None and rule.answer == "Punishing"  # as Q writes it
    blanked, ask = rule.question.split("\n")
    assert blanked == "The ___ blow seemed to what the efforts made?"
    assert ask == 'We know that the answer to this question is "ignore". What does ___ stand for?'
    assert reversal_defect(p, rule.answer, rule.question) is None
    assert reaches("So ___ is punishing. The answer is punishing.", rule.answer)


@pytest.mark.parametrize(("question", "concept", "options"), [
    ("Where do you keep a pen?", "", ("lake", "ignore", "desk")),  # the source names none
    ("A pen, or a pen?", "pen", ("lake", "ignore", "desk")),  # stated twice: it would stay
    ("Where is the pencil?", "pen", ("lake", "ignore", "desk")),  # not a word of Q
    ("Where is a desk lamp?", "desk", ("lake", "desk drawer", "x")),  # the answer names it
    ("Fill ___ with a pen?", "pen", ("lake", "ignore", "desk")),  # a blank is already there
    ("Where is a t-shirt kept?", "shirt", ("lake", "ignore", "desk")),  # half a word
    ("Mark wanted to know the truth.", "know", ("lake", "ignore", "desk")),  # "We know that"
])
def test_no_concept_to_hide(question: str, concept: str, options: tuple[str, ...]) -> None:
    assert mask_concept(choice(question, concept, options)) is None


def test_function_words_do_not_count_as_giving_the_concept_away() -> None:
    rule = mask_concept(choice("Where do you go to sleep?", "go to sleep",
                               ("to bed", "ignore", "x"), answer="A"))
    assert rule is not None and rule.answer == "go to sleep"


def test_a_concept_of_several_words_is_reached_only_whole() -> None:
    piece = "eating breakfast in bed"
    assert reaches("The answer is eating breakfast in bed.", piece, whole=True)
    assert not reaches("The answer is bed.", piece, whole=True)
    assert not reaches("The answer is in.", piece, whole=True)
    assert reaches("The answer is bed.", piece)  # a piece the teacher named: part of it will do


def test_numbers_still_go_to_the_number_rule() -> None:
    p = problem("Sam has 4 apples and buys 6 more. How many now?")
    assert rule_backward(p, seed=3) == mask_number(p, seed=3)


def test_most_commonsenseqa_problems_get_a_rule_question_that_passes_the_checks() -> None:
    """The source's concept is a word of the stem for most of the 9,741 problems, and every
    rule question is a reversal by the project's own check."""
    data_dir = find_data_dir()
    assert data_dir is not None, "the shared data folder (../shared/data) was not found"
    problems = load_problems("commonsenseqa", "train", data_dir=data_dir)
    rules = {p.id: rule for p in problems if (rule := mask_concept(p)) is not None}
    assert len(rules) >= 0.8 * len(problems)
    by_id = {p.id: p for p in problems}
    assert [pid for pid, r in rules.items() if reversal_defect(by_id[pid], r.answer, r.question)
            ] == []
