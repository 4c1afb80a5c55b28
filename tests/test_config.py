"""Experiment configs from YAML: a.b=c overrides, and errors naming file, key and type."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from revthink.config import (
    AugmentConfig,
    BenchmarkConfig,
    EvaluateConfig,
    ExperimentConfig,
    TrainConfig,
    build,
    config_hash,
    load_config,
    to_dict,
)
from revthink.errors import ConfigError

YAML = """\
name: smoke
seed: 3
methods: [zero_shot, revthink]
augment:
  data: {dataset: gsm8k, split: train, limit: 8}
  teacher: {backend: program}
  k: 2
train:
  lora: {rank: 4, target_modules: [q_proj, v_proj]}
  epochs: 1
evaluate:
  benchmarks:
    - {dataset: gsm8k, limit: 5}
    - {dataset: math}
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "smoke.yaml"
    path.write_text(YAML, encoding="utf-8")
    return path


def test_yaml_keys_become_typed_fields(config_file: Path) -> None:
    cfg = load_config(config_file)
    assert cfg.name == "smoke" and cfg.seed == 3
    assert cfg.methods == ("zero_shot", "revthink")
    assert cfg.augment.data.limit == 8 and cfg.augment.k == 2
    assert cfg.train.lora.target_modules == ("q_proj", "v_proj")
    assert cfg.train.epochs == 1.0 and isinstance(cfg.train.epochs, float)
    assert cfg.evaluate.benchmarks == (BenchmarkConfig("gsm8k", limit=5), BenchmarkConfig("math"))
    assert cfg.train.learning_rate == TrainConfig().learning_rate  # untouched keys keep defaults
    assert cfg.run_dir == Path("runs") / "smoke"


def test_overrides_parse_values_as_yaml(config_file: Path) -> None:
    cfg = load_config(config_file, [
        "train.lora.rank=8", "augment.temperature=0.25", "methods=[skd]",
        "train.weights.backward_question=0", "evaluate.limit=null", "train.resume=false",
        "evaluate.benchmarks=[{dataset: arc_challenge, split: validation}]",
        "name=a=b", "augment.teacher.model=qwen",
    ])
    assert cfg.train.lora.rank == 8
    assert cfg.augment.temperature == 0.25
    assert cfg.methods == ("skd",)
    assert cfg.train.weights.backward_question == 0.0
    assert cfg.evaluate.limit is None and cfg.train.resume is False
    assert cfg.evaluate.benchmarks == (BenchmarkConfig("arc_challenge", "validation"),)
    assert cfg.name == "a=b"  # only the first "=" separates key and value
    assert load_config(config_file, ["train.learning_rate=2e-4"]).train.learning_rate == 2e-4
    assert cfg.augment.teacher.model == "qwen" and cfg.augment.teacher.backend == "program"


@pytest.mark.parametrize(
    ("value", "loggers"),
    [("none", ()), ("[]", ()), ("tensorboard", ("tensorboard",)), ("wandb", ("wandb",)),
     ("[tensorboard, wandb]", ("tensorboard", "wandb")), ("[wandb, wandb]", ("wandb",))],
)
def test_report_to_takes_one_name_none_or_a_list(
    config_file: Path, value: str, loggers: tuple[str, ...]
) -> None:
    train = load_config(config_file, [f"train.report_to={value}"]).train
    assert train.report_to == loggers
    if not loggers:  # `none` is the default: a run that says so is the same run
        assert config_hash(train) == config_hash(load_config(config_file).train)


