"""Every loader on the real files of the shared data folder, and the seeded splits."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest

import revthink
from revthink.data import find_data_dir, get_spec, load_problems, local_sizes
from revthink.errors import DataError

# Sizes from ../shared/data/README.md (pooled datasets: the whole pool).
EXPECTED_SIZES = {
    "gsm8k": {"train": 7473, "test": 1319},
    "math": {"test": 5000},
    "tabmwp": {"validation": 1000, "test": 1000},
    "commonsenseqa": {"train": 9741, "test": 1221},
    "arc_challenge": {"validation": 299, "test": 1172},
    "openbookqa": {"test": 500},
    "boolq": {"test": 3270},
}
POOL_SIZES = {"strategyqa": 2290, "date_understanding": 369, "logical_deduction": 1500}


@pytest.fixture(scope="module")
def data_dir() -> Path:
    found = find_data_dir()
    assert found is not None, "the shared data folder (../shared/data) was not found"
    return found


def _by_id(dataset: str, split: str, data_dir: Path) -> dict:
    return {p.id: p for p in load_problems(dataset, split, data_dir=data_dir)}


def test_default_data_dir_is_shared_data_beside_the_project(data_dir, monkeypatch):
    monkeypatch.delenv("REVTHINK_DATA", raising=False)
    beside = Path(revthink.__file__).resolve().parents[2].parent / "shared" / "data"
    assert find_data_dir() == (beside if beside.is_dir() else data_dir)
    assert (find_data_dir() / "gsm8k").is_dir()


def test_data_dir_from_argument_and_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("REVTHINK_DATA", str(tmp_path))
    assert find_data_dir() == tmp_path
    assert find_data_dir(tmp_path / "..") == tmp_path / ".."
    monkeypatch.setenv("REVTHINK_DATA", str(tmp_path / "absent"))
    with pytest.raises(DataError, match=r"\$REVTHINK_DATA .*not a folder"):
        find_data_dir()
    with pytest.raises(DataError, match="data_dir .*not a folder"):
        find_data_dir(tmp_path / "nope")


@pytest.mark.parametrize("name", sorted(EXPECTED_SIZES))
def test_local_sizes_match_the_readme(name, data_dir):
    assert local_sizes(get_spec(name), data_dir) == EXPECTED_SIZES[name]


@pytest.mark.parametrize("name", sorted(POOL_SIZES))
def test_pooled_sizes_add_up(name, data_dir):
    sizes = local_sizes(get_spec(name), data_dir)
    assert set(sizes) == {"train", "test"}
    assert sum(sizes.values()) == POOL_SIZES[name]


def test_gsm8k(data_dir):
    first = load_problems("gsm8k", "train", data_dir=data_dir)[0]
    assert first.id == "train-0" and first.answer == "72" and first.answer_type == "number"
    assert first.question.startswith("Natalia sold clips")
    assert "<<" not in first.reference and "####" not in first.reference
    assert first.reference.endswith("72 clips altogether in April and May.")


def test_math(data_dir):
    problems = load_problems("math", "test", data_dir=data_dir)
    assert problems[0].answer == "2" and problems[0].answer_type == "math"
    assert problems[0].question.startswith("How many vertical asymptotes")
    assert "\\boxed{2}" in problems[0].reference


def test_math_gold_comes_from_the_boxed_solution_not_the_mangled_answer_field(data_dir):
    by_index = {p.id: p for p in load_problems("math", "test", data_dir=data_dir)}
    wanted = "range of the function $f(x) = \\sqrt{x^2}$"
    ranges = [p for p in by_index.values() if wanted in p.question]
    assert ranges and ranges[0].answer == "[0,\\infty)"
    assert not any("\\iny" in p.answer for p in by_index.values())


def test_tabmwp(data_dir):
    problems = _by_id("tabmwp", "validation", data_dir)
    linear = problems["33"]
    assert linear.answer_type == "choice" and linear.options == ("linear", "nonlinear")
    assert linear.answer == "B"
    assert linear.question.startswith("Table:\nx | y\n10 | 15")
    weights = problems["117"]
    assert weights.answer_type == "number" and weights.answer == "10"
    assert weights.question.startswith("Table: Children's weights (lbs)\nStem | Leaf")
    assert weights.question.endswith("(Unit: pounds)")
    assert all("," not in p.answer for p in problems.values() if p.answer_type == "number")


def test_strategyqa(data_dir):
    problems = _by_id("strategyqa", "train", data_dir) | _by_id("strategyqa", "test", data_dir)
    frost = problems["strategyqa-0"]
    assert frost.question == "Is it common to see frost during some college commencements?"
    assert frost.answer == "yes" and frost.answer_type == "yes_no" and frost.options == ()
    assert frost.reference.startswith("College commencement ceremonies")
    assert problems["strategyqa-1"].answer == "no"
    assert Counter(p.answer for p in problems.values()) == {"no": 1219, "yes": 1071}


def test_commonsenseqa(data_dir):
    door = _by_id("commonsenseqa", "test", data_dir)["1afa02df02c908a558b4036e80242fac"]
    assert door.question.endswith("it also serves as a security measure at a what?")
    assert door.options == ("bank", "library", "department store", "mall", "new york")
    assert door.answer == "A"
    assert door.concept == "revolving door"


def test_arc_challenge_both_local_schemas(data_dir):
    validation = _by_id("arc_challenge", "validation", data_dir)
    assert validation["Mercury_SC_407695"].answer == "D"
    assert len(validation["Mercury_SC_407695"].options) == 4
    test = _by_id("arc_challenge", "test", data_dir)
    planet = test["Mercury_7175875"]
    assert planet.question.startswith("An astronomer observes") and planet.question.endswith("?")
    assert planet.options[2] == "Planetary days will become shorter."
    assert planet.answer == "C"
    assert {len(p.options) for p in test.values()} == {3, 4, 5}


def test_openbookqa(data_dir):
    saving = _by_id("openbookqa", "test", data_dir)["8-343"]
    assert saving.answer == "B" and saving.options[1] == "quit eating lunch out"
    assert "Answer:" not in saving.question and "\n A." not in saving.question


def test_boolq(data_dir):
    first = load_problems("boolq", "test", data_dir=data_dir)[0]
    assert first.answer == "no" and first.answer_type == "yes_no"
    assert first.question.startswith("Passage: All biomass goes through")
    assert first.question.endswith("Question: Does ethanol take more energy make that produces?")


def test_date_understanding(data_dir):
    problems = load_problems("date_understanding", "train", data_dir=data_dir)
    problems += load_problems("date_understanding", "test", data_dir=data_dir)
    first = next(p for p in problems if p.id == "date_understanding-0")
    assert first.options[0] == "05/01/2021" and first.answer == "A"
    assert {len(p.options) for p in problems} == {5, 6}


def test_logical_deduction_is_one_dataset_of_three_subtasks(data_dir):
    problems = load_problems("logical_deduction", "train", data_dir=data_dir)
    problems += load_problems("logical_deduction", "test", data_dir=data_dir)
    subtasks = Counter(p.id.rsplit("-", 1)[0] for p in problems)
    assert subtasks == {"three_objects": 300, "five_objects": 500, "seven_objects": 700}
    first = next(p for p in problems if p.id == "three_objects-0")
    assert first.question.startswith("The following paragraphs each describe a set of three")
    assert "a black book, an orange book, and a blue book" in first.question
    assert first.options[0] == "The black book is the leftmost." and first.answer == "A"


@pytest.mark.parametrize("name", sorted(POOL_SIZES))
def test_seeded_split_is_disjoint_and_keeps_questions_together(name, data_dir):
    train = load_problems(name, "train", data_dir=data_dir)
    test = load_problems(name, "test", data_dir=data_dir)
    assert not {p.id for p in train} & {p.id for p in test}
    assert not {p.question for p in train} & {p.question for p in test}
    fraction = get_spec(name).test_fraction
    total = len(train) + len(test)
    assert round(total * fraction) <= len(test) <= round(total * fraction) + 7


# Sorted test ids hashed: the split must not move between runs, machines or Python versions.
SPLIT_FINGERPRINTS = {
    "strategyqa": "357be8ab45c62184",
    "date_understanding": "dd5a0f963a26b2cb",
    "logical_deduction": "8d7b55825b9ba8e9",
}


@pytest.mark.parametrize("name", sorted(SPLIT_FINGERPRINTS))
def test_seeded_split_is_stable(name, data_dir):
    ids = sorted(p.id for p in load_problems(name, "test", data_dir=data_dir))
    assert hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16] == SPLIT_FINGERPRINTS[name]


def test_limit_is_a_seeded_sample_in_source_order(data_dir):
    full = load_problems("gsm8k", "test", data_dir=data_dir)
    ten = load_problems("gsm8k", "test", data_dir=data_dir, limit=10, seed=1)
    assert ten == load_problems("gsm8k", "test", data_dir=data_dir, limit=10, seed=1)
    assert len(ten) == 10 and ten != full[:10]
    positions = [full.index(p) for p in ten]
    assert positions == sorted(positions)
    five = load_problems("gsm8k", "test", data_dir=data_dir, limit=5, seed=1)
    assert set(five) < set(ten)
    other = load_problems("gsm8k", "test", data_dir=data_dir, limit=10, seed=2)
    assert other != ten
    assert load_problems("gsm8k", "test", data_dir=data_dir, limit=5000) == full


def test_unknown_split_lists_the_available_ones(data_dir):
    with pytest.raises(DataError, match="no split 'dev'; available: train, test"):
        load_problems("gsm8k", "dev", data_dir=data_dir)


def test_local_split_without_files_and_without_hub_names_the_file(tmp_path):
    with pytest.raises(DataError, match=r"tabmwp/problems_test1k.json: file not found"):
        load_problems("tabmwp", "test", data_dir=tmp_path)
