"""`revthink evaluate` end to end with the real SmolLM2-135M on a few GSM8K problems.

A LoRA adapter with random (non-zero) weights is made here, so the adapter path changes the
answers; the zero-shot student is the untouched model.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from revthink.config import BenchmarkConfig, EvaluateConfig, ExperimentConfig, ModelConfig
from revthink.data import load_problems
from revthink.errors import DataError, ModelError
from revthink.evaluate import engine_hf, stage
from revthink.manifest import write_manifest
from revthink.models import load_model, load_tokenizer
from revthink.prompting import encode_prompt, question_text, render_prompt, student_messages
from revthink.records import Comparison, Prediction, Score, from_json, read_jsonl

pytestmark = pytest.mark.slow

N = 3


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One thread generates faster than two on a machine whose cores are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _config(root: Path, methods=("zero_shot", "skd")) -> ExperimentConfig:
    return ExperimentConfig(
        name="evalrun", output_dir=str(root), methods=methods,
        evaluate=EvaluateConfig(
            benchmarks=(BenchmarkConfig(dataset="gsm8k", limit=N),), max_new_tokens=12,
            batch_size=4, bootstrap_samples=200,
        ),
    )


def _make_adapter(folder: Path) -> None:
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    lora = LoraConfig(r=4, lora_alpha=32, target_modules=["q_proj", "v_proj"],
                      init_lora_weights=False, task_type="CAUSAL_LM")
    get_peft_model(load_model(ModelConfig(), "cpu"), lora).save_pretrained(str(folder))
    write_manifest(folder, {})


def no_model(*args, **kwargs):
    raise AssertionError("a model was loaded")


class Calls:
    """Counts the prompts each generate call receives."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sizes: list[int] = []
        original = engine_hf.HFEngine.generate

        def counting(engine, prompts, checks=None):
            self.sizes.append(len(prompts))
            return original(engine, prompts, checks)

        monkeypatch.setattr(engine_hf.HFEngine, "generate", counting)


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(ModelConfig())


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    cfg = _config(root)
    _make_adapter(cfg.run_dir / "train" / "skd")
    with pytest.MonkeyPatch.context() as monkeypatch:
        calls = Calls(monkeypatch)
        out = stage.run(cfg)
    return cfg, out, calls.sizes


def _predictions(cfg: ExperimentConfig, method: str) -> list[Prediction]:
    return read_jsonl(cfg.run_dir / "evaluate" / method / "gsm8k" / "predictions.jsonl", Prediction)


def test_every_artifact_is_written(evaluated):
    cfg, out, sizes = evaluated
    assert out == cfg.run_dir / "evaluate"
    assert sizes == [N, N]
    for method in cfg.methods:
        folder = out / method / "gsm8k"
        assert {"predictions.jsonl", "scores.json", "manifest.json"} <= {
            p.name for p in folder.iterdir()
        }
        assert (folder / "generation.json").is_file()
        score = from_json(Score, json.loads((folder / "scores.json").read_text()))
        assert (score.method, score.dataset, score.n) == (method, "gsm8k", N)
        assert 0 < score.mean_generated_tokens <= 12 and score.tokens_per_second > 0
    summary = read_jsonl(out / "scores.jsonl", Score)
    assert [(s.method, s.dataset) for s in summary] == [
        ("zero_shot", "gsm8k"), ("skd", "gsm8k")
    ]


def test_the_methods_are_compared_paired(evaluated):
    cfg, out, _ = evaluated
    [comparison] = read_jsonl(out / "comparisons.jsonl", Comparison)
    assert (comparison.method, comparison.baseline) == ("skd", "zero_shot")
    assert (comparison.dataset, comparison.n) == ("gsm8k", N)
    adapted, base = _predictions(cfg, "skd"), _predictions(cfg, "zero_shot")
    pairs = list(zip(adapted, base, strict=True))
    assert comparison.wins == sum(a.correct and not b.correct for a, b in pairs)
    assert comparison.losses == sum(b.correct and not a.correct for a, b in pairs)


def test_a_merged_adapter_answers_as_the_unmerged_one(evaluated, tokenizer):
    """In float32; in bf16 the merged weights round differently, so tokens may differ."""
    cfg = evaluated[0]
    ids = [encode_prompt(tokenizer, p.prompt, "chat") for p in _predictions(cfg, "skd")]
    student = dataclasses.replace(cfg.train.student, dtype="float32")
    outputs = []
    for merge in (True, False):
        engine = engine_hf.HFEngine(
            dataclasses.replace(cfg.evaluate, merge_lora=merge), student, tokenizer, seed=0
        )
        engine.use_weights(cfg.run_dir / "train" / "skd")
        texts = {i: g.text for b in engine.generate(ids)
                 for i, g in zip(b.indices, b.generations, strict=True)}
        outputs.append([texts[i] for i in range(N)])
    merged, unmerged = outputs
    assert merged == unmerged
    assert merged != [p.output for p in _predictions(cfg, "zero_shot")]


