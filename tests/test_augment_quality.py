"""Quality flags: exact reversals raise none; each flag names the failure it is for."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.augment_run import ScriptedTeacher, assert_funnel_adds_up, ok, run

from revthink.augment.quality import quality_flags
from revthink.augment.rule_backward import mask_number
from revthink.config import TeacherConfig
from revthink.data import load_problems
from revthink.records import Problem
from revthink.synthetic import FAMILIES, generate_items
from revthink.teachers.base import GenerationRequest, GenerationResult
from revthink.teachers.program import ProgramTeacher

PENS = Problem(id="p", dataset="t", question="Ann has 5 pens and buys 12 more. How many pens?",
               answer="17", answer_type="number")
MILK = Problem(id="m", dataset="t", question="Where do you keep milk so that it stays cold?",
               answer="B", answer_type="choice", options=("oven", "refrigerator", "cupboard"))
SUM = Problem(id="s", dataset="t", question="Ann has 5 pens and buys 1,200 more. How many?",
              answer="1205", answer_type="number")
DATE = Problem(id="d", dataset="t", question="Today is 03/15/2021. What was the date 10 days "
               "ago in MM/DD/YYYY?", answer="A", answer_type="choice",
               options=("03/05/2021", "03/04/2021"))


def test_the_program_teachers_exact_reversals_raise_no_flag(tmp_path: Path) -> None:
    problems = load_problems("synthetic", "train", limit=60, seed=0)
    records, funnel, _ = run(problems, ProgramTeacher(TeacherConfig()), tmp_path)
    assert len(records) == 60
    assert [r.flags for r in records] == [()] * 60 and not funnel.flagged


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("split", ["train", "hard"])
def test_every_synthetic_familys_reversal_raises_no_flag(family: str, split: str) -> None:
    for item in generate_items(family, split, 40, seed=1):
        flags = quality_flags(item.problem, item.backward_question, item.backward_reasoning)
        assert flags == (), (item.problem.question, item.backward_question)


def test_rule_made_gsm8k_reversals_raise_no_flag() -> None:
    checked = 0
    for problem in load_problems("gsm8k", "train", limit=40, seed=0):
        rule = mask_number(problem, seed=0)
        if rule is not None:
            reasoning = f"x = {rule.answer}. The answer is {rule.answer}."
            assert quality_flags(problem, rule.question, reasoning) == (), problem.id
            checked += 1
    assert checked >= 30


@pytest.mark.parametrize(
    ("problem", "backward_question", "backward_reasoning", "flags"),
    [
        (PENS, "Ann has some pens and buys 12 more. How many pens did she have?",
         "The answer is 5.", ("answer_missing",)),
        (PENS, "Ann has 5 pens and buys 12 more. How many pens?", "The answer is 17.",
         ("answer_missing", "repeats_question", "answer_not_in_question")),
        (PENS, "Ann ends with 17 pens after buying some. How many pens?", "The answer is 12.",
         ("repeats_question",)),
        (PENS, "Ann ends with 17 pens after buying 12. How many pens had she?",
         "The answer is 6.", ("answer_not_in_question",)),
        (MILK, "You keep something in the oven. What is it?", "The answer is bread.",
         ("answer_missing", "answer_not_in_question")),
        (MILK, "Something kept in the refrigerator stays cold. What is it?",
         "The answer is the milk.", ()),
    ],
)
def test_each_flag_names_its_failure(
    problem: Problem, backward_question: str, backward_reasoning: str, flags: tuple[str, ...]
) -> None:
    assert quality_flags(problem, backward_question, backward_reasoning) == flags


def test_numbers_dates_and_option_words_are_found_in_any_wording() -> None:
    assert quality_flags(PENS, "Ann ends with seventeen pens after buying twelve. How many did "
                         "she start with?", "So x = $5. The answer is x = 5.") == ()
    assert quality_flags(DATE, "Ten days ago it was March 5, 2021. What is today's date?",
                         "The answer is 15 March 2021.") == ()
    flags = quality_flags(DATE, "Ten days ago it was March 4, 2021. What is today's date?",
                          "The answer is 03/16/2021.")
    assert flags == ("answer_missing", "answer_not_in_question")


def test_flags_are_counted_and_drop_records_only_where_configured(tmp_path: Path) -> None:
    def script(request: GenerationRequest, nth: int) -> GenerationResult:
        texts = {
            "forward": "5 + 1200 = 1205. The answer is 1205.",
            "backward_question": "Ann ends with 1205 pens. How many?",  # Q's question again
            "backward_reasoning": "The answer is 1205.",
            "consistency": "It asks for the same thing.\nTrue",
        }
        return ok(texts[request.purpose])

    records, funnel, _ = run([SUM], ScriptedTeacher(script), tmp_path / "count")
    assert [r.flags for r in records] == [("repeats_question", "answer_not_in_question")]
    assert funnel.flagged == {"repeats_question": 1, "answer_not_in_question": 1}
    assert_funnel_adds_up(funnel, records)

    records, funnel, _ = run([SUM], ScriptedTeacher(script), tmp_path / "drop",
                             drop_flags=("answer_not_in_question",))
    assert records == [] and funnel.dropped == {"quality:answer_not_in_question": 1}
    assert funnel.to_json()["flagged"] == {"answer_not_in_question": 1, "repeats_question": 1}
    assert_funnel_adds_up(funnel, records)

