"""`revthink run`'s order of stages, with every stage replaced by a recorder (no model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from revthink import pipeline
from revthink.augment import stage as augment
from revthink.config import load_config
from revthink.evaluate import stage as evaluate
from revthink.probe import reversal
from revthink.report import stage as report
from revthink.train import stage as train

SHIPPED = Path(__file__).resolve().parent.parent / "configs" / "reverse_skills.yaml"


@pytest.fixture
def calls(monkeypatch) -> list[str]:
    done: list[str] = []
    for name, module in [("augment", augment), ("train", train), ("evaluate", evaluate),
                         ("probe", reversal)]:
        monkeypatch.setattr(module, "run", lambda cfg, name=name: done.append(name) or Path())
    monkeypatch.setattr(report, "run", lambda dirs, out: done.append("report") or Path())
    monkeypatch.setattr(report, "results_table", lambda dirs: "")
    return done


@pytest.mark.parametrize(("enabled", "stages"), [
    (True, ["augment", "train", "evaluate", "probe", "report"]),
    (False, ["augment", "train", "evaluate", "report"]),
])
def test_the_probe_runs_after_evaluation_when_enabled(tmp_path, calls, enabled, stages):
    cfg = load_config(SHIPPED, [f"output_dir={tmp_path}", f"probe.enabled={str(enabled).lower()}"])
    pipeline.run(cfg)
    assert calls == stages
    assert list(json.loads((cfg.run_dir / "timings.json").read_text())) == stages


def test_the_shipped_config_answers_a_small_set_greedy_and_by_forward_backward():
    cfg = load_config(SHIPPED)
    assert cfg.probe.enabled and cfg.methods == ("zero_shot", "skd", "revthink")
    settings = [cfg.evaluate.for_benchmark(b) for b in cfg.evaluate.benchmarks]
    assert [(s.benchmarks[0].dataset, s.decode, s.samples) for s in settings] == [
        ("synthetic", "greedy", 1), ("synthetic_backward", "greedy", 1),
        ("synthetic_arithmetic", "greedy", 1), ("synthetic_arithmetic", "forward_backward", 4),
    ]
    assert settings[2].benchmarks == settings[3].benchmarks  # the same problems
    assert settings[3].temperature > 0 == settings[0].temperature


def test_zero_shot_alone_needs_no_augmentation_or_training(tmp_path, calls):
    cfg = load_config(SHIPPED, [f"output_dir={tmp_path}", "methods=[zero_shot]",
                                "probe.enabled=false"])
    pipeline.run(cfg)
    assert calls == ["evaluate", "report"]
