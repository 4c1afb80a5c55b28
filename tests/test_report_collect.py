"""Report inputs broken by a crash or a hand edit: a note naming the file, or an error naming it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from revthink.errors import RecordError
from revthink.report.collect import load_run

LATIN_1 = "loss café\n".encode("latin-1")


def _run(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    for method in ("skd", "revthink"):
        (run / "train" / method).mkdir(parents=True)
    (run / "augment").mkdir()
    return run


def _notes_about(run_notes: tuple[str, ...], path: Path) -> list[str]:
    return [note for note in run_notes if str(path) in note]


def test_corrupt_inputs_become_notes_naming_the_file(tmp_path):
    run = _run(tmp_path)
    config = run / "train" / "skd" / "config.yaml"
    config.write_text("train: [unclosed\n", encoding="utf-8")
    listed = run / "train" / "revthink" / "config.yaml"
    listed.write_text("- 1\n", encoding="utf-8")
    funnel = run / "augment" / "funnel.json"
    funnel.write_text("[1, 2]", encoding="utf-8")
    ledger = run / "augment" / "ledger.json"
    ledger.write_bytes(LATIN_1)
    losses = run / "train" / "skd" / "losses.jsonl"
    losses.write_bytes(LATIN_1)
    loaded = load_run(run)
    assert loaded.funnel is None and loaded.ledger is None
    assert loaded.losses == {} and loaded.fractions == {}
    (note,) = _notes_about(loaded.notes, config)
    assert "unreadable" in note
    (note,) = _notes_about(loaded.notes, listed)
    assert "expected a mapping, got list" in note
    (note,) = _notes_about(loaded.notes, funnel)
    assert "expected a mapping, got list; augmentation funnel skipped" in note
    (note,) = _notes_about(loaded.notes, ledger)
    assert "not UTF-8 text" in note
    (note,) = _notes_about(loaded.notes, losses)
    assert "not UTF-8 text (byte 8), loss curve skipped" in note


def test_a_train_fraction_that_is_not_a_number(tmp_path):
    run = _run(tmp_path)
    (run / "train" / "skd" / "config.yaml").write_text(
        "train: {train_fraction: half}\n", encoding="utf-8"
    )
    (run / "train" / "revthink" / "config.yaml").write_text(
        "train: {train_fraction: 0.5}\n", encoding="utf-8"
    )
    loaded = load_run(run)
    assert loaded.fractions == {"revthink": 0.5}
    assert any("key 'train.train_fraction' is not a number" in n for n in loaded.notes)


def test_run_config_json_fallback_tolerates_odd_values(tmp_path):
    run = _run(tmp_path)
    (run / "config.json").write_text(
        json.dumps({"methods": "skd", "train": {"train_fraction": 0.25}}), encoding="utf-8"
    )
    assert load_run(run).fractions == {}
    (run / "config.json").write_text("{torn", encoding="utf-8")
    loaded = load_run(run)
    assert loaded.fractions == {} and _notes_about(loaded.notes, run / "config.json")


def test_loss_lines_that_are_not_steps_are_counted_and_a_torn_tail_is_not(tmp_path):
    run = _run(tmp_path)
    rows = [{"step": 1, "loss": 2.0}, [1, 2], {"loss": 1.0}, {"step": 2, "loss": 1.5}]
    text = "".join(json.dumps(r) + "\n" for r in rows) + '{"step": 3, "lo'
    (run / "train" / "skd" / "losses.jsonl").write_text(text, encoding="utf-8")
    loaded = load_run(run)
    assert [r["step"] for r in loaded.losses["skd"]] == [1, 2]
    assert any("2 line(s) skipped" in n for n in loaded.notes)


def test_a_scores_file_that_is_not_utf8_is_an_error_naming_it(tmp_path):
    run = _run(tmp_path)
    scores = run / "evaluate" / "skd" / "gsm8k" / "scores.json"
    scores.parent.mkdir(parents=True)
    scores.write_bytes(LATIN_1)
    with pytest.raises(RecordError, match=rf"{scores}: unreadable .*rerun `revthink evaluate`"):
        load_run(run)
