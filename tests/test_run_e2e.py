"""CPU end-to-end: `revthink run` on a tiny config with the real SmolLM2-135M student.

Asserts on every artifact of every stage, then runs the CLI again and checks that nothing is
redone and the same table is printed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from revthink.config import load_config
from revthink.lock import LOCK
from revthink.pipeline import run
from revthink.records import AugmentedExample, Prediction, Score, from_json, read_jsonl

METHODS = ["zero_shot", "skd", "revthink"]
TRAINED = ["skd", "revthink"]
BENCH = "synthetic_arithmetic"
EVAL_LIMIT = 3
STEPS = 2


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("e2e")
    config = {
        "name": "tiny",
        "output_dir": str(root / "runs"),
        "methods": METHODS,
        "augment": {
            "data": {"dataset": BENCH, "split": "train", "limit": 8},
            "teacher": {"backend": "program"},
            "k": 1,
            "temperature": 0.0,
        },
        "train": {"max_steps": STEPS, "batch_size": 4, "max_length": 192, "save_steps": 1,
                  "learning_rate": 0.001},
        "evaluate": {"benchmarks": [{"dataset": BENCH, "split": "test", "limit": EVAL_LIMIT}],
                     "max_new_tokens": 12, "batch_size": 4},
    }
    path = root / "tiny.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    run(load_config(path))
    return path, root / "runs" / "tiny"


@pytest.mark.slow
def test_augment_artifacts(finished_run):
    _, run_dir = finished_run
    stage = run_dir / "augment"
    records = read_jsonl(stage / "records.jsonl", AugmentedExample)
    funnel = json.loads((stage / "funnel.json").read_text())
    ledger = json.loads((stage / "ledger.json").read_text())
    assert funnel["problems_in"] == 8
    assert len(records) == funnel["kept"] > 0
    for r in records:
        assert r.forward_reasoning and r.backward_question and r.backward_reasoning
    assert ledger["calls"] == 4 * funnel["kept"]  # forward, Q_b, R_b, consistency
    assert (stage / "manifest.json").exists()


@pytest.mark.slow
def test_train_artifacts(finished_run):
    _, run_dir = finished_run
    for method in TRAINED:
        stage = run_dir / "train" / method
        assert (stage / "adapter_model.safetensors").stat().st_size > 0
        assert (stage / "adapter_config.json").exists() and (stage / "manifest.json").exists()
        rows = [json.loads(line) for line in (stage / "losses.jsonl").read_text().splitlines()]
        train_rows = [r for r in rows if "loss" in r]
        assert [r["step"] for r in train_rows] == list(range(1, STEPS + 1))
        assert not list(stage.glob("checkpoint-*")), "checkpoints are removed after success"
    revthink_row = json.loads((run_dir / "train/revthink/losses.jsonl").read_text().splitlines()[0])
    for objective in ("loss_forward", "loss_backward_question", "loss_backward_reasoning"):
        assert revthink_row[objective] > 0
    assert not (run_dir / "train" / "zero_shot").exists()


@pytest.mark.slow
def test_evaluate_artifacts(finished_run):
    _, run_dir = finished_run
    for method in METHODS:
        stage = run_dir / "evaluate" / method / BENCH
        predictions = read_jsonl(stage / "predictions.jsonl", Prediction)
        assert len(predictions) == EVAL_LIMIT
        assert {p.method for p in predictions} == {method}
        assert all(p.output and p.prompt for p in predictions)
        score = from_json(Score, json.loads((stage / "scores.json").read_text()))
        assert score.n == EVAL_LIMIT
        assert score.accuracy == sum(p.correct for p in predictions) / EVAL_LIMIT
        assert score.ci_low <= score.accuracy <= score.ci_high
    prompts = {
        m: [p.prompt for p in read_jsonl(run_dir / "evaluate" / m / BENCH / "predictions.jsonl",
                                          Prediction)]
        for m in METHODS
    }
    assert prompts["zero_shot"] == prompts["skd"] == prompts["revthink"]


@pytest.mark.slow
def test_report_artifacts(finished_run):
    _, run_dir = finished_run
    html = (run_dir / "report" / "report.html").read_text()
    markdown = (run_dir / "report" / "report.md").read_text()
    for method in METHODS:
        assert method in html and method in markdown
    assert "data:image/png;base64," in html
    assert "loss_backward_question" in html or "backward question" in html.lower()
    assert set(json.loads((run_dir / "timings.json").read_text())) == {
        "augment", "train", "evaluate", "report"}


def _files(folder: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file() and p.name != LOCK}


@pytest.mark.slow
def test_a_moved_finished_run_stays_finished_and_then_writes_nothing(finished_run, tmp_path):
    """Inputs are named relative to the run, so a copy elsewhere redoes no stage and keeps its
    stage times; run once more there it rewrites no file at all (a read-only copy works)."""
    config, run_dir = finished_run
    moved = tmp_path / "elsewhere" / run_dir.name
    shutil.copytree(run_dir, moved)
    manifests = {p: t for p, t in _files(moved).items() if p.name == "manifest.json"}
    timings = (moved / "timings.json").read_text()
    env = {**os.environ, "COLUMNS": "120"}
    command = [sys.executable, "-m", "revthink", "run", str(config), f"output_dir={moved.parent}"]
    for _ in range(2):
        files = _files(moved)
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
        assert result.returncode == 0, result.stderr[-2000:]
        assert {p: t for p, t in _files(moved).items() if p.name == "manifest.json"} == manifests
        assert (moved / "timings.json").read_text() == timings
        for method in METHODS:
            assert method in result.stdout
        assert str(moved / "report" / "report.html") in result.stdout + result.stderr
    assert _files(moved) == files


@pytest.mark.slow
def test_the_adapter_names_its_hub_model_and_has_a_real_card(finished_run):
    _, run_dir = finished_run
    stage = run_dir / "train" / "revthink"
    adapter = json.loads((stage / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    card = (stage / "README.md").read_text()
    assert "More Information Needed" not in card
    score = from_json(Score, json.loads(
        (run_dir / "evaluate" / "revthink" / BENCH / "scores.json").read_text()))
    assert f"{score.accuracy:.1%} [{score.ci_low:.1%}".replace("%", "") in card  # refreshed


@pytest.mark.slow
def test_the_merged_export_answers_as_evaluated_and_the_data_reads_back(finished_run, tmp_path):
    from datasets import load_dataset

    from revthink.evaluate.stage import run as evaluate
    from revthink.export.stage import Options
    from revthink.export.stage import run as export

    config, run_dir = finished_run
    out = tmp_path / "export"
    export(run_dir, "revthink", out, Options(merge=True))
    assert not (out / "adapter_config.json").exists() and (out / "config.json").exists()
    merged = {
        "name": "merged", "output_dir": str(tmp_path / "runs"), "methods": ["zero_shot"],
        "train": {"student": {"path": str(out)}},
        "evaluate": yaml.safe_load(config.read_text())["evaluate"],
    }
    path = tmp_path / "merged.yaml"
    path.write_text(yaml.safe_dump(merged), encoding="utf-8")
    evaluate(load_config(path))

    def answers(folder: Path) -> dict[str, tuple[str, str]]:
        rows = read_jsonl(folder / BENCH / "predictions.jsonl", Prediction)
        return {p.problem_id: (p.prompt, p.output) for p in rows}

    again = answers(tmp_path / "runs" / "merged" / "evaluate" / "zero_shot")
    assert again == answers(run_dir / "evaluate" / "revthink") and len(again) == EVAL_LIMIT
    assert again != answers(run_dir / "evaluate" / "zero_shot")  # the adapter is in the merge
    records = read_jsonl(run_dir / "augment" / "records.jsonl", AugmentedExample)
    data = load_dataset("parquet", data_files=str(out / "dataset/data/*.parquet"))["train"]
    assert data["id"] == [r.id for r in records]
    assert data["backward_question"] == [r.backward_question for r in records]
    assert data["consistent"] == [r.consistent for r in records]
    assert "configs:" in (out / "dataset" / "README.md").read_text()


@pytest.mark.slow
def test_the_gguf_export_through_the_cli_states_its_agreement_in_the_card(finished_run, tmp_path):
    from gguf import GGUFReader

    _, run_dir = finished_run
    out = tmp_path / "gguf"
    result = subprocess.run(
        [sys.executable, "-m", "revthink", "export", str(run_dir), "--method", "revthink",
         "--merge", "--gguf", "--to", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    reader = GGUFReader(out / "revthink.gguf")
    assert reader.fields["general.architecture"].contents() == "llama"
    assert {t.tensor_type.name for t in reader.tensors} == {"F16", "F32"}
    card = (out / "README.md").read_text()
    assert "## GGUF" in card and "`revthink.gguf`: f16" in card
    rows = [line for line in card.splitlines() if line.startswith("| ") and "agreement" not in line]
    assert len(rows) >= 4 and all("equal" in r or "first difference" in r for r in rows[-4:])
    assert "revthink.gguf" in result.stdout
