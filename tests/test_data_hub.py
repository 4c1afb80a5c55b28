"""Hub-schema records (built here, no network) map onto the same Problems as the local files."""

from __future__ import annotations

import sys
import types

import pytest

from revthink.data import NLI_LABELS, load_problems
from revthink.data.mappers import MAPPERS, Context, last_boxed, split_query
from revthink.errors import DataError


def _map(fmt: str, row: dict, answer_type: str = "choice", dataset: str = "d"):
    return MAPPERS[fmt](row, "split-0", Context(dataset, answer_type))


def test_gsm8k_hub_row():
    row = {"question": "Q?", "answer": "So 1,000+234 = <<1000+234=1234>>1234.\n#### 1,234"}
    problem = _map("gsm8k", row, "number")
    assert (problem.answer, problem.reference) == ("1234", "So 1,000+234 = 1234.")
    assert problem.id == "split-0"


def test_math_hub_row_takes_the_last_boxed_answer():
    row = {"problem": "P", "level": "Level 2", "type": "Algebra",
           "solution": "First $\\boxed{1}$, then $x=\\boxed{\\frac{1}{2}}$."}
    problem = _map("math", row, "math")
    assert problem.answer == "\\frac{1}{2}" and problem.answer_type == "math"
    assert last_boxed("no box here") is None
    assert last_boxed("\\boxed{\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}}") == (
        "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"
    )
    with pytest.raises(DataError, match="no \\\\boxed"):
        _map("math", {"problem": "P", "solution": "It is 3."}, "math")


def test_commonsenseqa_hub_row_is_flat():
    row = {"id": "abc", "question": "Where?", "question_concept": "x", "answerKey": "C",
           "choices": {"label": ["A", "B", "C", "D", "E"], "text": ["a", "b", "c", "d", "e"]}}
    problem = _map("csqa", row)
    assert (problem.id, problem.question, problem.answer) == ("abc", "Where?", "C")
    assert problem.options == ("a", "b", "c", "d", "e")
    assert problem.concept == "x"
    assert _map("csqa", {k: v for k, v in row.items() if k != "question_concept"}).concept == ""


def test_arc_hub_row_with_numeric_labels():
    row = {"id": "Q1", "question": "Which?", "answerKey": "3",
           "choices": {"text": ["w", "x", "y", "z"], "label": ["1", "2", "3", "4"]}}
    problem = _map("ai2", row)
    assert problem.answer == "C" and problem.options == ("w", "x", "y", "z")


def test_openbookqa_hub_row_uses_question_stem():
    row = {"id": "7-1", "question_stem": "Predators eat", "answerKey": "C",
           "choices": {"text": ["lions", "humans", "bunnies", "grass"],
                       "label": ["A", "B", "C", "D"]}}
    problem = _map("ai2", row)
    assert problem.question == "Predators eat" and problem.answer == "C"


def test_query_schema_options_are_parsed_out_of_the_query():
    stem, options = split_query(
        "Question: Two lines?\nStill the question.\n A. one\n B. two\nsecond line\nAnswer:",
        ["A", "B"],
    )
    assert stem == "Two lines?\nStill the question."
    assert options == ("one", "two\nsecond line")
    with pytest.raises(DataError, match="no option line ' C. ...'"):
        split_query("Question: Q\n A. one\n B. two\nAnswer:", ["A", "B", "C"])


def test_boolq_hub_row():
    problem = _map("boolq", {"question": "is it", "answer": True, "passage": "P."}, "yes_no")
    assert problem.answer == "yes"
    assert problem.question == "Passage: P.\nQuestion: Is it?"


def test_bigbench_hub_row_for_yes_no_and_choice():
    row = {"idx": 0, "inputs": "Would a pear sink?", "targets": ["No. It floats."],
           "multiple_choice_targets": ["Yes", "No"], "multiple_choice_scores": [0, 1]}
    problem = _map("bigbench", row, "yes_no")
    assert (problem.answer, problem.options, problem.reference) == ("no", (), "It floats.")
    row = {"idx": 1, "inputs": "Today?", "targets": ["05/01/2021"],
           "multiple_choice_targets": ["04/01/2021", "05/01/2021"],
           "multiple_choice_scores": [0, 1]}
    problem = _map("bigbench", row, "choice")
    assert problem.answer == "B" and problem.options == ("04/01/2021", "05/01/2021")


@pytest.mark.parametrize(("label", "answer"), [(0, "entailment"), (1, "neutral"),
                                               (2, "contradiction"), ("Neutral", "neutral")])
