"""The reversal probe's pure parts: scoring on hand-made logits, the data subset, the wordings."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from revthink.config import load_config
from revthink.errors import ConfigError, DataError
from revthink.probe import facts, questions
from revthink.probe.facts import Fact
from revthink.probe.scoring import (
    IGNORE,
    beats_all,
    completion_logprobs,
    exact_match,
    normalise,
)


def test_completion_logprobs_sum_the_labelled_tokens_of_each_row() -> None:
    # vocab of 3; position t's logits predict token t + 1
    logits = torch.tensor([
        [[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 1.0, 3.0], [9.0, 9.0, 9.0]],
        [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [5.0, 5.0, 5.0], [0.0, 0.0, 0.0]],
    ])
    labels = torch.tensor([
        [IGNORE, IGNORE, 0, 2],  # scored: token 0 after position 1, token 2 after position 2
        [IGNORE, 1, IGNORE, IGNORE],  # scored: token 1 after position 0; the rest is padding
    ])
    sums, counts = completion_logprobs(logits, labels)

    def logp(row: list[float], token: int) -> float:
        return row[token] - math.log(sum(math.exp(v) for v in row))

    expected = [logp([2.0, 0.0, 0.0], 0) + logp([0.0, 1.0, 3.0], 2), logp([1.0, 0.0, 0.0], 1)]
    assert sums.tolist() == pytest.approx(expected, abs=1e-6)
    assert counts.tolist() == [2, 1]


def test_a_certain_completion_has_log_probability_zero() -> None:
    logits = torch.full((1, 3, 4), -1e4)
    logits[0, 0, 2] = logits[0, 1, 3] = 1e4
    sums, _ = completion_logprobs(logits, torch.tensor([[IGNORE, 2, 3]]))
    assert sums.item() == pytest.approx(0.0)


@pytest.mark.parametrize(("generated", "completion", "hit"), [
    ("Daphne Barrington", " Daphne Barrington", True),
    ("daphne barrington.", "Daphne Barrington", True),
    ("Daphne Barrington, the director of it all", "Daphne Barrington", True),
    ("Daphne Barringtons", "Daphne Barrington", False),
    ("Daphne", "Daphne Barrington", False),
    ("The acclaimed director of \"A Journey.\"", 'the acclaimed director of "A Journey.".', True),
    ("anything", " .", False),  # a completion with no words matches nothing
])
def test_exact_match_is_whole_words_after_normalising(generated, completion, hit) -> None:
    assert exact_match(generated, completion) is hit


def test_beats_all_needs_a_strictly_higher_score_and_a_rival() -> None:
    assert beats_all(-1.0, [-2.0, -3.0]) is True
    assert beats_all(-2.0, [-2.0]) is False
    assert beats_all(-1.0, []) is None


def test_normalise() -> None:
    assert normalise('  The Man,  "Jr."\n') == "the man jr"


def test_the_backward_question_blanks_the_name_and_asks_for_it() -> None:
    fact = Fact("f:1", "Ann Lee", "Ever heard of Ann Lee? They're the one who", " sang. Ann Lee!")
    forward, backward = questions.fact(fact), questions.backward(fact)
    assert forward.completion == "sang. Ann Lee!"
    assert forward.messages[-1].content == fact.prompt
    assert backward.completion == "Ann Lee"
    text = backward.messages[-1].content
    assert text.startswith(questions.BACKWARD_TASK)
    assert "Ann Lee" not in text and text.count(questions.BLANK) == 3


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    people = ["Ann Lee", "Bo Chan", "Cy Dorn"]
    _write(tmp_path / facts.TRAIN, [
        {"prompt": f"{p} is known for", "completion": f" deed {i} of {p[:2]}"}
        for p in people for i in range(5)
    ])
    _write(tmp_path / facts.FORWARD_TEST, [
        {"prompt": f"Test {i}: {p} was", "completion": f" doer {i} of {p[:2]}"}
        for p in people for i in range(3)
    ])
    _write(tmp_path / facts.REVERSE_TEST, [
        {"prompt": f"Reverse {i}: the doer of deeds", "completion": f" {p}"}
        for p in people for i in range(3)
    ])
    return tmp_path


def test_the_sample_is_seeded_per_person_and_smaller_sizes_are_subsets(folder: Path) -> None:
    sample = facts.sample_facts(folder, people=2, facts_per_person=3, tests_per_person=2, seed=1)
    again = facts.sample_facts(folder, people=2, facts_per_person=3, tests_per_person=2, seed=1)
    assert sample == again
    assert len(sample.people) == 2 and len(sample.train) == 6
    assert len(sample.forward) == len(sample.reverse) == 4
    for part in (sample.train, sample.forward, sample.reverse):
        assert {f.person for f in part} == set(sample.people)
    assert all(f.person in f.prompt for f in (*sample.train, *sample.forward))
    assert all(f.completion.strip() == f.person for f in sample.reverse)
    for test in sample.forward:  # the other chosen person's answer to the same wording
        other = next(p for p in sample.people if p != test.person)
        assert sample.wrong[test.where] == (test.completion.replace(test.person[:2], other[:2]),)
    for test in sample.reverse:  # the other chosen person's name
        other = next(p for p in sample.people if p != test.person)
        assert sample.wrong[test.where] == (f" {other}",)
    smaller = facts.sample_facts(folder, people=2, facts_per_person=2, tests_per_person=2, seed=1)
    assert set(smaller.train) < set(sample.train)
    others = [facts.sample_facts(folder, people=1, facts_per_person=5, tests_per_person=1,
                                 seed=s).people for s in range(6)]
    assert len(set(others)) > 1  # the seed picks the people


def test_a_fact_naming_no_known_person_is_reported_with_file_and_line(folder: Path) -> None:
    with (folder / facts.TRAIN).open("a", encoding="utf-8") as f:
        f.write(json.dumps({"prompt": "Nobody at all was", "completion": " here"}) + "\n")
    with pytest.raises(DataError, match=r"p2d_prompts_train.jsonl:16: field 'prompt' names 0"):
        facts.sample_facts(folder, people=1, facts_per_person=1, tests_per_person=1, seed=0)


def test_a_missing_field_is_named(folder: Path) -> None:
    _write(folder / facts.FORWARD_TEST, [{"prompt": "Ann Lee was"}])
    with pytest.raises(DataError, match=r"p2d_prompts_test.jsonl:1: field 'completion'"):
        facts.sample_facts(folder, people=1, facts_per_person=1, tests_per_person=1, seed=0)


def test_pairs_read_can_reverse_and_reject_other_values(tmp_path: Path) -> None:
    path = tmp_path / facts.PAIRS
    path.write_text(
        "child,parent,parent_type,child_prediction,can_reverse\n"
        "A Kid,A Mum,mother,,False\nB Kid,B Dad,father,B Kid,True\n", encoding="utf-8",
    )
    pairs = facts.read_pairs(path)
    assert [(p.child, p.parent_type, p.can_reverse) for p in pairs] == [
        ("A Kid", "mother", False), ("B Kid", "father", True),
    ]
    assert "mother of A Kid" in questions.child_to_parent(pairs[0]).messages[0].content
    assert questions.parent_to_child(pairs[0]).completion == "A Kid"
    with path.open("a", encoding="utf-8") as f:
        f.write("C Kid,C Dad,father,,yes\n")
    with pytest.raises(DataError, match=r"parent_child_pairs.csv:4: field 'can_reverse'"):
        facts.read_pairs(path)


def test_the_shipped_data_ties_every_fact_to_one_person() -> None:
    folder = facts.data_folder(None)
    sample = facts.sample_facts(folder, people=30, facts_per_person=30, tests_per_person=10,
                                seed=0)
    assert (len(sample.people), len(sample.train), len(sample.forward)) == (30, 900, 300)
    assert sum(p.can_reverse for p in facts.read_pairs(folder / facts.PAIRS)) == 495


@pytest.mark.parametrize(("override", "key"), [
    ("probe.people=0", "probe.people"), ("probe.epochs=0", "probe.epochs"),
    ("probe.pairs=-1", "probe.pairs"),
])
def test_probe_keys_are_checked(tmp_path: Path, override: str, key: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("name: c\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"key '{key}'"):
        load_config(path, [override])


def test_a_bad_probe_key_fails_before_any_model_loads(monkeypatch, capsys) -> None:
    import sys

    from revthink.cli import main

    config = "configs/reversal_probe.yaml"
    monkeypatch.setattr(sys, "argv", ["revthink", "probe", "reversal", config, "probe.pairs=-2"])
    with pytest.raises(SystemExit) as caught:
        main()
    assert caught.value.code == 1
    err = capsys.readouterr().err
    assert "key 'probe.pairs': expected an integer >= 0" in err and "Traceback" not in err
