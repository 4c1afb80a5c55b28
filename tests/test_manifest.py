"""Stage manifests: a fingerprint that changes exactly when a stage must run again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from revthink.config import AugmentConfig, ExperimentConfig, load_config
from revthink.manifest import (
    MANIFEST,
    file_hash,
    fingerprint,
    invalidate,
    is_complete,
    write_manifest,
)


@pytest.fixture
def inputs(tmp_path: Path) -> list[Path]:
    records = tmp_path / "records.jsonl"
    records.write_text('{"id": 1}\n', encoding="utf-8")
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"\x00\x01")
    (model / "config.json").write_text("{}", encoding="utf-8")
    return [records, model]


def test_equal_inputs_give_equal_fingerprints(tmp_path: Path, inputs: list[Path]) -> None:
    cfg = AugmentConfig()
    first = fingerprint(cfg, inputs, seed=1, extra={"template": "abc"})
    assert fingerprint(AugmentConfig(), list(inputs), seed=1, extra={"template": "abc"}) == first
    config = tmp_path / "c.yaml"
    config.write_text("augment: {k: 4}\n", encoding="utf-8")
    assert fingerprint(load_config(config).augment, inputs, 1, {"template": "abc"}) == first


@pytest.mark.parametrize(
    "change",
    ["config", "seed", "extra", "file content", "file in folder", "new file in folder"],
)
def test_any_change_that_matters_changes_the_fingerprint(
    inputs: list[Path], change: str
) -> None:
    before = fingerprint(AugmentConfig(), inputs, seed=0, extra={"template": "abc"})
    cfg, seed, extra = AugmentConfig(), 0, {"template": "abc"}
    if change == "config":
        cfg = AugmentConfig(k=5)
    elif change == "seed":
        seed = 1
    elif change == "extra":
        extra = {"template": "abd"}
    elif change == "file content":
        inputs[0].write_text('{"id": 2}\n', encoding="utf-8")
    elif change == "file in folder":
        (inputs[1] / "weights.bin").write_bytes(b"\x00\x02")
    else:
        (inputs[1] / "extra.txt").write_text("x", encoding="utf-8")
    assert fingerprint(cfg, inputs, seed=seed, extra=extra) != before


def test_file_hash_of_a_folder_sees_names_not_only_bytes(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
    (tmp_path / "a" / "x.txt").write_text("same", encoding="utf-8")
    (tmp_path / "b" / "y.txt").write_text("same", encoding="utf-8")
    (tmp_path / "c" / "x.txt").write_text("same", encoding="utf-8")
    assert file_hash(tmp_path / "a") != file_hash(tmp_path / "b")
    assert file_hash(tmp_path / "a") == file_hash(tmp_path / "c")  # where the folder is: no matter
    assert file_hash(tmp_path / "a" / "x.txt") == file_hash(tmp_path / "c" / "x.txt")


def test_write_then_complete_then_invalidate(tmp_path: Path, inputs: list[Path]) -> None:
    stage = tmp_path / "runs" / "smoke" / "augment"
    expected = fingerprint(ExperimentConfig().augment, inputs, seed=0,
                           extra={"template": Path("a/b"), "sizes": (1, 2)})
    assert not is_complete(stage, expected)
    path = write_manifest(stage, expected, records=12)
    assert path == stage / MANIFEST and not list(stage.glob("*.tmp"))
    body = json.loads(path.read_text(encoding="utf-8"))
    assert body["records"] == 12 and "versions" in body and "hardware" in body
    assert "git_sha" in body
    assert is_complete(stage, expected)
    assert not is_complete(stage, fingerprint(AugmentConfig(k=9), inputs, seed=0))
    invalidate(stage)
    assert not is_complete(stage, expected)
    invalidate(stage)  # nothing to remove is fine


def test_a_corrupt_manifest_means_not_complete(tmp_path: Path) -> None:
    expected = fingerprint(AugmentConfig())
    (tmp_path / MANIFEST).write_text("{torn", encoding="utf-8")
    assert not is_complete(tmp_path, expected)
    (tmp_path / MANIFEST).write_text("[1, 2]", encoding="utf-8")
    assert not is_complete(tmp_path, expected)


@pytest.mark.parametrize(
    "content", [b"\xff\xfe{\x00", b'{"fingerprint": "caf\xe9"}', b"", b"null", b'"text"'],
    ids=["utf-16", "latin-1", "empty", "null", "string"],
)
def test_an_unreadable_manifest_means_not_complete_with_a_warning(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / MANIFEST).write_bytes(content)
    assert not is_complete(tmp_path, fingerprint(AugmentConfig()))
    assert f"{tmp_path / MANIFEST}:" in caplog.text and "runs again" in caplog.text


def test_a_damaged_output_makes_a_finished_stage_incomplete(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    expected = fingerprint(AugmentConfig())
    records = tmp_path / "records.jsonl"
    records.write_text('{"id": 1}\n{"id": 2}\n', encoding="utf-8")
    (tmp_path / "funnel.json").write_text("{}", encoding="utf-8")
    body = json.loads(write_manifest(tmp_path, expected, outputs=("records.jsonl", "funnel.json"))
                      .read_text(encoding="utf-8"))
    assert body["outputs"] == {"records.jsonl": file_hash(records),
                               "funnel.json": file_hash(tmp_path / "funnel.json")}
    assert is_complete(tmp_path, expected) and not caplog.text
    records.write_text('{"id": 1}\n{"id"', encoding="utf-8")  # torn by a crash or a hand
    assert not is_complete(tmp_path, expected)
    assert f"{records} changed since the stage finished" in caplog.text
    records.unlink()
    assert not is_complete(tmp_path, expected)
    assert f"{records} is missing" in caplog.text
