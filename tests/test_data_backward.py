"""Backward benchmarks: GSM8K's test problems masked by rule, the synthetic suite's exact ones."""

from __future__ import annotations

import logging
import re
from collections import Counter

import pytest

from revthink.answers import is_correct
from revthink.data import get_spec, load_problems, local_sizes, parse_spec
from revthink.errors import ConfigError
from revthink.synthetic import generate_items

_ASK = re.compile(r"\nWe know that the answer to this question is (.+)\. What number does x stand")


def test_gsm8k_backward_hides_one_number_states_the_answer_and_counts_the_skipped(caplog):
    with caplog.at_level(logging.WARNING, logger="revthink.data.backward"):
        backward = load_problems("gsm8k_backward", "test")
    forward = {p.id: p for p in load_problems("gsm8k", "test")}
    skipped = len(forward) - len(backward)
    assert 0 < skipped < len(forward) // 10
    assert f"{skipped} of {len(forward)} problems left out" in caplog.text
    assert local_sizes(get_spec("gsm8k_backward")) == {"test": len(backward)}
    for problem in backward:
        original = forward[problem.id]
        masked, ask = problem.question.split("\nWe know", 1)
        assert _ASK.search(problem.question).group(1) == original.answer
        assert problem.answer_type == "number" and problem.dataset == "gsm8k_backward"
        assert masked.count("x") == original.question.count("x") + 1
        start = masked.index("x") if "x" not in original.question else None
        if start is not None:  # putting the gold answer back gives the forward question
            rebuilt = masked[:start] + _written(original.question, start, problem.answer)
            assert rebuilt + masked[start + 1 :] == original.question
    assert load_problems("gsm8k_backward", "test", limit=20, seed=1) == load_problems(
        "gsm8k_backward", "test", limit=20, seed=1
    )


def _written(question: str, start: int, answer: str) -> str:
    """The number as the question wrote it at ``start`` (with its thousands commas)."""
    match = re.match(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?", question[start:])
    assert match is not None and match.group().replace(",", "") == answer
    return match.group()


def test_synthetic_backward_asks_each_test_item_its_exact_backward_question():
    problems = load_problems("synthetic_backward", "test")
    items = {item.problem.id: item for item in generate_items("mixed", "test", 500, 0)}
    assert [p.id for p in problems] == list(items)  # the forward test set's ids, in order
    assert Counter(p.answer_type for p in problems).keys() == {"number", "choice"}
    for problem in problems:
        item = items[problem.id]
        assert problem.question == item.backward_question
        gold = problem.answer if problem.answer_type == "number" else problem.options[
            ord(problem.answer) - ord("A")
        ]
        assert gold == item.backward_answer
        # the generator's own backward reasoning is judged correct, so scoring reads the type
        assert is_correct(item.backward_reasoning, problem.answer, problem.answer_type,
                          problem.options, "strict")


def test_dates_and_names_are_asked_among_plausible_options():
    problems = load_problems("synthetic_backward", "test")
    choices = [p for p in problems if p.answer_type == "choice"]
    names = [p for p in choices if all(o.isalpha() for o in p.options)]
    dates = [p for p in choices if all(re.search(r"\d{4}", o) for o in p.options)]
    assert dates and names and len(dates) + len(names) == len(choices)
    assert all(len(set(p.options)) == 5 for p in dates)
    assert all(set(p.options) <= set(re.findall(r"[A-Z][a-z]+", p.question)) for p in names)
    letters = Counter(p.answer for p in dates + names)
    assert len(letters) >= 4  # the gold option is not always in the same place


def test_backward_needs_numbers_or_a_synthetic_source(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\nanswer_type: choice\nfamily: multiple_choice\nbackward: true\n"
        "local: {format: csqa, splits: {test: x.jsonl}}\n", encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"bad.yaml: key 'backward'.*answer_type 'number'"):
        parse_spec(path)
