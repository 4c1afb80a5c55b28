"""The augmentation pipeline: steps, retries, filters and the funnel's arithmetic."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from support.augment_run import ScriptedTeacher, assert_funnel_adds_up, ok, run

from revthink.answers import is_correct
from revthink.augment import prompts
from revthink.augment.reporting import RateColumn, progress_bar
from revthink.augment.rule_backward import mask_number
from revthink.config import TeacherConfig
from revthink.data import load_problems
from revthink.errors import DataError
from revthink.records import Problem
from revthink.teachers.base import GenerationRequest, GenerationResult
from revthink.teachers.program import ProgramTeacher

SUM = Problem(id="p1", dataset="t", question="Ann has 5 pens and buys 1,200 more. How many?",
              answer="1205", answer_type="number")
OTHER = Problem(id="p2", dataset="t", question="Bo has 2 cats and 2 dogs. How many pets?",
                answer="4", answer_type="number")


# A valid reversal of each problem: the hidden number, masked in Q_b, reached by R_b
BACKWARD_SCRIPT = {
    "p1": {
        "forward": ok("5 + 1,200 = 1205. The answer is 1205."),
        "backward_question": ok("Hidden: 5\nBackward question: Ann has some pens and buys 1,200 "
                                "more; 1205 in all. How many did she have?"),
        "backward_reasoning": ok("1205 - 1200 = 5. The answer is 5."),
    },
    "p2": {
        "forward": ok("2 + 2 = 4. The answer is 4."),
        "backward_question": ok("Hidden: 2\nBackward question: Bo has 2 cats and some dogs, 4 "
                                "pets in all. How many dogs?"),
        "backward_reasoning": ok("4 - 2 = 2. The answer is 2."),
    },
}


def test_program_teacher_keeps_consistent_records_in_problem_order(tmp_path: Path) -> None:
    problems = load_problems("synthetic", "train", limit=24, seed=0)
    teacher = ProgramTeacher(TeacherConfig(error_rate=0.3))
    records, funnel, ledger = run(problems, teacher, tmp_path, answer_aug=1, rephrase=True, k=2)
    assert funnel.kept > 0 and funnel.dropped  # the error rate leaves something to filter
    assert_funnel_adds_up(funnel, records)
    order = [p.id for p in problems]
    assert [r.id for r in records] == sorted((r.id for r in records), key=order.index)
    for record in records:
        assert record.consistent is True and record.teacher == teacher.name
        assert record.backward_question and record.backward_reasoning
        assert record.rephrased_question and record.rephrased_question != record.problem.question
        assert record.forward_reasoning not in record.extra_forward
    assert funnel.extra_forward == sum(len(r.extra_forward) for r in records) > 0
    total = ledger.to_json()
    assert total["calls"] == sum(usage.calls for usage in ledger.steps.values()) > 0
    assert total["cost_usd"] > 0
    assert total["cost_usd"] == pytest.approx(
        (2.0 * total["prompt_tokens"] + 8.0 * total["completion_tokens"]) / 1e6)
    assert set(total["steps"]) == {
        "forward", "rephrase", "backward_question", "backward_reasoning", "consistency"}


def test_filter_correct_keeps_inconsistent_records_with_their_verdict(tmp_path: Path) -> None:
    def script(request: GenerationRequest, nth: int) -> GenerationResult:
        if request.purpose == "consistency":
            return ok("It recovers it.\nTrue" if "Ann" in request.messages[0].content
                      else "It does not.\nFalse")
        return BACKWARD_SCRIPT[request.problem_id][request.purpose]

    for kept, verdicts in (("correct", [True, False]), ("correct+consistent", [True])):
        records, funnel, _ = run([SUM, OTHER], ScriptedTeacher(script), tmp_path / kept,
                                 filter=kept)
        assert_funnel_adds_up(funnel, records)
        assert [r.consistent for r in records] == verdicts
        assert funnel.consistent == 1


def test_each_step_is_sent_for_all_problems_at_once(tmp_path: Path) -> None:
    problems = load_problems("synthetic", "train", limit=10, seed=0)
    teacher = ProgramTeacher(TeacherConfig())
    sizes: list[tuple[str, int]] = []
    original = teacher.generate

    def spy(requests, on_result=None):
        sizes.append((requests[0].purpose, len(requests)))
        return original(requests, on_result)

    teacher.generate = spy  # type: ignore[method-assign]
    records, _, _ = run(problems, teacher, tmp_path)
    assert len(records) == 10
    assert sizes == [("forward", 10), ("backward_question", 10), ("backward_reasoning", 10),
                     ("consistency", 10)]


def test_bad_answers_are_counted_and_retried_within_k(tmp_path: Path) -> None:
    """Empty, cut off, wrong and failed answers are retried with new seeds, never fatal."""
    forward = [GenerationResult(error="HTTP 500"), ok(""), ok("The answer is 1", finish="length"),
               ok("So the answer is 3."), ok("Thus 1200 + 5. The answer is 1205.")]

    def script(request: GenerationRequest, nth: int) -> GenerationResult:
        if request.purpose == "forward":
            return forward[nth] if request.problem_id == "p1" else ok("The answer is 9.")
        if request.purpose == "consistency":
            return ok("It recovers the 5 pens.\nTrue")
        return BACKWARD_SCRIPT["p1"][request.purpose]

    teacher = ScriptedTeacher(script)
    records, funnel, ledger = run([SUM, OTHER], teacher, tmp_path, k=4)
    assert [r.id for r in records] == ["p1"]
    assert records[0].backward_question.startswith("Ann has some pens")  # label removed
    assert funnel.bad_answers == {"forward:teacher_error": 1, "forward:empty": 1,
                                  "forward:truncated": 1, "forward:wrong_answer": 5}
    assert funnel.dropped == {"forward:wrong_answer": 1}
    seeds = [r.seed for r in teacher.sent if r.problem_id == "p1" and r.purpose == "forward"]
    assert seeds[0] == seeds[1] and len(set(seeds[1:])) == 4  # an error re-sends the same seed
    assert ledger.steps["forward"].errors == 1
    assert_funnel_adds_up(funnel, records)


def test_traces_are_kept_only_with_a_strict_final_answer(tmp_path: Path) -> None:
    """The filter is the check students are scored with: a bare last number is not enough."""
    loose_forward = "Ann had 5 pens and bought 1,200 more: 5 + 1,200 = 1205"
    loose_backward = "Ann ends with 1205 pens after buying 1,200, so she had 1205 - 1200 = 5"
    assert is_correct(loose_forward, "1205", "number")  # flexible extraction accepts it
    assert not is_correct(loose_forward, "1205", "number", mode="strict")

    def script(request: GenerationRequest, nth: int) -> GenerationResult:
        if request.purpose == "forward":
            return ok(loose_forward if request.problem_id == "p1" else "2 + 2. The answer is 4.")
        if request.purpose == "backward_question":
            return BACKWARD_SCRIPT["p2"]["backward_question"]
        if request.purpose == "backward_reasoning":
            return ok(loose_backward)
        return ok("True")

    records, funnel, _ = run([SUM, OTHER], ScriptedTeacher(script), tmp_path, k=2)
    assert records == []
    assert funnel.dropped == {"forward:no_final_answer": 1,
                              "backward_reasoning:no_final_answer": 1}
    assert funnel.bad_answers == {"forward:no_final_answer": 2,
                                  "backward_reasoning:no_final_answer": 2}
    assert_funnel_adds_up(funnel, records)


def test_answer_augmentation_asks_only_for_the_missing_samples(tmp_path: Path) -> None:
    texts = iter(["A. The answer is 4.", "A. The answer is 4.", "B. The answer is 4.",
                  "C. The answer is 4."])

    def script(request: GenerationRequest, nth: int) -> GenerationResult:
        if request.purpose == "forward":
            return ok(*(next(texts) for _ in range(request.n)))
        if request.purpose == "consistency":
            return ok("True")
        return BACKWARD_SCRIPT["p2"][request.purpose]

    teacher = ScriptedTeacher(script)
    records, _, _ = run([OTHER], teacher, tmp_path, answer_aug=2)
    ns = [r.n for r in teacher.sent if r.purpose == "forward"]
    assert ns == [3, 1]  # a duplicate does not count as a second reasoning
    assert records[0].forward_reasoning == "A. The answer is 4."
    assert records[0].extra_forward == ("B. The answer is 4.", "C. The answer is 4.")


def test_rule_backward_needs_no_question_call_and_checks_the_masked_number(
    tmp_path: Path,
) -> None:
    rule = mask_number(SUM, seed=0)
    assert rule is not None

    def script(request: GenerationRequest, nth: int) -> GenerationResult:
        if request.purpose == "forward":
            return ok(f"The answer is {1205 if request.problem_id == 'p1' else 4}.")
        assert request.problem_id == "p1"  # Bo's numbers repeat: nothing to mask, no call
        return ok("The answer is 7." if nth == 0 else f"The answer is {rule.answer}.")

    teacher = ScriptedTeacher(script)
    records, funnel, _ = run([SUM, OTHER], teacher, tmp_path, backward="rule")
    assert {r.purpose for r in teacher.sent} == {"forward", "backward_reasoning"}
    [record] = records
    assert record.backward_question == rule.question and record.backward_answer == rule.answer
    assert record.consistent is True
    assert funnel.bad_answers == {"backward_reasoning:wrong_answer": 1}
    assert funnel.dropped == {"backward_question:no_maskable_number": 1}
    assert_funnel_adds_up(funnel, records)


@pytest.mark.parametrize("fallback", ["none", "rule"])
def test_a_failed_teacher_question_falls_back_to_the_rule_and_says_so(
    tmp_path: Path, fallback: str
) -> None:
    """p1's teacher keeps the hidden 5 in Q_b (no reversal); p2's is fine. With the fallback
    p1 gets the rule's question, skips the verdict, and its record says who wrote Q_b."""
    rule = mask_number(SUM, seed=0)
    assert rule is not None

    def script(request: GenerationRequest, nth: int) -> GenerationResult:
        pid, purpose = request.problem_id, request.purpose
        if pid == "p1" and purpose == "backward_question":
            return ok("Hidden: 5\nBackward question: Ann has 5 pens and 1205 in all. How many?")
        if pid == "p1" and purpose == "backward_reasoning":
            return ok(f"The answer is {rule.answer}.")
        if purpose == "consistency":
            assert pid == "p2"  # the rule-made record is checked exactly, not judged
            return ok("It recovers it.\nTrue")
        return BACKWARD_SCRIPT[pid][purpose]

    records, funnel, _ = run([SUM, OTHER], ScriptedTeacher(script), tmp_path, k=2,
                             backward_fallback=fallback)
    assert_funnel_adds_up(funnel, records)
    origins = {r.id: (r.backward_origin, r.backward_question) for r in records}
    assert origins["p2"][0] == "teacher"
    if fallback == "none":
        assert "p1" not in origins and funnel.fallback == {}
        assert funnel.dropped == {"backward_question:hidden_in_backward_question": 1}
    else:
        assert origins["p1"] == ("rule", rule.question)
        assert funnel.fallback == {"hidden_in_backward_question": 1} and funnel.dropped == {}
        assert funnel.to_json()["fallback"] == {"hidden_in_backward_question": 1}


