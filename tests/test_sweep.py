"""Sweeps: a config's `sweep:` section expanded into runs, checked by key, resumed, reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from revthink.config import load_config, to_dict
from revthink.errors import ConfigError
from revthink.layout import SWEEP_FILE, combination_folders
from revthink.manifest import write_manifest
from revthink.records import Comparison, Prediction, Score, write_jsonl
from revthink.report import seeds, stage
from revthink.report.collect import load_run
from revthink.sweep import load_sweep, run

BASE = {
    "name": "study",
    "methods": ["zero_shot", "skd", "revthink"],
    "augment": {"data": {"dataset": "synthetic", "split": "train", "limit": 8},
                "teacher": {"backend": "program"}},
    "evaluate": {"benchmarks": [{"dataset": "synthetic", "limit": 4}]},
}


def _config(tmp_path: Path, sweep, **extra) -> Path:
    path = tmp_path / "study.yaml"
    body = {**BASE, "output_dir": str(tmp_path / "runs"), "sweep": sweep, **extra}
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


def test_combinations_are_the_product_in_written_order_with_stable_names(tmp_path):
    path = _config(tmp_path, {"seed": [0, 1], "train.train_fraction": [0.1, 1.0]})
    sweep = load_sweep(path)
    labels = [c.label for c in sweep.combinations]
    assert labels == ["seed0-train_fraction0.1", "seed0-train_fraction1.0",
                      "seed1-train_fraction0.1", "seed1-train_fraction1.0"]
    last = sweep.combinations[-1]
    assert last.settings == {"seed": 1, "train.train_fraction": 1.0}
    assert (last.config.seed, last.config.train.train_fraction) == (1, 1.0)
    assert last.config.run_dir == tmp_path / "runs" / "study" / "seed1-train_fraction1.0"
    assert sweep.folder == tmp_path / "runs" / "study"
    assert last.config.augment == load_sweep(path).combinations[0].config.augment


def test_nested_keys_overrides_and_shared_last_parts(tmp_path):
    nested = _config(tmp_path, {"augment": {"data": {"limit": [4, 8]}}, "evaluate.limit": [5]})
    sweep = load_sweep(nested, ["train.learning_rate=0.01", "sweep.seed=[3]"])
    assert [c.label for c in sweep.combinations] == [
        "augment.data.limit4-evaluate.limit5-seed3", "augment.data.limit8-evaluate.limit5-seed3",
    ]
    assert {c.config.train.learning_rate for c in sweep.combinations} == {0.01}
    assert sweep.combinations[1].config.augment.data.limit == 8


@pytest.mark.parametrize(("section", "message"), [
    ({"train.train_fractoin": [0.1]}, "key 'sweep.train.train_fractoin': unknown key "
                                      "'train_fractoin'; valid keys here:"),
    ({"seed": []}, "key 'sweep.seed': expected a non-empty list of values, got []"),
    ({"seed": 3}, "key 'sweep.seed': expected a non-empty list of values, got 3"),
    ({"train": {"lora": [1]}}, "key 'sweep.train.lora': 'train.lora' is a section"),
    ({"seed.x": [1]}, "key 'sweep.seed.x': 'seed' is a setting, not a section"),
    ({"name": ["a", "b"]}, "key 'sweep.name': 'name' cannot be swept"),
    ({"seed": [1, 1]}, "key 'sweep.seed': each value once"),
    ({"methods": [["skd"]]}, "key 'sweep.methods': expected single values"),
    ({"train.learning_rate": ["1e-3", 0.001]}, "key 'sweep.train.learning_rate': the values "
                                               "'1e-3' and 0.001 are the same setting (0.001)"),
    ({"train.train_fraction": [1, 1.0]}, "the values 1 and 1.0 are the same setting"),
    ([1, 2], "key 'sweep': expected a mapping"),
    ({"train.train_fraction": [0.5, 2.0]},
     "(sweep combination train_fraction2.0): key 'train.train_fraction': expected a number"),
])
def test_a_bad_sweep_names_the_key(tmp_path, section, message):
    with pytest.raises(ConfigError) as err:
        load_sweep(_config(tmp_path, section))
    assert message in str(err.value)
    assert str(tmp_path / "study.yaml") in str(err.value)


def test_stage_commands_refuse_a_sweep_and_validate_checks_every_combination(tmp_path):
    from revthink.validation import validate_all

    path = _config(tmp_path, {"seed": [0, 1]})
    with pytest.raises(ConfigError, match="key 'sweep': this config is a sweep; `revthink run"):
        load_config(path)
    assert validate_all([path]) == []
    bad = _config(tmp_path, {"augment.data.dataset": ["synthetic", "no_such_data"]})
    (problem,) = validate_all([bad])
    assert "key 'augment.data.dataset'" in problem and "no_such_data" in problem


def test_the_shipped_study(tmp_path):
    sweep = load_sweep(Path(__file__).parent.parent / "configs" / "synthetic_study.yaml")
    assert len(sweep.combinations) == 6
    config = sweep.combinations[0].config
    assert set(config.methods) == {"zero_shot", "skd", "skd_equal_compute", "revthink"}
    assert config.train.epochs == 5 and config.train.eval_steps > 0
    assert [(b.dataset, b.split) for b in config.evaluate.benchmarks] == [
        ("synthetic", "test"), ("synthetic", "hard")]
    assert {(c.config.seed, c.config.train.train_fraction) for c in sweep.combinations} == {
        (s, f) for s in (0, 1, 2) for f in (0.1, 1.0)}


class FakeRun:
    """A cheap stand-in for every stage: manifests, scores and comparisons as a run writes them.

    It fails once on the combination named in ``fail_on``, as an interrupted sweep would.
    """

    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[str] = []
        self.found_copied: list[str] = []
        self.fail_on = fail_on

    def __call__(self, cfg) -> Path:
        self.calls.append(cfg.name)
        run_dir = cfg.run_dir
        if cfg.name == self.fail_on:
            self.fail_on = None
            raise KeyboardInterrupt
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps(to_dict(cfg)), encoding="utf-8")
        for folder in ("augment", "evaluate/zero_shot/synthetic"):
            if (run_dir / folder / "manifest.json").is_file():
                self.found_copied.append(f"{cfg.name}:{folder}")
            else:
                write_manifest(run_dir / folder, {"seed": cfg.seed})
        write_manifest(run_dir / "train" / "skd", {"seed": cfg.seed})
        accuracy = 0.2 + 0.1 * cfg.seed + 0.2 * cfg.train.train_fraction
        write_jsonl(run_dir / "evaluate" / "scores.jsonl", [
            Score("zero_shot", "synthetic", 4, 0.2, 0.0, 0.5, 0.2, 0.25),
            Score("skd", "synthetic", 4, accuracy, 0.0, 1.0, accuracy, 0.0),
        ])
        write_jsonl(run_dir / "evaluate" / "comparisons.jsonl", [
            Comparison("skd", "zero_shot", "synthetic", 4, accuracy - 0.2, -0.1, 0.6, 2, 1, 0.5),
        ])
        return run_dir


def test_an_interrupted_sweep_resumes_and_a_finished_one_does_nothing(tmp_path):
    sweep = load_sweep(_config(tmp_path, {"seed": [0, 1], "train.train_fraction": [0.5, 1.0]}))
    fake = FakeRun(fail_on="seed1-train_fraction0.5")
    with pytest.raises(KeyboardInterrupt):
        run(sweep, fake)
    assert fake.calls == ["seed0-train_fraction0.5", "seed0-train_fraction1.0",
                          "seed1-train_fraction0.5"]
    # same seed, other fraction: augmentation and zero-shot evaluation start as copies
    assert fake.found_copied == ["seed0-train_fraction1.0:augment",
                                 "seed0-train_fraction1.0:evaluate/zero_shot/synthetic"]
    html = run(sweep, fake)
    assert fake.calls[3:] == ["seed1-train_fraction0.5", "seed1-train_fraction1.0"]
    assert html == sweep.folder / "report" / "report.html"
    run(sweep, fake)
    assert len(fake.calls) == 5, "every combination was finished"
    (sweep.folder / "seed0-train_fraction1.0" / "train" / "skd" / "manifest.json").unlink()
    run(sweep, fake)
    assert fake.calls[5:] == ["seed0-train_fraction1.0"], "a stage redone: its combination runs"
    listed = json.loads((sweep.folder / SWEEP_FILE).read_text())
    assert [c["settings"] for c in listed["combinations"]][1] == {
        "seed": 0, "train.train_fraction": 1.0}
    assert len(combination_folders(sweep.folder)) == 4


def _score(method: str, accuracy: float, failures: float) -> Score:
    return Score(method, "synthetic-hard", 50, accuracy, accuracy - 0.1, accuracy + 0.1,
                 accuracy, failures, question_rate=0.02)


def _seed_run(root: Path, seed: int, fraction: float, revthink: float, skd: float,
              interval: tuple[float, float]) -> Path:
    """A run folder as `revthink run` leaves it, written by hand."""
    run_dir = root / f"seed{seed}-frac{fraction}"
    config = {"name": run_dir.name, "output_dir": str(root), "seed": seed,
              "methods": ["zero_shot", "skd", "revthink"], "train": {"train_fraction": fraction}}
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps(config), encoding="utf-8")
    write_jsonl(run_dir / "evaluate" / "scores.jsonl", [
        _score("zero_shot", 0.2, 0.3), _score("skd", skd, 0.1), _score("revthink", revthink, 0.0),
    ])
    low, high = interval
    ahead = round(50 * (revthink - skd))  # wins - losses over 50 problems
    write_jsonl(run_dir / "evaluate" / "comparisons.jsonl", [
        Comparison("revthink", "skd", "synthetic-hard", 50, revthink - skd, low, high,
                   ahead + 2, 2, 0.03),
        Comparison("revthink", "zero_shot", "synthetic-hard", 50, revthink - 0.2, 0.1, 0.4,
                   round(50 * (revthink - 0.2)) + 1, 1, 0.01),
    ])
    for method, accuracy in (("zero_shot", 0.2), ("skd", skd), ("revthink", revthink)):
        solved = round(50 * accuracy)  # the first problems, the same 50 for every seed's runs
        write_jsonl(run_dir / "evaluate" / method / "synthetic-hard" / "predictions.jsonl", [
            Prediction(f"p{i}", "synthetic", method, "q", "a", "1", "1" if i < solved else None,
                       None, i < solved, i < solved)
            for i in range(50)
        ])
    return run_dir


@pytest.fixture
def seed_runs(tmp_path):
    root = tmp_path / "runs" / "study"
    runs = [
        _seed_run(root, 0, 0.1, 0.30, 0.20, (0.02, 0.18)),
        _seed_run(root, 1, 0.1, 0.40, 0.30, (-0.05, 0.25)),
        _seed_run(root, 2, 0.1, 0.50, 0.30, (0.05, 0.35)),
        _seed_run(root, 0, 1.0, 0.60, 0.60, (-0.1, 0.1)),
    ]
    listing = {"combinations": [{"label": r.name} for r in runs] + [{"label": "not-yet-run"}]}
    (root / SWEEP_FILE).write_text(json.dumps(listing))
    return root, runs


def test_seeds_are_summed_up_per_setting(seed_runs):
    root, runs = seed_runs
    older = json.loads((runs[1] / "config.json").read_text())  # written before a setting existed
    written = {**older, "augment": {"drop_flags": []},
               "train": {"train_fraction": 0.1, "learning_rate": 2e-4}}  # both defaults
    (runs[1] / "config.json").write_text(json.dumps(written))
    groups = seeds.seed_groups([load_run(r) for r in runs])
    assert [(g.setting, g.seeds) for g in groups] == [
        ("train_fraction=0.1", (0, 1, 2)), ("train_fraction=1.0", (0,))]
    accuracy = {row[:3]: row[3:] for row in seeds.accuracy_grid(groups).rows}
    # revthink at 10%: 30, 40, 50 -> mean 40.0, sd 10.0; no final answer 0%
    assert accuracy[("train_fraction=0.1", "revthink", "synthetic-hard")] == (
        "3", "40.0", "10.0", "30.0-50.0", "0%", "2%")
    assert accuracy[("train_fraction=0.1", "zero_shot", "synthetic-hard")][4] == "30%"
    assert accuracy[("train_fraction=1.0", "skd", "synthetic-hard")][:3] == ("1", "60.0", "–")
    paired = {row[:4]: row[4:] for row in seeds.paired_grid(groups).rows}
    per_seed, pooled, excluding = paired[
        ("train_fraction=0.1", "revthink", "skd", "synthetic-hard")]
    assert per_seed.startswith("s0 +10.0 [+2.0, +18.0], p=0.030; s1 +10.0 [-5.0, +25.0]")
    assert pooled.startswith("+13.3 [") and excluding == "2/3 (2 above, 0 below)"
    assert paired[("train_fraction=1.0", "revthink", "skd", "synthetic-hard")][2] == (
        "0/1 (0 above, 0 below)")


def test_a_sweep_folder_is_reported_with_seed_means_and_the_fraction_plot(seed_runs):
    root, runs = seed_runs
    assert combination_folders(root) == runs, "a combination not run yet is left out"
    html = stage.run([root], None)
    assert html == root / "report" / "report.html"
    md = (root / "report" / "report.md").read_text()
    assert "## Over seeds" in md and "| train_fraction=0.1 | revthink | synthetic-hard | 3 |" in md
    assert "mean over seeds, bars: their range" in md
    assert (root / "report" / "data_fraction.png").is_file()
    listed = stage.run(runs, root / "listed")  # the run folders themselves: the same tables
    assert "| train_fraction=0.1 | revthink | synthetic-hard | 3 | 40.0 | 10.0 |" in (
        listed.parent / "report.md").read_text()


def test_the_fraction_point_of_several_seeds_is_their_mean_and_range(seed_runs, monkeypatch):
    _, runs = seed_runs
    drawn = []
    monkeypatch.setattr(stage.plots, "fraction_chart",
                        lambda curves, baselines: drawn.append((curves, baselines)) or b"png")
    section = stage.fraction_section([load_run(r) for r in runs])
    assert section is not None and "dashed: zero-shot" in section.blocks[0].caption
    [(curves, baselines)] = drawn  # a panel per benchmark, zero-shot as its level
    assert list(curves) == ["synthetic-hard"] and set(curves["synthetic-hard"]) == {
        "skd", "revthink"}
    assert baselines == {"synthetic-hard": pytest.approx(0.2)}
    revthink = sorted(curves["synthetic-hard"]["revthink"])
    assert revthink[0] == pytest.approx((0.1, 0.4, 0.3, 0.5))  # 30, 40, 50 over three seeds
    assert stage._point(0.1, [_score("skd", 0.2, 0), _score("skd", 0.4, 0)]) == pytest.approx(
        (0.1, 0.3, 0.2, 0.4))
    single = _score("skd", 0.5, 0)
    assert stage._point(1.0, [single]) == (1.0, 0.5, single.ci_low, single.ci_high)


def test_methods_are_compared_with_skd_of_the_other_settings_on_the_same_problems(seed_runs):
    _, runs = seed_runs
    groups = seeds.seed_groups([load_run(r) for r in runs])
    cross = {row[:4]: row[4:] for row in seeds.cross_grid(groups).rows}
    # seed 0 alone has both settings: revthink at 10% solves 15 of 50, skd at 100% 30 of them
    per_seed, pooled, excluding = cross[
        ("revthink", "train_fraction=0.1", "train_fraction=1.0", "synthetic-hard")]
    assert per_seed.startswith("s0 -30.0 [") and pooled.startswith("-30.0 [")
    assert excluding == "1/1 (0 above, 1 below)"
    skd = cross[("skd", "train_fraction=1.0", "train_fraction=0.1", "synthetic-hard")][0]
    assert skd.startswith("s0 +40.0 [") and skd.endswith("p<0.001")  # 30 of 50 against 10
    assert not any(method == "zero_shot" for method, *_ in cross)
