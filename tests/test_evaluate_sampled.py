"""Sampled decoding end to end with the real SmolLM2-135M: self-consistency and forward-backward.

Three problems, two samples each, a few new tokens: what is checked is the bookkeeping (votes,
backward checks, tokens, fallbacks, resume), which does not need the model to be right.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from revthink import answers
from revthink.augment.rule_backward import mask_number
from revthink.config import BenchmarkConfig, EvaluateConfig, ExperimentConfig
from revthink.data import load_problems
from revthink.evaluate import stage
from revthink.evaluate.voting import DECODINGS, read_decodings, tally
from revthink.records import Prediction, Score, from_json, read_jsonl
from revthink.report.stage import run as report

pytestmark = pytest.mark.slow

N = 2  # problems per benchmark
SAMPLES = 2


def _config(root: Path, decode: str) -> ExperimentConfig:
    return ExperimentConfig(
        name=decode, output_dir=str(root), methods=("zero_shot",),
        evaluate=EvaluateConfig(
            benchmarks=(BenchmarkConfig(dataset="synthetic_arithmetic", limit=N),
                        BenchmarkConfig(dataset="synthetic_relations", limit=1)),
            max_new_tokens=24, batch_size=8, bootstrap_samples=50, decode=decode,  # type: ignore[arg-type]
            samples=SAMPLES, temperature=1.0, backward_weight=2.0,
            threads=1,  # one thread is faster than two on a machine whose cores are shared
        ),
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    done = {}
    for decode in ("self_consistency", "forward_backward"):
        cfg = _config(root, decode)
        stage.run(cfg)
        done[decode] = cfg
    return done


def _folder(cfg: ExperimentConfig, benchmark: str) -> Path:
    return cfg.run_dir / "evaluate" / "zero_shot" / benchmark


def test_each_problem_records_its_samples_votes_and_tokens(runs):
    for decode, cfg in runs.items():
        folder = _folder(cfg, "synthetic_arithmetic")
        predictions = read_jsonl(folder / "predictions.jsonl", Prediction)
        decodings = read_decodings(folder)
        assert [p.problem_id for p in predictions] == list(decodings)
        for prediction in predictions:
            decoding = decodings[prediction.problem_id]
            assert decoding.strategy == decode and len(decoding.answers) == SAMPLES
            assert decoding.votes == tally(decoding.answers)
            assert prediction.generated_tokens == decoding.forward_tokens + decoding.backward_tokens
            assert decoding.forward_tokens >= SAMPLES
            # the kept reasoning states the chosen answer, so the verdict follows from the text
            assert prediction.extracted == decoding.chosen or decoding.chosen is None
        score = from_json(Score, json.loads((folder / "scores.json").read_text()))
        tokens = sum(p.generated_tokens for p in predictions) / len(predictions)
        assert score.mean_generated_tokens == pytest.approx(tokens)
        assert score.extra["samples"] == SAMPLES
        assert score.extra["forward_tokens_per_problem"] + score.extra[
            "backward_tokens_per_problem"] == pytest.approx(tokens)


def test_self_consistency_checks_nothing_backwards(runs):
    decodings = read_decodings(_folder(runs["self_consistency"], "synthetic_arithmetic"))
    for decoding in decodings.values():
        assert decoding.checks == () and decoding.backward_tokens == 0
        assert decoding.chosen == decoding.majority
        assert decoding.scores == {c: float(v) for c, v in decoding.votes.items()}


def test_forward_backward_checks_each_candidate_with_the_rule_masked_question(runs):
    cfg = runs["forward_backward"]
    problems = {p.id: p for p in load_problems("synthetic_arithmetic", "test", limit=N)}
    decodings = read_decodings(_folder(cfg, "synthetic_arithmetic"))
    for pid, decoding in decodings.items():
        assert decoding.fallback == ""
        assert [c.candidate for c in decoding.checks] == list(decoding.votes)
        for check in decoding.checks:
            rule = mask_number(dataclasses.replace(problems[pid], answer=check.candidate), cfg.seed)
            assert (check.question, check.expected) == (rule.question, rule.answer)
            assert check.recovered == (check.extracted == answers.normalize(rule.answer, "number"))
            votes = decoding.votes[check.candidate]
            assert decoding.scores[check.candidate] == votes + 2.0 * check.recovered
        assert decoding.backward_tokens == sum(c.tokens for c in decoding.checks)
    assert any(d.checks for d in decodings.values())  # seeded: one sample states an answer


def test_forward_backward_falls_back_to_votes_without_a_number_and_says_so(runs):
    folder = _folder(runs["forward_backward"], "synthetic_relations")
    (decoding,) = read_decodings(folder).values()
    assert decoding.checks == () and decoding.backward_tokens == 0
    assert "answer type 'choice'" in decoding.fallback
    assert decoding.chosen == decoding.majority
    score = json.loads((folder / "scores.json").read_text())
    assert score["extra"]["fallback_rate"] == 1.0


def test_a_resumed_run_keeps_decodings_in_step_with_predictions(runs):
    folder = _folder(runs["self_consistency"], "synthetic_arithmetic")
    (folder / "manifest.json").unlink()
    lines = (folder / "predictions.jsonl").read_text().splitlines(keepends=True)
    (folder / "predictions.jsonl").write_text(lines[0])  # as if killed after one problem
    before = read_decodings(folder)
    stage.run(runs["self_consistency"])
    after = read_decodings(folder)
    assert list(after) == list(before)
    first = next(iter(before))
    assert after[first] == before[first]  # kept, not sampled again
    assert len((folder / DECODINGS).read_text().splitlines()) == N


def test_a_benchmark_with_its_own_decode_is_a_column_beside_the_greedy_one(runs, tmp_path):
    whole = runs["forward_backward"].evaluate
    own = BenchmarkConfig(dataset="synthetic_arithmetic", limit=N, decode="forward_backward",
                          samples=SAMPLES, temperature=whole.temperature)
    section = dataclasses.replace(
        whole, decode="greedy", samples=1, temperature=0.0,
        benchmarks=(BenchmarkConfig(dataset="synthetic_arithmetic", limit=N), own),
    )
    cfg = ExperimentConfig(name="mixed", output_dir=str(tmp_path), methods=("zero_shot",),
                           evaluate=section)
    stage.run(cfg)
    greedy = _folder(cfg, "synthetic_arithmetic")
    sampled = _folder(cfg, f"synthetic_arithmetic-forward_backward-n{SAMPLES}")
    assert not (greedy / DECODINGS).exists()
    # the same decoding as when the whole evaluate section asks for it
    alone = _folder(runs["forward_backward"], "synthetic_arithmetic")
    assert read_decodings(sampled) == read_decodings(alone)
    for folder, decode in ((greedy, "greedy"), (sampled, "forward_backward")):
        manifest = json.loads((folder / "manifest.json").read_text())
        assert (manifest["decode"], manifest["base_benchmark"]) == (decode, "synthetic_arithmetic")
    md = (report([cfg.run_dir], None).parent / "report.md").read_text()
    assert "| zero_shot | synthetic_arithmetic | greedy | 1 | 2 |" in md
    assert f"| zero_shot | synthetic_arithmetic | forward_backward | {SAMPLES} | 2 |" in md
