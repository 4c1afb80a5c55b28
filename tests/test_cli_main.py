"""The real entry point, as the console script calls it: exit codes 0/1/2, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from revthink.cli import main


def cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``revthink ARGS`` run through ``main()``."""
    monkeypatch.setattr(sys, "argv", ["revthink", *args])
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture
def bad_config(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\ntrain: {batch_size: many}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["augment"], "error: missing argument 'config'. (see 'revthink augment --help')"),
        (["frobnicate"], "error: no such command 'frobnicate'. (see 'revthink --help')"),
        (["data", "show", "gsm8k", "-n", "abc"], "invalid value for '-n'"),
        (["report", "runs/x", "--colour"], "no such option: --colour"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(monkeypatch, capsys, args, message):
    code, out, err = cli(monkeypatch, capsys, *args)
    assert code == 2
    assert message in err.lower() and len(err.strip().splitlines()) == 1


def test_no_command_prints_the_help_and_exits_2(monkeypatch, capsys):
    code, out, err = cli(monkeypatch, capsys)
    assert code == 2
    assert all(word in out + err for word in ("augment", "validate", "--version"))
    code, out, err = cli(monkeypatch, capsys, "data")
    assert code == 2 and "list" in out + err and "show" in out + err


def test_validate_exits_1_on_a_problem_and_0_when_valid(monkeypatch, capsys, bad_config):
    code, _, err = cli(monkeypatch, capsys, "validate", str(bad_config))
    assert code == 1
    assert f"✗ {bad_config}: key 'train.batch_size'" in err
    assert cli(monkeypatch, capsys, "validate")[0] == 0


def test_version_exits_0(monkeypatch, capsys):
    code, out, _ = cli(monkeypatch, capsys, "--version")
    assert code == 0 and out.startswith("revthink ")


def test_config_errors_exit_1_with_the_file_and_key(monkeypatch, capsys, tmp_path, bad_config):
    code, _, err = cli(monkeypatch, capsys, "augment", str(bad_config))
    assert code == 1 and err.startswith(f"error: {bad_config}: key 'train.batch_size'")
    code, _, err = cli(monkeypatch, capsys, "train", str(tmp_path))
    assert code == 1 and f"{tmp_path}: is a folder" in err
    code, _, err = cli(monkeypatch, capsys, "evaluate", str(bad_config), "train.epochs=[1")
    assert code == 1 and "override 'train.epochs=[1': the value is not valid YAML" in err


def test_messages_with_brackets_are_printed_literally(monkeypatch, capsys, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("name: x\n", encoding="utf-8")
    code, _, err = cli(monkeypatch, capsys, "augment", str(config), 'seed="[/bold]"')
    assert code == 1 and "key 'seed': expected an integer, got '[/bold]'" in err


def test_run_fails_before_any_stage_on_bad_names(monkeypatch, capsys, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(f"output_dir: {tmp_path / 'runs'}\n", encoding="utf-8")
    cases = [
        ("name=../escaped", "key 'name': expected a folder name"),
        ("evaluate.benchmarks=[{dataset: gsm9k}]", "key 'evaluate.benchmarks[0].dataset'"),
        ("evaluate.benchmarks=[{dataset: boolq, split: validation}]", "is not a split of boolq"),
        ("methods=[zero_shot, skd_typo]", "unknown method 'skd_typo'"),
    ]
    for override, message in cases:
        code, _, err = cli(monkeypatch, capsys, "run", str(config), override)
        assert code == 1 and message in err, err
    assert not (tmp_path / "runs").exists() and not (tmp_path / "escaped").exists()


def test_the_installed_console_script(tmp_path, bad_config):
    script = Path(sys.executable).parent / "revthink"
    usage = subprocess.run([script, "augment"], capture_output=True, text=True)
    assert usage.returncode == 2, usage.stderr
    assert usage.stderr.strip().lower() == (
        "error: missing argument 'config'. (see 'revthink augment --help')"
    )
    invalid = subprocess.run([script, "validate", bad_config], capture_output=True, text=True)
    assert invalid.returncode == 1 and "train.batch_size" in invalid.stderr
    assert "Traceback" not in usage.stderr + invalid.stderr


def test_report_into_a_file_is_an_error(monkeypatch, capsys, tmp_path):
    (tmp_path / "run" / "evaluate").mkdir(parents=True)
    (tmp_path / "taken").write_text("x", encoding="utf-8")
    code, _, err = cli(monkeypatch, capsys, "report", str(tmp_path / "run"), "--out",
                       str(tmp_path / "taken"))
    assert code == 1 and f"{tmp_path / 'taken'}: is a file" in err


QUICKSTART = str(Path(__file__).resolve().parent.parent / "configs" / "quickstart.yaml")


def test_an_output_dir_that_is_a_file_is_named_before_any_stage(monkeypatch, capsys, tmp_path):
    (tmp_path / "afile").write_text("")
    for where in ("afile", "afile/deeper"):
        code, _, err = cli(monkeypatch, capsys, "augment", QUICKSTART,
                           f"output_dir={tmp_path / where}")
        assert code == 1
        assert f"key 'output_dir': {tmp_path / 'afile'} is a file, not a folder" in err


@pytest.fixture
def roots(monkeypatch, tmp_path) -> Path:
    """A working, a home and a temporary folder of their own, all below ``tmp_path``."""
    import tempfile

    for name in ("work", "home", "tmp"):
        (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return tmp_path


def test_an_output_dir_outside_work_home_and_temp_needs_the_flag(monkeypatch, capsys, roots):
    from revthink.augment import stage

    ran: list[Path] = []
    monkeypatch.setattr(stage, "run", lambda cfg: ran.append(cfg.run_dir) or cfg.run_dir)
    outside = roots / "elsewhere"
    for where in (outside, "../elsewhere", "runs/../../elsewhere"):
        code, _, err = cli(monkeypatch, capsys, "augment", QUICKSTART, f"output_dir={where}")
        assert code == 1 and not ran and len(err.strip().splitlines()) == 1
        assert f"key 'output_dir': {outside} is outside the working folder" in err
        assert "--output-anywhere" in err
    assert not outside.exists()
    for where in ("runs", "~/runs", roots / "tmp" / "runs"):
        assert cli(monkeypatch, capsys, "augment", QUICKSTART, f"output_dir={where}")[0] == 0
    code, _, _ = cli(monkeypatch, capsys, "augment", QUICKSTART, f"output_dir={outside}",
                     "--output-anywhere")
    assert code == 0
    assert [p.resolve() for p in ran] == [
        roots / "work" / "runs" / "quickstart", roots / "home" / "runs" / "quickstart",
        roots / "tmp" / "runs" / "quickstart", outside / "quickstart"]


def test_a_sweep_outside_needs_the_flag_too(monkeypatch, capsys, roots):
    from revthink import sweep

    monkeypatch.setattr(sweep, "run", lambda s: s.folder)
    config = roots / "work" / "sweep.yaml"
    config.write_text(f"name: s\noutput_dir: {roots / 'elsewhere'}\nmethods: [zero_shot]\n"
                      "sweep: {seed: [0, 1]}\n", encoding="utf-8")
    code, _, err = cli(monkeypatch, capsys, "run", str(config))
    assert code == 1 and "is outside the working folder" in err
    assert cli(monkeypatch, capsys, "run", str(config), "--output-anywhere")[0] == 0


def test_a_second_process_on_the_same_run_is_refused_naming_the_holder(
    monkeypatch, capsys, tmp_path
):
    import os

    from revthink.lock import run_lock

    run_dir = tmp_path / "runs" / "quickstart"
    with run_lock(run_dir, "train"):
        code, _, err = cli(monkeypatch, capsys, "augment", QUICKSTART,
                           f"output_dir={tmp_path / 'runs'}")
        assert code == 1
        assert f"{run_dir}: in use by process {os.getpid()} (revthink train)" in err
        assert not (run_dir / "augment").exists()  # nothing written beside the holder
    with run_lock(run_dir, "augment"):  # released on exit, and again takeable
        pass
    assert (run_dir / ".lock").read_text() == ""


def test_the_lock_is_left_to_rank_zero_of_an_accelerate_job(monkeypatch, tmp_path):
    from revthink.lock import run_lock

    with run_lock(tmp_path / "run", "train"):
        monkeypatch.setenv("RANK", "1")
        with run_lock(tmp_path / "run", "train"):  # a second process of the same job
            pass