def test_an_override_can_create_a_section(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    assert load_config(path, ["train.lora.alpha=64"]).train.lora.alpha == 64
    assert load_config(path) == ExperimentConfig()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("augment.tempreature=0.5", r"unknown key 'augment.tempreature'; valid keys here: .*k,"),
        ("train.lora.rnak=2", r"unknown key 'train.lora.rnak'"),
        ("colour=red", r"unknown key 'colour'"),
        ("train.batch_size=abc", r"key 'train.batch_size': expected an integer, got 'abc'"),
        ("train.batch_size=2.5", r"key 'train.batch_size': expected an integer, got 2.5"),
        ("train.batch_size=true", r"key 'train.batch_size': expected an integer, got True"),
        ("train.resume=1", r"key 'train.resume': expected true or false, got 1"),
        ("augment.temperature=hot", r"key 'augment.temperature': expected a number"),
        ("augment.temperature=true", r"key 'augment.temperature': expected a number"),
        ("train.loss_on=everything", r"key 'train.loss_on': expected one of completion, full"),
        ("methods=skd", r"key 'methods': expected a list, got 'skd'"),
        ("methods=[1]", r"key 'methods\[0\]': expected a string, got 1"),
        ("train.lora=4", r"key 'train.lora' must be a mapping"),
        ("evaluate.benchmarks=[{split: test}]", r"section 'evaluate.benchmarks\[0\]'.*dataset"),
        ("evaluate.limit=ten", r"key 'evaluate.limit': expected an integer, got 'ten'"),
        ("augment.k=0", r"key 'augment.k': expected an integer >= 1"),
        ("train.train_fraction=1.5", r"key 'train.train_fraction': expected a number in \(0, 1\]"),
        ("evaluate.temperature=-1", r"key 'evaluate.temperature': expected a number >= 0"),
        ("train.epochs=0", r"key 'train.epochs': expected a number > 0"),
        ("train.epochs=-1", r"key 'train.epochs': expected a number > 0"),
        ("train.epochs=.inf", r"key 'train.epochs': expected a finite number, got inf"),
        ("train.epochs=" + "9" * 400, r"key 'train.epochs': expected a finite number"),
        ("train.learning_rate=0", r"key 'train.learning_rate': expected a number > 0"),
        ("train.learning_rate=-2e-4", r"key 'train.learning_rate': expected a number > 0"),
        ("train.learning_rate=1e999", r"key 'train.learning_rate': expected a finite number"),
        ("train.learning_rate=.nan", r"key 'train.learning_rate': expected a finite number"),
        ("train.learning_rate=-.inf", r"key 'train.learning_rate': expected a finite number"),
        ("train.grad_accum=0", r"key 'train.grad_accum': expected an integer >= 1"),
        ("train.max_length=0", r"key 'train.max_length': expected an integer >= 1"),
        ("augment.data.limit=0", r"key 'augment.data.limit': expected an integer >= 1"),
        ("augment.temperature=.nan", r"key 'augment.temperature': expected a finite number"),
        ("methods=[]", r"key 'methods': expected at least one method"),
        ("methods=[skd, skd]", r"key 'methods': expected each method once"),
        ("methods=[zero_shot, revthinc]", r"key 'methods': unknown method 'revthinc'; .*skd"),
        ("evaluate.benchmarks=[]", r"key 'evaluate.benchmarks': expected at least one benchmark"),
        ("evaluate.benchmarks=[{dataset: gsm8k}, {dataset: math, limit: 0}]",
         r"key 'evaluate.benchmarks\[1\].limit': expected an integer >= 1"),
        ("name=../elsewhere", r"key 'name': expected a folder name, not a path"),
        ("name=/tmp/elsewhere", r"key 'name': expected a folder name, not a path"),
        ("name=a/b", r"key 'name': expected a folder name, not a path"),
        ("name=..", r"key 'name': expected a folder name, not a path"),
        ("name=''", r"key 'name': expected a folder name, not a path"),
        ("augment.teacher.api_key_env=OPENAI-KEY", r"key 'augment.teacher.api_key_env': expected "
         r"the name of an environment variable"),
        ("train.report_to=tensorbord",
         r"key 'train.report_to': expected one of none, tensorboard, wandb, got 'tensorbord'"),
        ("train.report_to=[mlflow]", r"key 'train.report_to': expected one of none, tensorboard"),
        ("train.eval_steps=-1", r"key 'train.eval_steps': expected an integer >= 0"),
        ("train.eval_split=test", r"key 'train.eval_split': expected a split other than test"),
        ("train.eval_limit=0", r"key 'train.eval_limit': expected an integer >= 1"),
        ("augment.drop_flags=[repeats_questions]",
         r"key 'augment.drop_flags\[0\]': expected one of answer_missing, repeats_question"),
    ],
)
def test_bad_values_name_file_key_and_expected_type(
    config_file: Path, override: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(config_file, [override])
    assert str(caught.value).startswith(f"{config_file}: ")


def test_a_pasted_api_key_is_rejected_without_being_echoed(config_file: Path) -> None:
    key = "sk-proj-" + "Ab3" * 16
    with pytest.raises(ConfigError, match="looks like a key") as caught:
        load_config(config_file, [f"augment.teacher.api_key_env={key}"])
    assert "Ab3" not in str(caught.value)
    assert load_config(config_file, ["augment.teacher.api_key_env=MY_KEY_2"]).augment.teacher


def test_an_override_that_is_not_yaml_names_the_override(config_file: Path) -> None:
    with pytest.raises(ConfigError, match=r"override 'train.epochs=\[1': the value is not valid"):
        load_config(config_file, ["train.epochs=[1"])
    with pytest.raises(ConfigError, match=r"override 'name=2024-13-45': the value is not valid"):
        load_config(config_file, ["name=2024-13-45"])


def test_unknown_keys_of_mixed_types_are_named(tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text("1: one\nzzz: two\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"keys.yaml: unknown key '1'"):
        load_config(path)


def test_an_unknown_key_in_the_file_is_named_with_its_section(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text("train:\n  lora:\n    rank: 4\n    dropuot: 0.1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"typo.yaml: unknown key 'train.lora.dropuot'"):
        load_config(path)


@pytest.mark.parametrize(
    ("override", "message"),
    [("novalue", "expected the form a.b=c"), ("=3", "expected the form a.b=c"),
     ("name.first=x", "'name' is not a section")],
)
def test_malformed_overrides(config_file: Path, override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(config_file, [override])


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        load_config(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- name\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="list.yaml: expected a mapping"):
        load_config(listed)
    zero = tmp_path / "zero.yaml"
    zero.write_text("0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="zero.yaml: expected a mapping"):
        load_config(zero)
    (tmp_path / "folder.yaml").mkdir()
    with pytest.raises(ConfigError, match="folder.yaml: is a folder; expected a config file"):
        load_config(tmp_path / "folder.yaml")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin.yaml: not UTF-8 text \(byte 9\)"):
        load_config(latin)


def test_a_byte_order_mark_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_text("\ufeffname: bom\n", encoding="utf-8")
    assert load_config(path).name == "bom"


def test_post_init_checks_apply_to_direct_construction() -> None:
    with pytest.raises(ConfigError, match="'augment.k'"):
        AugmentConfig(k=0)
    with pytest.raises(ConfigError, match="'train.batch_size'"):
        TrainConfig(batch_size=0)
    with pytest.raises(ConfigError, match="'evaluate.bootstrap_samples'"):
        EvaluateConfig(bootstrap_samples=0)
    with pytest.raises(ConfigError, match="'train.validation_fraction'"):
        build(TrainConfig, {"validation_fraction": 1.0}, source="x.yaml", prefix="train")
    with pytest.raises(ConfigError, match="'train.learning_rate'"):
        TrainConfig(learning_rate=float("nan"))
    with pytest.raises(ConfigError, match="'name'"):
        ExperimentConfig(name="../up")
    with pytest.raises(ConfigError, match="unknown method 'nope'"):
        ExperimentConfig(methods=("nope",))
    assert TrainConfig(report_to="tensorboard").report_to == ("tensorboard",)
    with pytest.raises(ConfigError, match="'train.report_to'"):
        TrainConfig(report_to="mlflow")


def test_loading_a_config_checks_methods_without_importing_torch(config_file: Path) -> None:
    code = (
        "import sys; from revthink.config import load_config; "
        f"load_config({str(config_file)!r}); print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_to_dict_round_trips_through_build_and_hash_follows_values(config_file: Path) -> None:
    cfg = load_config(config_file)
    assert build(ExperimentConfig, to_dict(cfg)) == cfg
    assert config_hash(cfg) == config_hash(load_config(config_file))
    assert config_hash(cfg) != config_hash(load_config(config_file, ["seed=4"]))
    changed = load_config(config_file, ["augment.k=3"])
    assert config_hash(cfg.augment) != config_hash(changed.augment)


def test_a_benchmark_sets_its_own_decode_on_top_of_the_evaluate_section() -> None:
    own = BenchmarkConfig("gsm8k", limit=5, decode="forward_backward", samples=4, temperature=0.7)
    section = EvaluateConfig(benchmarks=(BenchmarkConfig("gsm8k", limit=5), own), max_new_tokens=9)
    settings = section.for_benchmark(own)
    assert (settings.decode, settings.samples, settings.temperature) == ("forward_backward", 4, 0.7)
    assert settings.max_new_tokens == 9
    assert settings.benchmarks == (BenchmarkConfig("gsm8k", limit=5),)
    assert section.for_benchmark(section.benchmarks[0]).decode == "greedy"
    # each benchmark's settings are checked as the section's are, naming the benchmark
    with pytest.raises(ConfigError, match=r"'evaluate.benchmarks\[1\].temperature': expected a "
                                          "number > 0 with evaluate.decode 'forward_backward'"):
        EvaluateConfig(benchmarks=(BenchmarkConfig("gsm8k"),
                                   BenchmarkConfig("gsm8k", decode="forward_backward", samples=4)))
    with pytest.raises(ConfigError, match=r"'evaluate.benchmarks\[0\].samples': expected 1 with"):
        EvaluateConfig(benchmarks=(BenchmarkConfig("gsm8k", samples=3),))


def test_the_learning_curve_must_not_see_a_split_the_methods_are_scored_on(
    config_file: Path,
) -> None:
    settings = ["augment.data.dataset=synthetic", "train.eval_steps=10",
                "evaluate.benchmarks=[{dataset: synthetic, split: validation}]"]
    with pytest.raises(ConfigError, match=r"key 'train.eval_split': expected a split no bench"):
        load_config(config_file, settings)
    assert load_config(config_file, settings[:2]).train.eval_split == "validation"


def test_a_key_added_at_its_default_leaves_the_hash_alone() -> None:
    import dataclasses

    from revthink.config import TrainConfig, config_hash

    grown = dataclasses.make_dataclass(
        "TrainConfig", [("new_knob", int, dataclasses.field(default=3))], bases=(TrainConfig,),
        frozen=True,
    )
    assert config_hash(grown(learning_rate=1e-3)) == config_hash(TrainConfig(learning_rate=1e-3))
    assert config_hash(grown(learning_rate=1e-3, new_knob=4)) != config_hash(
        TrainConfig(learning_rate=1e-3))
    assert config_hash(TrainConfig(learning_rate=1e-3)) != config_hash(TrainConfig())
    cfg = load_config(Path(__file__).parents[1] / "configs" / "quickstart.yaml")
    moved = dataclasses.replace(cfg.train, student=dataclasses.replace(cfg.train.student,
                                                                       dtype="float32"))
    assert config_hash(moved) != config_hash(cfg.train)  # a nested change counts


def test_a_key_given_twice_is_an_error_with_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text("name: a\ntrain:\n  epochs: 2\ntrain:\n  batch_size: 3\n")
    with pytest.raises(ConfigError, match=r"twice.yaml: key 'train' appears twice in one mapping "
                                          r"\(lines 2 and 4\)"):
        load_config(path)
    path.write_text("name: a\ntrain: {epochs: 2, epochs: 3}\n")
    with pytest.raises(ConfigError, match=r"key 'epochs' appears twice"):
        load_config(path)
