"""Quality flags and reversal checks: exact reversals pass; each check names its failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.augment_run import ScriptedTeacher, assert_funnel_adds_up, ok, run

from revthink.augment.prompts import BackwardReply, read_backward_reply
from revthink.augment.quality import quality_flags, reaches, reversal_defect
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
@pytest.mark.parametrize("split", ["train", "test", "hard"])
def test_every_synthetic_familys_reversal_passes_the_checks(family: str, split: str) -> None:
    for item in generate_items(family, split, 100, seed=1):
        flags = quality_flags(item.problem, item.backward_question, item.backward_reasoning)
        assert flags == (), (item.problem.question, item.backward_question)
        hidden = item.backward_answer
        assert reversal_defect(item.problem, hidden, item.backward_question) is None, (
            item.problem.question, item.backward_question)
        assert reaches(item.backward_reasoning, hidden), item.backward_reasoning


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
            # a valid reversal that ends with Q's own question
            "backward_question": "Hidden: 5\nAnn has some pens and buys 1,200 more, 1205 in "
                                 "all. How many?",
            "backward_reasoning": "1205 - 1200 = 5. The answer is 5.",
            "consistency": "It recovers the 5 pens.\nTrue",
        }
        return ok(texts[request.purpose])

    records, funnel, _ = run([SUM], ScriptedTeacher(script), tmp_path / "count")
    assert [r.flags for r in records] == [("repeats_question",)]
    assert funnel.flagged == {"repeats_question": 1}
    assert_funnel_adds_up(funnel, records)

    records, funnel, _ = run([SUM], ScriptedTeacher(script), tmp_path / "drop",
                             drop_flags=("repeats_question",))
    assert records == [] and funnel.dropped == {"quality:repeats_question": 1}
    assert funnel.to_json()["flagged"] == {"repeats_question": 1}
    assert_funnel_adds_up(funnel, records)



# Reversal checks of a teacher's backward question against the piece it says it hid

TREE = Problem(id="t", dataset="gsm8k", question="A tree was 100 meters tall at the end of 2017. "
               "It grows 10% each year. How much has it grown by the end of 2019?",
               answer="21", answer_type="number")


@pytest.mark.parametrize(("hidden", "backward_question", "defect"), [
    # a valid reversal: 100 masked, 21 stated
    ("100", "A tree grows 10% each year from the end of 2017 and has grown 21 meters by the "
     "end of 2019. How tall was it at the end of 2017?", None),
    # the question reworded: it asks what Q asked and never states 21
    ("10%", "The tree was 100 meters tall at the end of 2017 and grew 10% more each year. How "
     "long did it grow until the end of 2019?", "hidden_in_backward_question"),
    ("10", "The tree was 100 meters tall in 2017 and grew some percent each year. How much did "
     "it grow until 2019?", "answer_missing"),
    ("2.1", "It grew 21 meters. How many years?", "hidden_not_in_question"),
    ("100", TREE.question, "copied_question"),
])
def test_a_backward_question_must_mask_a_piece_of_q_and_state_the_answer(
    hidden: str, backward_question: str, defect: str | None,
) -> None:
    assert reversal_defect(TREE, hidden, backward_question) == defect


def test_a_value_q_states_twice_may_stay_once_and_the_answer_may_equal_it() -> None:
    twice = Problem(id="c", dataset="t", question="Bo has 2 cats and 2 dogs. How many pets?",
                    answer="4", answer_type="number")
    assert reversal_defect(twice, "2", "Bo has 2 cats and some dogs, 4 pets. Dogs?") is None
    assert reversal_defect(twice, "2", "Bo has 2 cats and 2 dogs, 4 pets. Dogs?") == (
        "hidden_in_backward_question")
    six = Problem(id="s", dataset="t", question="Amir has 6 apples, eats 2 and buys 2. How many?",
                  answer="6", answer_type="number")
    assert reversal_defect(six, "6", "Amir has some apples, eats 2, buys 2 and has 6. How many "
                           "had he?") is None


def test_an_answer_q_states_as_a_premise_must_be_stated_once_more() -> None:
    """Answer 7 days, and Q's "7 towels" stays: a Q_b that never gives the 7 days has a 7."""
    towels = Problem(id="t", dataset="t", question="Sanya washes 7 towels an hour and has 2 "
                     "hours a day. How many days for 98 towels?", answer="7", answer_type="number")
    assert reversal_defect(towels, "2", "Sanya washes 7 towels an hour and has y hours a day. "
                           "How many days for 98 towels?") == "answer_missing"
    assert reversal_defect(towels, "2", "Sanya washes 7 towels an hour and needs 7 days for 98 "
                           "towels. How many hours a day has she?") is None