def test_unparseable_verdicts_are_retried_then_dropped(tmp_path: Path) -> None:
    def script(request: GenerationRequest, nth: int) -> GenerationResult:
        if request.purpose == "consistency":
            return ok("Hard to say.")
        return BACKWARD_SCRIPT["p2"][request.purpose]

    records, funnel, _ = run([OTHER], ScriptedTeacher(script), tmp_path, k=2)
    assert records == []
    assert funnel.bad_answers == {"consistency:unparseable": 2}
    assert funnel.dropped == {"consistency:no_verdict": 1}


def test_greedy_sampling_tries_once(tmp_path: Path) -> None:
    teacher = ScriptedTeacher(lambda request, nth: ok("The answer is 3."))
    _, funnel, _ = run([OTHER], teacher, tmp_path, temperature=0.0, k=4)
    assert len(teacher.sent) == 1 and funnel.dropped == {"forward:wrong_answer": 1}


def test_duplicate_problem_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="'p1' occurs twice"):
        run([SUM, SUM], ScriptedTeacher(lambda r, n: ok("x")), tmp_path)


@pytest.mark.parametrize("family", prompts.FAMILIES)
def test_every_family_has_examples_and_shows_the_answer_text(family: str) -> None:
    problem = Problem(id="c", dataset="t", question="Which is red?", answer="B",
                      answer_type="choice", options=("grass", "a tomato"))
    messages = prompts.backward_question_messages(problem, family)
    examples = len(prompts.BACKWARD_EXAMPLES[family])
    assert examples >= 2
    assert [m.role for m in messages] == ["system"] + ["user", "assistant"] * examples + ["user"]
    assert messages[-1].content.endswith("Answer: (B) a tomato")
    assert "(A) grass" in messages[-1].content


