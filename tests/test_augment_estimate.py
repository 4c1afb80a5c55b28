"""`revthink augment --estimate`: a sample's usage projected to the whole dataset."""

import json
import sys
from pathlib import Path

import pytest

from revthink.augment import stage
from revthink.augment.estimate import Estimate, estimate
from revthink.cli import main
from revthink.config import load_config
from revthink.errors import ConfigError

QUICKSTART = Path(__file__).resolve().parent.parent / "configs" / "quickstart.yaml"


def config(tmp_path, *overrides):
    return load_config(
        QUICKSTART,
        [f"output_dir={tmp_path / 'runs'}", "augment.data.limit=60", *overrides],
    )


def test_the_projection_matches_the_full_run_and_writes_nothing(tmp_path):
    cfg = config(tmp_path, "augment.teacher.completion_price_per_mtok=2.0")
    projected = estimate(cfg, sample=12)
    assert not (tmp_path / "runs").exists()
    assert (projected.problems, projected.sample) == (60, 12)
    out = stage.run(cfg)
    ledger = json.loads((out / "ledger.json").read_text())
    kept = json.loads((out / "funnel.json").read_text())["kept"]
    scale = projected.scale
    assert projected.calls * scale == pytest.approx(ledger["calls"], rel=0.1)
    assert projected.prompt_tokens * scale == pytest.approx(ledger["prompt_tokens"], rel=0.1)
    assert projected.completion_tokens * scale == pytest.approx(
        ledger["completion_tokens"], rel=0.1
    )
    assert projected.cost_usd * scale == pytest.approx(ledger["cost_usd"], rel=0.1)
    low, high = projected.kept_interval()
    assert low <= kept <= high


def test_kept_interval_and_lines():
    est = Estimate(problems=1000, sample=10, sample_kept=5, calls=40, prompt_tokens=4000,
                   completion_tokens=2000, wall_time_s=20.0, teacher_load_s=5.0, cost_usd=0.01)
    low, high = est.kept_interval()
    assert 180 < low < 250 and 750 < high < 820  # Wilson 95% for 5/10
    text = "\n".join(est.lines())
    assert "teacher calls      4,000" in text and "kept               500 [" in text
    assert "0.56 h" in text  # (5 s + 20 s x 100) / 3600
    assert "$1.00" in text


def test_sample_must_be_positive(tmp_path):
    with pytest.raises(ConfigError, match="--sample 0"):
        estimate(config(tmp_path), sample=0)


def test_the_cli_prints_the_estimate(tmp_path, monkeypatch, capsys):
    argv = ["revthink", "augment", str(QUICKSTART), "--estimate", "--sample", "6",
            f"output_dir={tmp_path / 'runs'}", "augment.data.limit=30"]
    monkeypatch.setattr(sys, "argv", argv)
    main()  # returns: exit code 0
    printed = capsys.readouterr().out
    assert "estimate from 6 of 30 problems" in printed and "kept" in printed
    assert not (tmp_path / "runs").exists()


def test_an_unreachable_teacher_is_an_error_not_an_all_zero_estimate(tmp_path, monkeypatch, capsys):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = ["revthink", "augment", str(QUICKSTART), "--estimate", "--sample", "2",
            f"output_dir={tmp_path / 'runs'}", "augment.data.limit=5",
            "augment.teacher.backend=openai_compat", "augment.teacher.model=x",
            f"augment.teacher.base_url=http://127.0.0.1:{port}/v1",
            "augment.teacher.connect_timeout_total_s=1", "augment.teacher.max_retries=0"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    printed = capsys.readouterr()
    assert "no teacher call of the 2-problem sample was answered" in printed.err + printed.out
    assert "teacher calls      0" not in printed.out
