"""JSONL round trip of every record type, and errors that name the file, line and field."""

from __future__ import annotations

import dataclasses
import json
import logging
import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revthink.errors import RecordError
from revthink.records import (
    ANSWER_TYPES,
    AugmentedExample,
    Prediction,
    Problem,
    Score,
    append_jsonl,
    from_json,
    read_jsonl,
    repair_jsonl,
    to_json,
    write_jsonl,
)

texts = st.text(max_size=40)
filled = texts.filter(str.strip)
floats = st.floats(allow_nan=False)  # NaN is never equal to itself, so it cannot round-trip


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    answer_type = draw(st.sampled_from(ANSWER_TYPES))
    options: tuple[str, ...] = ()
    answer = draw(filled)
    if answer_type == "choice":
        options = tuple(draw(st.lists(texts, min_size=1, max_size=6)))
        answer = draw(st.sampled_from(string.ascii_uppercase[: len(options)]))
    return Problem(
        id=draw(texts), dataset=draw(texts), question=draw(filled), answer=answer,
        answer_type=answer_type, options=options, reference=draw(texts), concept=draw(texts),
    )


augmented = st.builds(
    AugmentedExample, problem=problems(), forward_reasoning=texts, backward_question=texts,
    backward_reasoning=texts, consistent=st.none() | st.booleans(),
    backward_answer=st.none() | texts, extra_forward=st.lists(texts, max_size=3).map(tuple),
    rephrased_question=st.none() | texts, teacher=texts,
)
predictions = st.builds(
    Prediction, problem_id=texts, dataset=texts, method=texts, prompt=texts, output=texts,
    gold=texts, extracted=st.none() | texts, extracted_flexible=st.none() | texts,
    correct=st.booleans(), correct_flexible=st.booleans(),
    generated_tokens=st.integers(0, 10**6),
)
scores = st.builds(
    Score, method=texts, dataset=texts, n=st.integers(0, 10**6), accuracy=floats,
    ci_low=floats, ci_high=floats, accuracy_flexible=floats, extraction_failure_rate=floats,
    mean_generated_tokens=floats, tokens_per_second=floats,
    extra=st.dictionaries(texts, floats, max_size=3),
)
RECORDS = {Problem: problems(), AugmentedExample: augmented, Prediction: predictions,
           Score: scores}


@pytest.mark.parametrize("cls", list(RECORDS), ids=lambda c: c.__name__)
@given(data=st.data())
@settings(max_examples=40, deadline=None)
def test_write_then_read_gives_the_same_records(cls: type, data: st.DataObject) -> None:
    records = data.draw(st.lists(RECORDS[cls], max_size=5))
    more = data.draw(st.lists(RECORDS[cls], max_size=3))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sub" / "records.jsonl"
        write_jsonl(path, records)
        assert read_jsonl(path, cls) == records
        append_jsonl(path, more)
        assert read_jsonl(path, cls) == records + more
        write_jsonl(path, more)  # replaces, never appends
        assert read_jsonl(path, cls) == more
        assert not list(path.parent.glob("*.tmp"))


def test_every_line_carries_the_schema_version(tmp_path: Path) -> None:
    problem = Problem("p1", "gsm8k", "How many?", "3", "number")
    write_jsonl(tmp_path / "p.jsonl", [problem])
    line = json.loads((tmp_path / "p.jsonl").read_text(encoding="utf-8"))
    assert line["schema"] == 1
    assert from_json(Problem, {**to_json(problem)}) == problem
    with pytest.raises(RecordError, match="schema version 99"):
        from_json(Problem, {**to_json(problem), "schema": 99})


def test_a_field_added_later_is_left_out_while_empty(tmp_path: Path) -> None:
    """Records of sources without a concept are written as before the field existed, so a
    finished run's records stay byte for byte the same and its students are not retrained."""
    plain = Problem("p1", "gsm8k", "How many?", "3", "number")
    assert "concept" not in to_json(plain)
    example = AugmentedExample(plain, "R_f", "Q_b", "R_b")
    assert "concept" not in to_json(example)["problem"]
    named = dataclasses.replace(plain, concept="apples")
    write_jsonl(tmp_path / "p.jsonl", [plain, named])
    assert read_jsonl(tmp_path / "p.jsonl", Problem) == [plain, named]


GOOD = {"id": "p1", "dataset": "csqa", "question": "Where?", "answer": "B",
        "answer_type": "choice", "options": ["bank", "library"]}


def _write_lines(path: Path, *rows: object) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({**GOOD, "colour": "red"}, r"unknown field\(s\) \['colour'\]"),
        ({k: v for k, v in GOOD.items() if k != "answer"}, r"missing field\(s\) \['answer'\]"),
        ({**GOOD, "question": "  "}, "field 'question' is empty"),
        ({**GOOD, "answer": "C"}, "field 'answer' is 'C', expected one of the option letters"),
        ({**GOOD, "answer_type": "essay"}, "field 'answer_type' is 'essay'"),
        ({**GOOD, "answer": 2}, "field 'answer' is 2, expected str"),
        ({**GOOD, "options": "bank"}, "field 'options'"),
        ({**GOOD, "options": ["bank", 7]}, "field 'options' must be a list of strings"),
        (["p1", "csqa"], "expected a JSON object"),
        ("p1", "expected a JSON object"),
    ],
)
def test_bad_records_are_named_by_file_and_line(tmp_path: Path, bad: object, message: str) -> None:
    path = _write_lines(tmp_path / "problems.jsonl", GOOD, bad)
    with pytest.raises(RecordError, match=message) as caught:
        read_jsonl(path, Problem)
    assert str(caught.value).startswith(f"{path}:2: ")


