"""The synthetic suite's hard split: more reasoning steps than any regular problem, held-out
wording, exact answers, and regular splits left exactly as they were."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path

import pytest

from revthink import answers
from revthink.data import get_spec, load_problems
from revthink.records import line_fields
from revthink.synthetic import (
    HARD,
    REGULAR_SPLITS,
    arithmetic,
    dates,
    generate_items,
    item_from_id,
    reasoning_steps,
    relations,
)
from revthink.synthetic.lexicon import FEMALE_NAMES, MALE_NAMES, THINGS
from revthink.validation import validate_all

FAMILIES = ("arithmetic", "dates", "relations")
HELD_OUT = {"arithmetic": arithmetic.HELD_OUT, "dates": dates.HELD_OUT,
            "relations": relations.HELD_OUT}
REGULAR = {"arithmetic": arithmetic.REGULAR, "dates": dates.REGULAR,
           "relations": relations.REGULAR}


@pytest.fixture(scope="module")
def hard() -> dict[str, list]:
    return {family: generate_items(family, HARD, 300, seed=0) for family in FAMILIES}


@pytest.fixture(scope="module")
def regular() -> dict[str, list]:
    return {family: [item for split in REGULAR_SPLITS
                     for item in generate_items(family, split, 200, seed=0)]
            for family in FAMILIES}


def test_regular_items_are_unchanged() -> None:
    """Ids of the regular splits regenerate exactly the items they did before the hard split."""
    digest = hashlib.sha256()
    for family in (*FAMILIES, "mixed"):
        for split in REGULAR_SPLITS:
            for item in generate_items(family, split, 40, seed=0):
                fields = dataclasses.asdict(item, dict_factory=line_fields)  # as lines store it
                digest.update(json.dumps(fields, sort_keys=True).encode())
    assert digest.hexdigest() == (
        "5cbc8b77c4cfe3f3eb9316394b767c267b59ddda62fcf181cdf58b237c15d05c")
    assert item_from_id("synthetic_arithmetic/test/0/000000").problem.question == (
        "Lucas starts the day with 6 seashells. Then he packs the seashells equally into 3 "
        "buckets and keeps only one of them. Then he gets 24 extra seashells from Chloe. How "
        "many seashells does Lucas end up with?")


@pytest.mark.parametrize(
    ("name", "answer_types"),
    [("synthetic_arithmetic", {"number"}), ("synthetic_dates", {"choice"}),
     ("synthetic_relations", {"choice"}), ("synthetic", {"number", "choice"})],
)
def test_hard_split_is_registered_per_family_and_mixed(name: str, answer_types: set) -> None:
    assert "hard" in get_spec(name).split_names
    problems = load_problems(name, "hard", limit=30)
    assert {p.answer_type for p in problems} == answer_types
    assert all(p.id.startswith(f"{name}/hard/0/") and p.dataset == name for p in problems)
    assert [item_from_id(p.id).problem for p in problems] == problems


def test_a_config_can_evaluate_on_the_hard_split(tmp_path: Path) -> None:
    path = tmp_path / "hard.yaml"
    path.write_text("name: x\naugment: {data: {dataset: synthetic}}\n"
                    "evaluate:\n  benchmarks:\n    - {dataset: synthetic, split: hard}\n"
                    "    - {dataset: synthetic_dates, split: hard}\n", encoding="utf-8")
    assert validate_all([path]) == []


def test_arithmetic_hard_needs_five_to_seven_steps(hard: dict, regular: dict) -> None:
    for item in hard["arithmetic"]:
        steps = reasoning_steps(item.problem.id)
        assert 5 <= steps <= 7, item.problem.id
        # one sentence per step, between the start line and "The answer is N."
        assert len(re.findall(r"[.?!](?: |$)", item.forward_reasoning)) == steps + 2
    for item in regular["arithmetic"]:
        assert 2 <= reasoning_steps(item.problem.id) <= 4, item.problem.id


@pytest.mark.parametrize("family", FAMILIES)
def test_hard_needs_more_steps_than_any_regular_problem(family: str, hard: dict,
                                                        regular: dict) -> None:
    most = max(reasoning_steps(item.problem.id) for item in regular[family])
    fewest = min(reasoning_steps(item.problem.id) for item in hard[family])
    assert fewest > most


def test_the_step_measures_show_in_the_reasoning(hard: dict, regular: dict) -> None:
    """Dates: month ends crossed; relations: links restated."""
    def month_ends(item: object) -> int:
        return len(re.findall(r"has \d+ days, so it is day", item.forward_reasoning))

    assert min(map(month_ends, hard["dates"])) >= 4 > 2 >= max(map(month_ends, regular["dates"]))
    for item in hard["relations"]:
        assert "great-grand" in item.forward_reasoning and "great-grand" in item.backward_reasoning
        assert len(re.findall(r"'s (?:mother|father|daughter|son)\b", item.forward_reasoning)) >= 3


def _templates(wording: object) -> list[str]:
    found: list[str] = []
    for value in dataclasses.asdict(wording).values():
        groups = value.values() if isinstance(value, dict) else [value]
        found += [template for group in groups for template in group if template]
    return found


def _pattern(template: str) -> re.Pattern[str]:
    """A template as a regular expression: each slot stands for text within one sentence."""
    pieces = re.split(r"\{\w+\}", template)
    return re.compile(r"[^.?!]+?".join(map(re.escape, pieces)), re.IGNORECASE)


@pytest.mark.parametrize("family", FAMILIES)
def test_held_out_templates_never_appear_in_regular_splits(family: str, hard: dict,
                                                           regular: dict) -> None:
    patterns = [_pattern(t) for t in _templates(HELD_OUT[family])]
    assert not set(_templates(HELD_OUT[family])) & set(_templates(REGULAR[family]))
    for item in regular[family]:
        question = item.problem.question
        assert not [p.pattern for p in patterns if p.search(question)], item.problem.id
    used = {p.pattern for item in hard[family] for p in patterns if p.search(item.problem.question)}
    assert len(used) == len(patterns)  # every held-out template is in use


_CONNECTORS = (r"^(?:" + "|".join(
    re.escape(c) for c in (*arithmetic.CONNECTORS, *arithmetic.HELD_OUT.connectors) if c) + r") ")
_NEUTRAL = {word: neutral for *gendered, neutral in relations.WORDS.values() for word in gendered}
_NEUTRAL |= dict.fromkeys(("she", "he", "her", "his", "him", "herself", "himself"), "~")


def _sentence_shapes(question: str) -> set[str]:
    """Each sentence with names, things, events, months and numbers blanked, pronouns and
    gendered words made neutral, and a leading connector dropped."""
    words = {*FEMALE_NAMES, *MALE_NAMES, *(t.plural for t in THINGS), *(t.pack for t in THINGS),
             *(t.singular for t in THINGS), *dates.EVENTS, *dates.MONTHS}
    text = re.sub(r"\d+", "#", question)
    text = re.sub(r"\b(" + "|".join(sorted(words, key=len, reverse=True)) + r")\b", "_", text)
    text = re.sub(r"\b[\w-]+\b", lambda m: _NEUTRAL.get(m.group(), m.group()), text)
    return {re.sub(_CONNECTORS, "", s.lower()) for s in re.split(r"(?<=[.?!:])\s+", text)}


@pytest.mark.parametrize("family", FAMILIES)
def test_no_hard_sentence_is_shaped_like_a_regular_one(family: str, hard: dict,
                                                       regular: dict) -> None:
    seen = set().union(*(_sentence_shapes(i.problem.question) for i in regular[family]))
    for item in hard[family]:
        assert not _sentence_shapes(item.problem.question) & seen, item.problem.id


@pytest.mark.parametrize("family", FAMILIES)
def test_hard_reasonings_end_in_the_gold_answers(family: str, hard: dict) -> None:
    for item in hard[family]:
        problem = item.problem
        options = problem.options or None
        assert answers.is_correct(item.forward_reasoning, problem.answer, problem.answer_type,
                                  options, "strict"), problem.id
        assert item.backward_reasoning.endswith(f"The answer is {item.backward_answer}.")
        assert item.backward_question != problem.question


@pytest.mark.parametrize("family", ["arithmetic", "dates"])
def test_every_hard_calculation_is_right(family: str, hard: dict) -> None:
    shown = 0
    for item in hard[family]:
        text = item.forward_reasoning + " " + item.backward_reasoning
        for left, right in re.findall(r"(?<![\w-])(-?\d+(?: [-+*/] \d+)+) = (-?\d+)", text):
            assert eval(left) == int(right), (item.problem.id, left)  # digits and + - * / only
            shown += 1
    assert shown > 5 * len(hard[family])
