"""The student's forward prompt: an answer format described in words, read by strict scoring."""

from __future__ import annotations

import re

import pytest

from revthink.answers import extract, is_correct
from revthink.prompting import ANSWER_FORMAT, forward_messages, question_text, student_messages
from revthink.records import ANSWER_TYPES, Problem
from revthink.synthetic import FAMILIES, generate_items

OPTIONS = {"choice": ("red", "blue", "green")}


@pytest.mark.parametrize("answer_type", ANSWER_TYPES)
def test_the_format_hint_holds_no_answer_a_student_could_copy(answer_type):
    hint = ANSWER_FORMAT[answer_type]
    # "The answer is (X)." was written back verbatim by under-trained students: the sentence
    # opener may be quoted, but nothing that could be read as its answer may follow it
    assert re.search(r'"The answer is"', hint)
    assert not re.search(r"The answer is [^\"]", hint)
    options = OPTIONS.get(answer_type, ())
    assert extract(hint, answer_type, options, mode="strict") is None
    assert extract(f"Some reasoning. {hint}", answer_type, options, mode="strict") is None


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_program_teacher_traces_follow_the_hint_and_score_strictly(family):
    """Traces end in the sentence the hint describes, and strict scoring reads their answer."""
    for item in generate_items(family, "train", 30, seed=0):
        problem = item.problem
        last = item.forward_reasoning.rsplit(". ", 1)[-1]
        assert last.startswith("The answer is ") and last.endswith("."), item.forward_reasoning
        assert is_correct(
            item.forward_reasoning, problem.answer, problem.answer_type, problem.options,
            mode="strict",
        ), item.forward_reasoning


def test_forward_messages_is_the_student_prompt_of_the_problem():
    problem = Problem("c1", "d", "Which colour?", "B", "choice", options=("red", "blue"))
    (message,) = forward_messages(problem)
    assert forward_messages(problem) == student_messages(question_text(problem), "choice")
    assert message.content.startswith("Which colour?\nOptions:\n(A) red\n(B) blue\n\n")
    assert message.content.endswith(ANSWER_FORMAT["choice"])
