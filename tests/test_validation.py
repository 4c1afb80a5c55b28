"""`revthink validate`: shipped files load; broken configs and datasets are named by key."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from revthink.cli import app
from revthink.validation import validate_all


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_everything_shipped_is_valid():
    assert validate_all([]) == []


def test_valid_config_passes(tmp_path):
    path = _write(tmp_path, "ok.yaml", "name: ok\naugment:\n  data: {dataset: strategyqa}\n"
                  "  teacher: {backend: openai_compat}\n")
    assert validate_all([path]) == []


def test_unknown_key_is_reported_with_file_and_key(tmp_path):
    path = _write(tmp_path, "bad.yaml", "name: x\naugment:\n  dta: {dataset: gsm8k}\n")
    (problem,) = validate_all([path])
    assert str(path) in problem and "augment.dta" in problem


def test_unknown_dataset_and_missing_split_are_reported(tmp_path):
    path = _write(tmp_path, "refs.yaml", (
        "name: x\naugment:\n  data: {dataset: gsm9k}\n"
        "evaluate:\n  benchmarks:\n    - {dataset: math}\n"
        "    - {dataset: boolq, split: validation}\n"
    ))
    first, second = validate_all([path])
    assert str(path) in first and "key 'augment.data.dataset'" in first and "gsm9k" in first
    assert "key 'evaluate.benchmarks[1].split'" in second and "boolq (train, test)" in second


def test_two_benchmarks_that_would_share_a_folder_are_reported(tmp_path):
    sampled = "{dataset: gsm8k, decode: self_consistency, samples: 4, temperature: %s}"
    path = _write(tmp_path, "twice.yaml", (
        "name: x\nmethods: [zero_shot]\n"
        "evaluate:\n  benchmarks:\n    - {dataset: gsm8k, limit: 5}\n"
        f"    - {sampled % 0.7}\n    - {sampled % 1.0}\n"
    ))
    (problem,) = validate_all([path])
    assert "'gsm8k-self_consistency-n4'" in problem and "key 'evaluate.benchmarks'" in problem
    _write(tmp_path, "twice.yaml", path.read_text().replace("samples: 4, temperature: 1.0",
                                                            "samples: 8, temperature: 1.0"))
    assert validate_all([path]) == []


def test_folder_and_dataset_yaml(tmp_path):
    _write(tmp_path, "good.yaml", "name: x\nmethods: [zero_shot]\n")
    _write(tmp_path, "data.yaml", "name: d\nanswer_type: number\nfamily: math\nlocal:\n"
           "  format: fields\n  splits: {test: t.jsonl}\n  fields: {question: q}\n")
    (problem,) = validate_all([tmp_path])
    assert "data.yaml" in problem and "local.fields.answer" in problem


def test_cli_exits_1_and_prints_the_problem(tmp_path):
    path = _write(tmp_path, "bad.yaml", "name: x\ntrain: {batch_size: many}\n")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "train.batch_size" in result.output
    ok = CliRunner().invoke(app, ["validate"])
    assert ok.exit_code == 0, ok.output


def test_the_default_config_of_revthink_run_is_shipped_and_valid():
    from revthink.cli import DEFAULT_CONFIG
    from revthink.config import load_config

    assert DEFAULT_CONFIG.is_file()
    config = load_config(DEFAULT_CONFIG)
    assert config.name == "quickstart" and "revthink" in config.methods
    shipped = {p.name for p in DEFAULT_CONFIG.parent.glob("*.yaml")}
    assert {"quickstart.yaml", "gsm8k_local.yaml", "gsm8k_openai.yaml"} <= shipped


def test_unreadable_configs_are_problems_not_tracebacks(tmp_path):
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))
    (tmp_path / "empty").mkdir()
    first, second = validate_all([latin, tmp_path / "empty"])
    assert "latin.yaml: not UTF-8 text" in first
    assert "empty: is a folder; expected a config file" in second


def test_bad_values_and_methods_are_problems(tmp_path):
    path = _write(tmp_path, "values.yaml", "name: x\nmethods: [skd, revthinc]\n")
    (problem,) = validate_all([path])
    assert "values.yaml" in problem and "unknown method 'revthinc'" in problem


def test_what_augment_would_refuse_is_a_problem_before_it_runs(tmp_path):
    path = tmp_path / "program.yaml"
    path.write_text("name: p\nmethods: [zero_shot, skd]\naugment:\n  data: {dataset: gsm8k}\n"
                    "  teacher: {backend: program}\n")
    problems = validate_all([path])
    assert len(problems) == 1
    assert "the program teacher only knows the synthetic suite" in problems[0]
    path.write_text("name: p\nmethods: [zero_shot, skd]\naugment: {data: {dataset: synthetic}}\n"
                    "train: {eval_steps: 5, eval_split: dev}\n")
    assert validate_all([path]) == [
        f"{path}: key 'train.eval_split': 'dev' is not a split of synthetic "
        "(train, validation, test, hard)"]


def _local_dataset(tmp_path: Path) -> Path:
    """``mine.yaml``: a number dataset whose test split is the local file ``t.csv``."""
    return _write(tmp_path, "mine.yaml", "name: mine\nanswer_type: number\nfamily: math\n"
                  "local:\n  format: fields\n  splits: {test: t.csv}\n"
                  "  fields: {question: q, answer: a}\n")


def test_a_dataset_of_local_files_is_read_so_a_missing_file_or_bad_row_is_found(tmp_path):
    spec = _local_dataset(tmp_path)
    [missing] = validate_all([spec])
    assert "t.csv: file not found" in missing
    _write(tmp_path, "t.csv", "q,a\n2+2?,4\n")
    assert validate_all([spec]) == []
    _write(tmp_path, "t.csv", "q,a\n2+2?,4\nAdd 2, 3,5\n")
    [bad_row] = validate_all([spec])
    assert "t.csv:3: 3 fields, the header has 2" in bad_row


def test_a_config_naming_such_a_dataset_has_its_files_read_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _local_dataset(tmp_path)
    config = _write(tmp_path, "c.yaml", "name: c\nmethods: [zero_shot]\nevaluate:\n"
                    "  benchmarks: [{dataset: mine.yaml, split: test}]\n")
    [missing] = validate_all([config])
    assert "t.csv: file not found" in missing
    _write(tmp_path, "t.csv", "q,a\n2+2?,4\n")
    assert validate_all([config]) == []