def test_prompts_are_rendered_as_in_training(evaluated, tokenizer):
    cfg = evaluated[0]
    problems = load_problems("gsm8k", "test", limit=N, seed=cfg.seed)
    expected = [
        render_prompt(tokenizer, student_messages(question_text(p), p.answer_type), "chat")
        for p in problems
    ]
    for method in cfg.methods:
        predictions = _predictions(cfg, method)
        assert [p.problem_id for p in predictions] == [p.id for p in problems]
        assert [p.prompt for p in predictions] == expected
        assert [p.gold for p in predictions] == [p.answer for p in problems]
        assert all(p.method == method and p.output for p in predictions)


def test_the_adapter_changes_the_answers(evaluated):
    cfg = evaluated[0]
    base = [p.output for p in _predictions(cfg, "zero_shot")]
    assert base != [p.output for p in _predictions(cfg, "skd")]


def test_a_finished_evaluation_is_skipped_without_loading_a_model(evaluated, monkeypatch):
    cfg, out, _ = evaluated
    before = (out / "zero_shot" / "gsm8k" / "scores.json").read_text()

    monkeypatch.setattr(engine_hf, "load_model", no_model)
    stage.run(cfg)
    assert (out / "zero_shot" / "gsm8k" / "scores.json").read_text() == before


def test_an_interrupted_evaluation_resumes_with_the_missing_problems(
    evaluated, tokenizer, monkeypatch
):
    cfg, out, _ = evaluated
    folder = out / "zero_shot" / "gsm8k"
    complete = _predictions(cfg, "zero_shot")
    lines = (folder / "predictions.jsonl").read_text().splitlines(keepends=True)
    # as a kill leaves it: no manifest, one saved prediction and a torn line
    (folder / "manifest.json").unlink()
    (folder / "predictions.jsonl").write_text(lines[0] + lines[1][:40])
    calls = Calls(monkeypatch)
    stage.run(cfg)
    assert calls.sizes == [N - 1]
    assert _predictions(cfg, "zero_shot") == complete
    assert (folder / "manifest.json").is_file()


def test_engine_returns_to_the_untouched_student_after_a_merged_adapter(evaluated, tokenizer):
    cfg = evaluated[0]
    assert EvaluateConfig().merge_lora
    engine = engine_hf.HFEngine(
        EvaluateConfig(max_new_tokens=6), cfg.train.student, tokenizer, seed=0
    )
    ids = [encode_prompt(tokenizer, _predictions(cfg, "zero_shot")[0].prompt, "chat")]
    base = next(engine.generate(ids)).generations
    engine.use_weights(cfg.run_dir / "train" / "skd")
    adapted = next(engine.generate(ids)).generations
    engine.use_weights(None)
    assert next(engine.generate(ids)).generations == base != adapted


def test_a_method_without_trained_weights_is_named(tmp_path, tokenizer):
    cfg = _config(tmp_path, methods=("zero_shot", "skd"))
    with pytest.raises(ModelError, match=r"train/skd.*is missing; run `revthink train` first"):
        stage.plan(cfg, tokenizer)


def test_new_scoring_or_a_smaller_subset_is_rescored_without_a_model(evaluated, monkeypatch):
    cfg, out, _ = evaluated
    kept = _predictions(cfg, "skd")
    smaller = dataclasses.replace(cfg, evaluate=dataclasses.replace(
        cfg.evaluate, benchmarks=(BenchmarkConfig(dataset="gsm8k", limit=N - 1),),
        bootstrap_samples=50,
    ))

    monkeypatch.setattr(engine_hf, "load_model", no_model)
    summary = read_jsonl(stage.run(smaller) / "scores.jsonl", Score)
    assert [s.n for s in summary] == [N - 1, N - 1]
    subset = {p.id for p in load_problems("gsm8k", "test", limit=N - 1, seed=cfg.seed)}
    assert _predictions(cfg, "skd") == [p for p in kept if p.problem_id in subset]


def test_a_prompt_longer_than_the_limit_is_refused_before_a_model_loads(tmp_path, monkeypatch):
    cfg = _config(tmp_path, methods=("zero_shot",))
    cfg = dataclasses.replace(cfg, evaluate=dataclasses.replace(cfg.evaluate, max_prompt_tokens=60))
    monkeypatch.setattr(engine_hf, "load_model", no_model)
    with pytest.raises(DataError, match=r"benchmark gsm8k: \d of 3 prompts are longer than "
                                        r"evaluate.max_prompt_tokens=60: test-\d+ \(\d+ tokens\)"):
        stage.run(cfg)
    assert not (cfg.run_dir / "evaluate" / "zero_shot" / "gsm8k" / "predictions.jsonl").exists()