def test_prompts_quote_the_texts_the_program_teacher_checks() -> None:
    review = prompts.consistency_messages(SUM, "How many pens at first?", "The answer is 5.")
    assert "How many pens at first?" in review[0].content
    assert "The answer is 5." in review[0].content
    forward = prompts.forward_messages(SUM)[-1].content
    assert forward.startswith(SUM.question) and "The answer is" in forward
    assert prompts.read_verdict("It is true that... no.\nFalse") is False
    assert prompts.read_verdict("**True**") is True
    assert prompts.read_verdict("Untrue claims") is None
    assert prompts.family_of(SUM, "mixed") == "math"


def test_the_progress_rate_is_an_average_even_when_answers_arrive_together() -> None:
    now = [0.0]
    bar = progress_bar()
    bar.get_time = lambda: now[0]  # type: ignore[method-assign]
    task = bar.add_task("forward #1", total=8)
    now[0] = 10.0
    bar.advance(task, 8)  # a batch: every answer arrives at once
    now[0] = 10.001
    [state] = bar.tasks
    assert RateColumn().render(state).plain == "0.8 req/s"


@pytest.mark.parametrize("fallback", ["none", "rule"])
def test_hybrid_lets_the_teacher_word_the_question_around_the_rules_number(
    tmp_path: Path, fallback: str
) -> None:
    """p1: the teacher words Q_b around the number the rule hid (5 is not it: the rule hides
    one of 5 and 1,200); p2's numbers repeat, so nothing to hide. A Q_b that still states the
    hidden number is asked again, then dropped or replaced by the rule's draft."""
    rule = mask_number(SUM, seed=0)
    assert rule is not None
    other = "1,200" if rule.answer == "5" else "5"
    good = f"Ann has some pens and buys {other} more; 1205 in all. How many was the part hidden?"
    bad = f"Ann has 5 pens and buys 1,200 more, 1205 in all. What is {rule.answer}?"

    def script(request: GenerationRequest, nth: int) -> GenerationResult:
        if request.purpose == "forward":
            return ok(f"The answer is {1205 if request.problem_id == 'p1' else 4}.")
        if request.purpose == "backward_question":
            assert request.problem_id == "p1" and f"Hidden number: {rule.answer}" in (
                request.messages[-1].content)
            return ok(f"Backward question: {good if fallback == 'none' else bad}")
        assert request.purpose == "backward_reasoning"  # checked exactly: no verdict asked
        return ok(f"The answer is {rule.answer}.")

    teacher = ScriptedTeacher(script)
    records, funnel, _ = run([SUM, OTHER], teacher, tmp_path, backward="hybrid", k=2,
                             backward_fallback=fallback)
    assert_funnel_adds_up(funnel, records)
    [record] = records
    assert record.backward_answer == rule.answer and record.consistent is True
    if fallback == "none":
        assert (record.backward_origin, record.backward_question) == ("hybrid", good)
    else:  # both tries kept the hidden number: the rule's draft stands in
        assert (record.backward_origin, record.backward_question) == ("rule", rule.question)
        assert funnel.fallback == {"hidden_in_backward_question": 1}
    assert funnel.dropped == {"backward_question:no_maskable_number": 1}


