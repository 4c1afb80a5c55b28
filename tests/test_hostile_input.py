"""Hostile input found by trying the CLI as a new user would: each gives one clear line, or the
right result, never a traceback and never silently wrong data."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from test_cli_main import QUICKSTART, cli
from test_train_trainer import tiny_student  # noqa: F401 (a fixture: a two-layer llama)

from revthink.config import LoraSettings, ModelConfig, TrainConfig, load_config
from revthink.errors import ConfigError, ExportError
from revthink.manifest import is_complete, write_manifest


@pytest.mark.parametrize(("override", "message"), [
    ("train.lora.rank=0", "key 'train.lora.rank': expected an integer >= 1"),
    ("train.lora.alpha=0", "key 'train.lora.alpha': expected a number > 0"),
    ("train.lora.dropout=1.5", "key 'train.lora.dropout': expected a number in [0, 1)"),
    ("seed=-1", "key 'seed': expected an integer in [0, 2**32)"),
    (f"seed={2**32}", "key 'seed': expected an integer in [0, 2**32)"),
    ("name=" + "x" * 201, "key 'name': expected a folder name"),
    ("name=' '", "key 'name': expected a folder name"),
    ("name=' lead'", "key 'name': expected a folder name"),
    ('name="a\tb"', "key 'name': expected a folder name"),
    ("augment.teacher.base_url=http://[::1", "key 'augment.teacher.base_url': expected an http"),
    ("augment.teacher.base_url=ftp://x", "key 'augment.teacher.base_url': expected an http"),
    ("augment.teacher.base_url=localhost:8080", "key 'augment.teacher.base_url': expected"),
])
def test_settings_that_would_fail_later_are_refused_when_the_config_loads(override, message):
    with pytest.raises(ConfigError) as err:
        load_config(Path(QUICKSTART), [override])
    assert message in str(err.value)


def test_names_with_inner_spaces_and_unicode_are_fine():
    assert load_config(Path(QUICKSTART), ["name='my run é'"]).name == "my run é"


def test_a_config_nested_too_deeply_is_one_line(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("name: " + "[" * 20000 + "]" * 20000 + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config(path)


def test_an_alias_bomb_gives_a_short_message(tmp_path):
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 7)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(["x-anchors:", *("  " + line for line in levels),
                               "seed: *a6"]) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert len(str(err.value)) < 600


def test_a_lora_target_the_model_lacks_names_its_linear_layers(request):
    from revthink.train.trainer import prepare_model

    student = request.getfixturevalue("tiny_student")
    cfg = TrainConfig(student=ModelConfig(path=str(student)),
                      lora=LoraSettings(target_modules=("nonexistent_layer",)))
    with pytest.raises(ConfigError, match=r"key 'train.lora.target_modules': \['nonexistent_layer'"
                                          r"\] do not name linear layers .*q_proj"):
        prepare_model(cfg, "cpu")


@pytest.mark.parametrize(("error", "code", "message"), [
    # what a read-only folder gives (root, as CI runs, may write anywhere)
    (PermissionError(13, "Permission denied", "{runs}/x"), 1, "error: {runs}/x: Permission "
     "denied (check that the path is a folder this user may write to)"),
    (OSError(28, "No space left on device", "{runs}/r.jsonl"), 1, "error: {runs}/r.jsonl: No "
     "space left on device; fix it and run the same command again (finished work is kept)"),
    (KeyboardInterrupt(), 130, "interrupted; run the same command again to resume (finished "
     "work is kept)"),
])
def test_the_machine_failing_under_a_stage_is_one_line_that_says_how_to_go_on(
    monkeypatch, capsys, tmp_path, error, code, message
):
    from revthink.augment import stage

    runs = tmp_path / "runs"
    if isinstance(error, OSError):
        error = type(error)(error.errno, error.strerror, error.filename.format(runs=runs))

    def fail(cfg):
        raise error

    monkeypatch.setattr(stage, "run", fail)
    got, _, err = cli(monkeypatch, capsys, "augment", QUICKSTART, f"output_dir={runs}")
    assert got == code and err.strip() == message.format(runs=runs)


def test_a_stage_that_runs_again_says_what_changed(tmp_path, caplog):
    write_manifest(tmp_path, {"config_hash": "a", "inputs": {}, "seed": 0, "extra": {"m": 1}})
    with caplog.at_level(logging.WARNING):
        assert not is_complete(tmp_path, {"config_hash": "b", "inputs": {}, "seed": 0,
                                          "extra": {"m": 2}})
    assert "its settings, 'm' changed since it finished; it runs again" in caplog.text


@pytest.mark.parametrize(("method", "message"), [
    ("../train/skd", "--method '../train/skd': not a trained method; trained methods of"),
    ("zero_shot", "--method 'zero_shot': the untrained student"),
])
def test_export_refuses_a_method_that_is_no_trained_method(monkeypatch, capsys, tmp_path,
                                                          method, message):
    from test_export import fake_run

    run_dir = fake_run(tmp_path)
    code, _, err = cli(monkeypatch, capsys, "export", str(run_dir), "--method", method,
                       "--to", str(tmp_path / "out"))
    assert code == 1 and message in err and "revthink" in err
    assert not (tmp_path / "out").exists()
    code, _, err = cli(monkeypatch, capsys, "export", str(tmp_path / "nope"), "--method", "skd",
                       "--to", str(tmp_path / "out"))
    assert code == 1 and "nope: run folder not found" in err


def test_a_failed_export_leaves_nothing_behind(monkeypatch, tmp_path):
    from test_export import fake_run

    from revthink.export import stage

    run_dir = fake_run(tmp_path)

    def broken(*args):
        raise ExportError("the dataset could not be written")

    monkeypatch.setattr(stage, "write_dataset", broken)
    with pytest.raises(ExportError):
        stage.run(run_dir, "revthink", tmp_path / "out", stage.Options())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]


def test_train_after_an_augmentation_that_kept_nothing_yet_says_to_resume_it(tmp_path):
    from revthink.errors import DataError
    from revthink.train.stage import run

    cfg = load_config(Path(QUICKSTART), [f"output_dir={tmp_path}"])
    (cfg.run_dir / "augment").mkdir(parents=True)
    (cfg.run_dir / "augment" / "records.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="augmentation has not finished .* it resumes"):
        run(cfg)


def test_a_student_path_that_does_not_exist_is_not_taken_for_a_hub_id(tmp_path):
    from revthink.errors import ModelError
    from revthink.models import resolve

    with pytest.raises(ModelError, match=f"model folder not found: {tmp_path}/nope"):
        resolve(str(tmp_path / "nope"))


def test_an_override_of_one_list_item_says_to_give_the_whole_list():
    with pytest.raises(ConfigError, match="one item of a list cannot be set; give the whole"):
        load_config(Path(QUICKSTART), ["evaluate.benchmarks[0].limit=2"])