def test_anli_hub_row(label, answer):
    row = {"uid": "r1-7", "premise": "A man sleeps.", "hypothesis": "A man is awake.",
           "label": label, "reason": "Sleeping is not awake."}
    problem = _map("nli", row, "label")
    assert (problem.id, problem.answer, problem.answer_type) == ("r1-7", answer, "label")
    assert problem.question.startswith("Premise: A man sleeps.\nHypothesis: A man is awake.\n")
    assert all(name in problem.question for name in NLI_LABELS)
    assert problem.reference == "Sleeping is not awake." and problem.options == ()


def test_esnli_hub_row_keeps_the_first_explanation():
    row = {"premise": "Dogs run.", "hypothesis": "Animals move.", "label": 0,
           "explanation_1": "Dogs are animals.", "explanation_2": "", "explanation_3": ""}
    problem = _map("nli", row, "label")
    assert problem.answer == "entailment" and problem.reference == "Dogs are animals."
    assert problem.id == "split-0"


@pytest.mark.parametrize("label", [-1, 3, True, "maybe"])
def test_nli_rejects_labels_outside_the_set(label):
    row = {"premise": "p", "hypothesis": "h", "label": label}
    with pytest.raises(DataError, match="field 'label'"):
        _map("nli", row, "label")


class FakeHub:
    """Stands in for ``datasets``: serves rows per (id, config, split), records what was asked."""

    def __init__(self, tables: dict[tuple[str, str | None, str], list[dict]]) -> None:
        self.tables = tables
        self.calls: list[tuple[str, str | None, str]] = []

    def load_dataset(self, path: str, name: str | None = None, *, split: str) -> list[dict]:
        self.calls.append((path, name, split))
        if (path, name, split) not in self.tables:
            raise ConnectionError("offline")
        return self.tables[(path, name, split)]


@pytest.fixture
def fake_hub(monkeypatch):
    def install(tables):
        hub = FakeHub(tables)
        module = types.ModuleType("datasets")
        module.load_dataset = hub.load_dataset
        monkeypatch.setitem(sys.modules, "datasets", module)
        return hub
    return install


def _nli_row(uid: str, label: int) -> dict:
    return {"uid": uid, "premise": f"p {uid}", "hypothesis": "h", "label": label, "reason": ""}


def test_hub_only_dataset_concatenates_its_hub_splits(fake_hub):
    hub = fake_hub({("facebook/anli", None, f"test_r{r}"): [_nli_row(f"r{r}", r - 1)]
                    for r in (1, 2, 3)})
    problems = load_problems("anli", "test")
    assert [p.id for p in problems] == ["r1", "r2", "r3"]
    assert [p.answer for p in problems] == list(NLI_LABELS)
    assert [call[2] for call in hub.calls] == ["test_r1", "test_r2", "test_r3"]


def test_missing_local_files_fall_back_to_a_pooled_hub_source(fake_hub, tmp_path):
    def row(i):
        return {"idx": i, "inputs": f"Question {i}?", "targets": ["Yes."],
                "multiple_choice_targets": ["Yes", "No"], "multiple_choice_scores": [1, 0]}
    fake_hub({("tasksource/bigbench", "strategyqa", "train"): [row(i) for i in range(40)],
              ("tasksource/bigbench", "strategyqa", "validation"): [row(i) for i in range(40, 50)]})
    train = load_problems("strategyqa", "train", data_dir=tmp_path)
    test = load_problems("strategyqa", "test", data_dir=tmp_path)
    assert len(test) == 10 and len(train) == 40
    assert {p.id for p in train} | {p.id for p in test} == (
        {f"train-{i}" for i in range(40)} | {f"validation-{i}" for i in range(10)}
    )


def test_hub_failure_is_a_data_error_naming_the_dataset(fake_hub):
    fake_hub({})
    with pytest.raises(DataError, match=r"Hub dataset esnli/esnli split train: could not load"):
        load_problems("esnli", "train")


def test_bad_hub_row_names_the_split_and_row(fake_hub):
    fake_hub({("esnli/esnli", None, "test"): [_nli_row("a", 0), _nli_row("b", -1)]})
    with pytest.raises(DataError, match=r"esnli/esnli split test row 1: field 'label'"):
        load_problems("esnli", "test")


def test_hub_failure_after_missing_local_files_mentions_both(fake_hub, tmp_path):
    fake_hub({})
    with pytest.raises(DataError, match=r"could not load .*local copy: .*gsm8k/test.jsonl: file"):
        load_problems("gsm8k", "test", data_dir=tmp_path)