def test_hybrid_hides_the_concept_of_a_choice_problem(tmp_path: Path) -> None:
    """A choice problem's concept is the rule's piece: the teacher is told the word, words Q_b
    without it, and R_b must reach it; a choice problem without a concept has nothing to hide."""
    blow = Problem(id="c1", dataset="t", question="The punishing blow seemed to what the efforts?",
                   answer="B", answer_type="choice", options=("help", "ignore"),
                   concept="punishing")
    bare = dataclasses.replace(blow, id="c2", concept="")
    worded = 'The blow seemed to "ignore" the efforts. What kind of blow was it?'

    def script(request: GenerationRequest, nth: int) -> GenerationResult:
        if request.purpose == "forward":
            return ok("The answer is (B).")
        if request.purpose == "backward_question":
            assert "Hidden word: punishing" in request.messages[-1].content
            return ok(f"Backward question: {worded}")
        assert request.purpose == "backward_reasoning"
        return ok("It hit hard. The answer is punishing.")

    records, funnel, _ = run([blow, bare], ScriptedTeacher(script), tmp_path,
                             backward="hybrid", k=1)
    assert_funnel_adds_up(funnel, records)
    [record] = records
    assert (record.backward_question, record.backward_answer) == (worded, "punishing")
    assert record.backward_origin == "hybrid"
    assert funnel.dropped == {"backward_question:no_concept": 1}


@pytest.mark.parametrize(("reply", "kept"), [("eating breakfast in bed", True), ("bed", False)])
def test_a_choice_problem_falls_back_to_its_blanked_concept_reached_whole(
    tmp_path: Path, reply: str, kept: bool
) -> None:
    """The teacher's Q_b copies Q; the rule blanks the concept, and R_b must name all of it:
    one of its words is no answer to a piece the rule chose."""
    tray = Problem(id="c1", dataset="t", question="Where is eating breakfast in bed easiest?",
                   answer="A", answer_type="choice", options=("on a tray", "on a desk"),
                   concept="eating breakfast in bed")

    def script(request: GenerationRequest, nth: int) -> GenerationResult:
        if request.purpose == "forward":
            return ok("The answer is (A).")
        if request.purpose == "backward_question":
            return ok(f"Hidden: bed\nBackward question: {tray.question}")
        assert request.purpose == "backward_reasoning" and "___" in request.messages[-1].content
        return ok(f"The answer is {reply}.")

    records, funnel, _ = run([tray], ScriptedTeacher(script), tmp_path, k=1,
                             backward_fallback="rule")
    assert_funnel_adds_up(funnel, records)
    assert funnel.fallback == {"copied_question": 1}
    if kept:
        [record] = records
        assert (record.backward_origin, record.backward_answer) == ("rule", tray.concept)
    else:
        assert records == [] and funnel.dropped == {"backward_reasoning:wrong_answer": 1}