def test_a_bad_nested_problem_is_reported(tmp_path: Path) -> None:
    row = {"problem": {**GOOD, "question": ""}, "forward_reasoning": "f",
           "backward_question": "q", "backward_reasoning": "b"}
    path = _write_lines(tmp_path / "aug.jsonl", row)
    with pytest.raises(RecordError, match=r"aug.jsonl:1: .*'question' is empty"):
        read_jsonl(path, AugmentedExample)


def test_bool_is_not_an_integer(tmp_path: Path) -> None:
    prediction = to_json(Prediction("p", "d", "m", "q", "out", "1", "1", "1", True, True))
    path = _write_lines(tmp_path / "pred.jsonl", {**prediction, "generated_tokens": True})
    with pytest.raises(RecordError, match="pred.jsonl:1: .*'generated_tokens'"):
        read_jsonl(path, Prediction)


def test_malformed_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps(GOOD) + "\n\n{not json}\n", encoding="utf-8")
    with pytest.raises(RecordError, match=r"p.jsonl:3: malformed JSON"):
        read_jsonl(path, Problem)


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="file not found"):
        read_jsonl(tmp_path / "absent.jsonl", Problem)
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(json.dumps({**GOOD, "question": "Caf\u00e9?"}, ensure_ascii=False)
                     .encode("latin-1") + b"\n")
    with pytest.raises(RecordError, match=r"latin1.jsonl: not UTF-8 text \(byte \d+\)"):
        read_jsonl(path, Problem)


def test_a_torn_tail_is_skipped_only_when_asked(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "p.jsonl", GOOD)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps({**GOOD, "id": "p2"})[:25])  # a process killed mid-append
    assert [p.id for p in read_jsonl(path, Problem, tolerate_torn_tail=True)] == ["p1"]
    with pytest.raises(RecordError, match=r"p.jsonl:2: malformed JSON"):
        read_jsonl(path, Problem)


def test_a_bad_line_in_the_middle_is_an_error_even_when_tolerating(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps(GOOD) + "\n{torn\n" + json.dumps(GOOD) + "\n", encoding="utf-8")
    with pytest.raises(RecordError, match=r"p.jsonl:2: malformed JSON"):
        read_jsonl(path, Problem, tolerate_torn_tail=True)


@pytest.mark.parametrize("name", ["records.jsonl", "predictions.jsonl", "losses.jsonl"])
def test_a_torn_last_line_is_cut_off_with_a_warning(
    tmp_path: Path, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write_lines(tmp_path / name, GOOD, {**GOOD, "id": "p2"})
    whole = path.read_bytes()
    torn = json.dumps({**GOOD, "id": "p3", "question": "Caf\u00e9 au lait?"}, ensure_ascii=False)
    with path.open("ab") as f:
        f.write(torn.encode()[:-3])  # a kill in mid-append, here inside the last character
    caplog.set_level(logging.WARNING)
    dropped = len(torn.encode()) - 3
    assert repair_jsonl(path) == dropped
    assert path.read_bytes() == whole
    assert [p.id for p in read_jsonl(path, Problem)] == ["p1", "p2"]
    assert f"{path}: dropped a torn last line ({dropped} bytes)" in caplog.text
    caplog.clear()
    assert repair_jsonl(path) == 0 and path.read_bytes() == whole and not caplog.text


def test_repair_keeps_a_whole_last_record_that_only_lacks_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + json.dumps({**GOOD, "id": "p2"}), encoding="utf-8")
    assert repair_jsonl(path) == 0
    assert path.read_text(encoding="utf-8").endswith("}\n")
    assert [p.id for p in read_jsonl(path, Problem)] == ["p1", "p2"]


def test_repair_of_a_file_with_no_complete_line_or_no_file(tmp_path: Path) -> None:
    assert repair_jsonl(tmp_path / "absent.jsonl") == 0
    path = tmp_path / "p.jsonl"
    path.write_text('{"schema": 1, "id": "p1", "quest', encoding="utf-8")
    assert repair_jsonl(path) == 32 and path.read_bytes() == b""


def test_repair_finds_the_last_newline_far_from_the_end(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "p.jsonl", GOOD)
    whole = path.read_bytes()
    with path.open("a", encoding="utf-8") as f:
        f.write('{"schema": 1, "question": "' + "x" * 200_000)  # longer than a read chunk
    assert repair_jsonl(path) == 200_027 and path.read_bytes() == whole


def test_records_are_frozen() -> None:
    problem = Problem("p1", "gsm8k", "How many?", "3", "number")
    with pytest.raises(AttributeError):
        problem.answer = "4"  # type: ignore[misc]