def test_names_and_dates_are_compared_as_words_and_days() -> None:
    assert reversal_defect(MILK, "milk", "You keep something in the refrigerator so it stays "
                           "cold. What is it?") is None
    assert reversal_defect(MILK, "butter", "What do you keep in the refrigerator?") == (
        "hidden_not_in_question")
    assert reversal_defect(MILK, "milk", "You keep milk in the refrigerator so it stays cold. "
                           "What is it?") == "hidden_in_backward_question"
    assert reversal_defect(DATE, "03/15/2021", "Ten days ago it was March 5, 2021. What is "
                           "today's date?") is None
    assert reaches("So today is March 15, 2021. The answer is 03/15/2021.", "03/15/2021")
    assert reaches("The answer is 2021-03-15.", "March 15, 2021")
    assert not reaches("The answer is 03/16/2021.", "03/15/2021")
    assert reaches("It is kept cold. The answer is milk.", "milk")
    assert reaches("The answer is the Sahara.", "Sahara desert")
    assert reaches("The answer is the Sahara desert.", "Sahara")
    assert not reaches("The answer is The oven cooled to a lower temperature.", "oven")
    assert not reaches("The answer is the Gobi.", "Sahara")
    assert reaches("100 = 121 / 1.21. The answer is 100.", "100 meters")
    assert not reaches("The answer is 2.1.", "21")


@pytest.mark.parametrize("reply", [
    "Hidden: 24\nBackward question: Some rolls, 9 left. How many?",
    "**Hidden:** 24\n**Backward question:** Some rolls, 9 left. How many?",
    "Backward question: \"Some rolls, 9 left. How many?\"\nhidden: 24.",
    "Hidden: 24\n\nBackward question: Some rolls, 9 left. How many?\n\nThis hides the 24 rolls.",
])
def test_replies_are_read_with_or_without_markdown_in_either_order(reply: str) -> None:
    assert read_backward_reply(reply) == BackwardReply("24", "Some rolls, 9 left. How many?")


@pytest.mark.parametrize("reply", ["Some rolls, 9 left. How many?", "Hidden: 24", "Hidden:\nQ?"])
def test_a_reply_without_its_hidden_piece_or_question_is_unread(reply: str) -> None:
    assert read_backward_reply(reply) is None


def test_a_teacher_is_asked_again_until_its_reversal_holds(tmp_path: Path) -> None:
    """A reply naming no hidden piece is asked again; an R_b that misses the piece drops Q_b."""
    unnamed = "Ann ends with 1205 pens. How many?"
    masked = "Hidden: 5\nAnn has some pens and buys 1,200 more, 1205 in all. How many had she?"
    unsolvable = "Hidden: 5\nAnn has 1205 pens in all. How many did she have?"

    def teacher(questions: list[str]) -> ScriptedTeacher:
        def script(request: GenerationRequest, nth: int) -> GenerationResult:
            if request.purpose == "backward_question":
                return ok(questions[nth])
            if request.purpose == "backward_reasoning":
                return ok("1205 - 1200 = 5. The answer is 5." if "1,200" in
                          request.messages[0].content else "The answer is 1205.")
            return ok("5 + 1200 = 1205. The answer is 1205." if request.purpose == "forward"
                      else "True")
        return ScriptedTeacher(script)

    records, funnel, _ = run([SUM], teacher([unnamed, masked]), tmp_path / "asked", k=2)
    assert funnel.bad_answers == {"backward_question:no_hidden_piece": 1}
    [record] = records
    assert record.backward_answer == "5" and record.backward_question.startswith("Ann has some")
    records, funnel, _ = run([SUM], teacher([unsolvable]), tmp_path / "missed", k=2)
    assert records == [] and funnel.dropped == {"backward_reasoning:wrong_answer": 1}
    assert funnel.bad_answers == {"backward_reasoning:wrong_answer": 2}
    assert_funnel_adds_up(funnel, records)
