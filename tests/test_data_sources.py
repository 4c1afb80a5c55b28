"""A user's own jsonl/json/csv data through a dataset YAML, and bad input of every kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from revthink.data import load_problems
from revthink.data.mappers import MAPPERS, Context
from revthink.errors import ConfigError, DataError


def _dataset(tmp_path: Path, answer_type: str, local: str, extra: str = "") -> str:
    path = tmp_path / "mine.yaml"
    path.write_text(
        f"name: mine\nanswer_type: {answer_type}\nfamily: math\n{extra}local:\n{local}",
        encoding="utf-8",
    )
    return str(path)


def _qa_dataset(tmp_path: Path, answer_type: str, file: str) -> str:
    """A user dataset whose test split is ``file`` with columns ``q`` (question), ``a``."""
    return _dataset(
        tmp_path, answer_type,
        f"  format: fields\n  splits: {{test: {file}}}\n  fields: {{question: q, answer: a}}\n",
    )


def _jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_jsonl_with_nested_fields_options_and_ids(tmp_path):
    _jsonl(tmp_path / "test.jsonl", [
        {"uid": 7, "q": {"text": "Pick one"}, "opts": ["red", "blue"], "gold": "blue"},
        {"uid": 8, "q": {"text": "Again"}, "opts": ["x", "y", "z"], "gold": "a"},
    ])
    spec = _dataset(tmp_path, "choice", "  format: fields\n  splits: {test: test.jsonl}\n"
                    "  fields: {question: q.text, answer: gold, options: opts, id: uid}\n")
    first, second = load_problems(spec, "test")
    assert (first.id, first.question, first.options, first.answer) == (
        "7", "Pick one", ("red", "blue"), "B")
    assert second.answer == "A" and first.dataset == "mine"


def test_csv_with_one_column_per_option(tmp_path):
    (tmp_path / "data.csv").write_text(
        "question,A,B,C,key,why\nWhich colour?,red,green,blue,c,sky\n", encoding="utf-8"
    )
    spec = _dataset(tmp_path, "choice", "  format: fields\n  splits: {test: data.csv}\n"
                    "  fields: {question: question, answer: key, options: [A, B, C], "
                    "reference: why}\n")
    (problem,) = load_problems(spec, "test")
    assert problem.options == ("red", "green", "blue") and problem.answer == "C"
    assert problem.reference == "sky" and problem.id == "data-0"


def test_json_list_of_yes_no_and_number_records(tmp_path):
    (tmp_path / "yn.json").write_text(
        json.dumps([{"q": "Up?", "a": True}, {"q": "Down?", "a": "False"}]), encoding="utf-8"
    )
    spec = _qa_dataset(tmp_path, "yes_no", "yn.json")
    assert [p.answer for p in load_problems(spec, "test")] == ["yes", "no"]
    (tmp_path / "n.csv").write_text("q,a\n2+2?,4\n", encoding="utf-8")
    spec = _qa_dataset(tmp_path, "number", "n.csv")
    assert load_problems(spec, "test")[0].answer == "4"


def test_user_pool_gets_a_seeded_split(tmp_path):
    _jsonl(tmp_path / "all.jsonl", [{"q": f"Q{i}", "a": i} for i in range(20)])
    spec = _dataset(tmp_path, "number", "  format: fields\n  pool: [all.jsonl]\n"
                    "  fields: {question: q, answer: a}\n", extra="test_fraction: 0.25\n")
    train, test = load_problems(spec, "train"), load_problems(spec, "test")
    assert len(test) == 5 and len(train) == 15
    assert not {p.id for p in train} & {p.id for p in test}


# ------------------------------------------------------------------------------------------
# Bad input: every case names the file, the line or record, and the field.
# ------------------------------------------------------------------------------------------


@pytest.fixture
def gsm8k_dir(tmp_path: Path) -> Path:
    (tmp_path / "gsm8k").mkdir()
    return tmp_path


GOOD_ROW = {"question": "1+1?", "answer": "1+1=2\n#### 2"}


def _gsm8k_error(data_dir: Path, content: bytes) -> str:
    (data_dir / "gsm8k" / "test.jsonl").write_bytes(content)
    with pytest.raises(DataError) as info:
        load_problems("gsm8k", "test", data_dir=data_dir)
    return str(info.value)


def test_malformed_json_line(gsm8k_dir):
    message = _gsm8k_error(gsm8k_dir, (json.dumps(GOOD_ROW) + "\n{oops\n").encode())
    assert "gsm8k/test.jsonl:2: malformed JSON" in message


def test_missing_field(gsm8k_dir):
    message = _gsm8k_error(gsm8k_dir, json.dumps({"question": "Q?"}).encode())
    assert "gsm8k/test.jsonl:1: missing field 'answer'" in message


def test_empty_question(gsm8k_dir):
    row = dict(GOOD_ROW, question="   ")
    message = _gsm8k_error(gsm8k_dir, (json.dumps(GOOD_ROW) + "\n" + json.dumps(row)).encode())
    assert "gsm8k/test.jsonl:2: problem 'test-1': field 'question' is empty" in message


def test_solution_without_final_answer(gsm8k_dir):
    message = _gsm8k_error(gsm8k_dir, json.dumps(dict(GOOD_ROW, answer="it is 2")).encode())
    assert "test.jsonl:1: field 'answer': expected a solution ending with '#### N'" in message


def test_non_utf8_file(gsm8k_dir):
    message = _gsm8k_error(gsm8k_dir, json.dumps(GOOD_ROW).encode() + b"\n{\"question\": \"\xff\"}")
    assert "gsm8k/test.jsonl:2: not UTF-8 text" in message


def test_not_an_object(gsm8k_dir):
    assert "test.jsonl:1: expected a JSON object, got list" in _gsm8k_error(gsm8k_dir, b"[1, 2]\n")


def test_empty_file_is_an_error_not_an_empty_dataset(gsm8k_dir):
    assert "no records in" in _gsm8k_error(gsm8k_dir, b"\n")


def test_duplicate_ids(tmp_path):
    _jsonl(tmp_path / "d.jsonl", [{"id": "x", "q": "A?", "a": 1}, {"id": "x", "q": "B?", "a": 2}])
    spec = _dataset(tmp_path, "number", "  format: fields\n  splits: {test: d.jsonl}\n"
                    "  fields: {question: q, answer: a, id: id}\n")
    with pytest.raises(DataError, match=r"d.jsonl:2: id 'x' already used at .*d.jsonl:1"):
        load_problems(spec, "test")


def test_missing_file_of_a_user_dataset(tmp_path):
    spec = _qa_dataset(tmp_path, "number", "absent.jsonl")
    with pytest.raises(DataError, match=r"split 'test': .*absent.jsonl: file not found"):
        load_problems(spec, "test")


def test_a_folder_where_a_data_file_belongs(tmp_path):
    spec = _qa_dataset(tmp_path, "number", "folder.jsonl")
    (tmp_path / "folder.jsonl").mkdir()
    with pytest.raises(DataError, match=r"split 'test': .*folder.jsonl: is a folder, expected"):
        load_problems(spec, "test")


def test_answer_not_among_options_in_a_local_file(tmp_path):
    row = {"answerKey": "F", "id": "q1", "question": {"stem": "Where?", "choices": [
        {"label": "A", "text": "here"}, {"label": "B", "text": "there"}]}}
    (tmp_path / "commonsenseqa").mkdir()
    _jsonl(tmp_path / "commonsenseqa" / "dev_rand_split.jsonl", [row])
    with pytest.raises(DataError, match=r"dev_rand_split.jsonl:1: field 'answerKey': 'F' is not"):
        load_problems("commonsenseqa", "test", data_dir=tmp_path)


def test_generic_answer_not_among_options(tmp_path):
    _jsonl(tmp_path / "c.jsonl", [{"q": "Pick", "o": ["a", "b"], "a": "c"}])
    spec = _dataset(tmp_path, "choice", "  format: fields\n  splits: {test: c.jsonl}\n"
                    "  fields: {question: q, answer: a, options: o}\n")
    with pytest.raises(DataError, match=r"c.jsonl:1: field 'a': 'c' is neither an option letter"):
        load_problems(spec, "test")


def test_csv_row_missing_a_column(tmp_path):
    (tmp_path / "m.csv").write_text("q,a\nfine?,1\nshort\n", encoding="utf-8")
    spec = _qa_dataset(tmp_path, "number", "m.csv")
    with pytest.raises(DataError, match=r"m.csv:3: missing field 'a'"):
        load_problems(spec, "test")


def test_malformed_json_file_and_unknown_extension(tmp_path):
    (tmp_path / "bad.json").write_text('{"a":\n  1,,}', encoding="utf-8")
    (tmp_path / "bad.txt").write_text("hello", encoding="utf-8")
    for name, message in (("bad.json", r"bad.json:2: malformed JSON"),
                          ("bad.txt", r"bad.txt: unsupported file type")):
        spec = _dataset(tmp_path, "number", f"  format: fields\n  splits: {{test: {name}}}\n"
                        "  fields: {question: q, answer: a}\n")
        with pytest.raises(DataError, match=message):
            load_problems(spec, "test")


def test_bigbench_example_with_two_correct_options(tmp_path):
    task = {"examples": [{"input": "Q", "target_scores": {"a": 1, "b": 1}}]}
    (tmp_path / "date_understanding").mkdir()
    (tmp_path / "date_understanding" / "task.json").write_text(json.dumps(task), encoding="utf-8")
    with pytest.raises(DataError, match=r"task.json: examples\[0\]: field 'target_scores'"):
        load_problems("date_understanding", "test", data_dir=tmp_path)


def test_tabmwp_answer_not_among_choices():
    row = {"question": "Which?", "table": "a | b", "table_title": None, "unit": None,
           "ques_type": "multi_choice", "choices": ["x", "y"], "answer": "z"}
    with pytest.raises(DataError, match="field 'answer': 'z' is neither"):
        MAPPERS["tabmwp"](row, "1", Context("tabmwp", "mixed"))
    free = dict(row, ques_type="free_text", choices=None, answer="6,830", unit="people")
    problem = MAPPERS["tabmwp"](free, "1", Context("tabmwp", "mixed"))
    assert problem.answer == "6830" and problem.question.endswith("Which? (Unit: people)")


def test_arc_query_record_with_gold_out_of_range():
    row = {"id": "q", "query": "Question: Q\n A. a\n B. b\nAnswer:", "choices": ["A", "B"],
           "gold": 2}
    with pytest.raises(DataError, match=r"field 'gold': expected an index 0..1"):
        MAPPERS["ai2"](row, "x", Context("arc_challenge", "choice"))


def test_csv_jsonl_and_json_with_a_byte_order_mark(tmp_path):
    bom = "\ufeff"
    (tmp_path / "bom.csv").write_text(f"{bom}q,a\n2+2?,4\n", encoding="utf-8")
    spec = _qa_dataset(tmp_path, "number", "bom.csv")
    assert load_problems(spec, "test")[0].answer == "4"
    rows = (("bom.jsonl", '{"q": "1+1?", "a": 2}\n'), ("bom.json", '[{"q": "1+1?", "a": 2}]'))
    for name, text in rows:
        (tmp_path / name).write_text(bom + text, encoding="utf-8")
        spec = _dataset(tmp_path, "number", f"  format: fields\n  splits: {{test: {name}}}\n"
                        "  fields: {question: q, answer: a}\n")
        assert load_problems(spec, "test")[0].answer == "2"


def test_data_file_that_is_a_folder(tmp_path):
    (tmp_path / "rows.jsonl").mkdir()
    from revthink.data.readers import read_rows

    with pytest.raises(DataError, match=r"rows.jsonl: is a folder"):
        read_rows(tmp_path / "rows.jsonl")


@pytest.mark.parametrize("name", ["../outside", "a/b", "/abs", "..", ".hidden", ""])
def test_a_dataset_name_that_is_a_path_is_rejected(tmp_path, name):
    path = tmp_path / "mine.yaml"
    path.write_text(
        f"name: {json.dumps(name)}\nanswer_type: number\nfamily: math\nlocal:\n"
        "  format: fields\n  splits: {test: t.jsonl}\n  fields: {question: q, answer: a}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=rf"{path}: key 'name': .* is not a folder name"):
        load_problems(str(path), "test")


def test_a_split_name_that_is_a_path_is_rejected(tmp_path):
    spec = _dataset(tmp_path, "number", "  format: fields\n  splits: {../../x: t.jsonl}\n"
                    "  fields: {question: q, answer: a}\n")
    with pytest.raises(ConfigError, match=r"mine.yaml: split '../../x': not a folder name"):
        load_problems(spec, "../../x")


def test_a_dataset_yaml_that_is_a_folder(tmp_path):
    (tmp_path / "mine.yaml").mkdir()
    with pytest.raises(ConfigError, match=r"mine.yaml: is a folder; expected a dataset file"):
        load_problems(str(tmp_path / "mine.yaml"), "test")


def test_a_number_dataset_rejects_an_answer_that_is_not_a_number(tmp_path):
    (tmp_path / "n.csv").write_text("q,a\n2+2?,4\nWhat colour?,blue\n", encoding="utf-8")
    spec = _qa_dataset(tmp_path, "number", "n.csv")
    with pytest.raises(DataError, match=r"n.csv:3: field 'a': expected one number .*'blue'"):
        load_problems(spec, "test")


def test_a_csv_row_with_an_unquoted_comma_is_refused_not_shifted(tmp_path):
    (tmp_path / "s.csv").write_text("q,a\nAdd 2 and 3?,5\nAdd 2, 3,5\n", encoding="utf-8")
    spec = _qa_dataset(tmp_path, "number", "s.csv")
    with pytest.raises(DataError, match=r"s.csv:3: 3 fields, the header has 2; put a field that "
                                        "contains a comma in double quotes"):
        load_problems(spec, "test")


def test_a_json_line_may_hold_unicode_line_separators_inside_strings(tmp_path):
    (tmp_path / "u.jsonl").write_text(
        json.dumps({"q": "line\u2028and\u2029paragraph?", "a": 1}, ensure_ascii=False) + "\r\n",
        encoding="utf-8")
    spec = _qa_dataset(tmp_path, "number", "u.jsonl")
    [problem] = load_problems(spec, "test")
    assert problem.question == "line\u2028and\u2029paragraph?"


@pytest.mark.parametrize("gold", ["1e3", "2.5e-3", "4 or 5", "3:30"])
def test_a_number_answer_must_be_one_plain_number(tmp_path, gold):
    _jsonl(tmp_path / "n.jsonl", [{"q": "How many?", "a": gold}])
    spec = _qa_dataset(tmp_path, "number", "n.jsonl")
    with pytest.raises(DataError, match=r"n.jsonl:1: field 'a': expected one number written "):
        load_problems(spec, "test")


@pytest.mark.parametrize(("gold", "stored"), [("1,000", "1,000"), ("$4", "$4"), ("-3.5", "-3.5")])
def test_plain_numbers_with_commas_or_signs_are_kept(tmp_path, gold, stored):
    _jsonl(tmp_path / "n.jsonl", [{"q": "How many?", "a": gold}])
    [problem] = load_problems(_qa_dataset(tmp_path, "number", "n.jsonl"), "test")
    assert problem.answer == stored


def test_an_empty_id_is_refused(tmp_path):
    (tmp_path / "i.csv").write_text("id,q,a\nx,1+1?,2\n,2+2?,4\n", encoding="utf-8")
    spec = _dataset(tmp_path, "number", "  format: fields\n  splits: {test: i.csv}\n"
                    "  fields: {question: q, answer: a, id: id}\n")
    with pytest.raises(DataError, match=r"i.csv:3: field 'id': empty; every problem needs an id"):
        load_problems(spec, "test")
