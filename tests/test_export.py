"""Export without a model: base model ids, cards from run files, GGUF converter, Hub errors.

The model tier (a merged export answering exactly as evaluated, the dataset read back by
``datasets``) runs on the trained run of ``test_run_e2e.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from test_cli_main import cli

from revthink.config import ExperimentConfig, ModelConfig, to_dict
from revthink.errors import ConfigError
from revthink.export.cards import model_card
from revthink.manifest import file_hash, write_manifest
from revthink.models import base_model
from revthink.records import Comparison, Score, write_jsonl
from revthink.train.stage import name_base_model

BENCH = "synthetic_arithmetic"


def test_the_alias_names_its_hub_model_and_licence():
    base = base_model(ModelConfig(path="smollm2-135m"))
    assert (base.name, base.on_hub, base.license) == (
        "HuggingFaceTB/SmolLM2-135M-Instruct", True, "Apache-2.0")


def test_a_local_student_is_named_by_its_configured_hub_id_or_else_its_path(tmp_path):
    gguf_file = tmp_path / "model.gguf"
    gguf_file.write_bytes(b"GGUF")
    named = base_model(ModelConfig(path=str(gguf_file), hub_id="Qwen/Qwen2.5-0.5B-Instruct"))
    assert (named.name, named.on_hub) == ("Qwen/Qwen2.5-0.5B-Instruct", True)
    unnamed = base_model(ModelConfig(path=str(gguf_file)))
    assert (unnamed.name, unnamed.on_hub) == (str(gguf_file.resolve()), False)
    assert base_model(ModelConfig(path="Qwen/Qwen2.5-0.5B")).name == "Qwen/Qwen2.5-0.5B"


def test_a_hub_id_that_is_not_one_names_the_key():
    with pytest.raises(ConfigError, match="train.student.hub_id"):
        ModelConfig(path="x.gguf", hub_id="not a hub id")


def test_the_adapter_config_is_given_the_base_model_name(tmp_path):
    path = tmp_path / "adapter_config.json"
    path.write_text(json.dumps({"r": 16, "base_model_name_or_path": "/home/me/.cache/x"}))
    name_base_model(path, "HuggingFaceTB/SmolLM2-135M-Instruct")
    data = json.loads(path.read_text())
    assert data == {"r": 16, "base_model_name_or_path": "HuggingFaceTB/SmolLM2-135M-Instruct"}
    name_base_model(tmp_path / "missing.json", "x")  # a full fine-tune has no adapter config
    assert not (tmp_path / "missing.json").exists()


def fake_run(root: Path) -> Path:
    """A run folder with the files cards read: a trained revthink and scores of its weights."""
    run_dir = root / "runs" / "tiny"
    cfg = ExperimentConfig(name="tiny", output_dir=str(root / "runs"), methods=("revthink",))
    weights = run_dir / "train" / "revthink"
    weights.mkdir(parents=True)
    (weights / "config.yaml").write_text(yaml.safe_dump(to_dict(cfg)), encoding="utf-8")
    (weights / "adapter_model.safetensors").write_bytes(b"weights v1")
    (weights / "summary.json").write_text(json.dumps({"rows": 8, "steps": 2}))
    write_manifest(weights, {"config_hash": "x"})
    augment = run_dir / "augment"
    augment.mkdir()
    (augment / "funnel.json").write_text(json.dumps({"problems_in": 8, "kept": 6}))
    (augment / "ledger.json").write_text(json.dumps({"calls": 24}))
    evaluate = run_dir / "evaluate"
    scores = [Score(m, BENCH, 50, a, a - 0.1, a + 0.1, a, 0.0) for m, a in
              (("zero_shot", 0.3), ("revthink", 0.5))]
    write_jsonl(evaluate / "scores.jsonl", scores)
    write_jsonl(evaluate / "comparisons.jsonl", [
        Comparison("revthink", "zero_shot", BENCH, 50, 0.2, 0.08, 0.32, 12, 2, 0.0129)])
    for method, folder in (("zero_shot", None), ("revthink", weights)):
        hashes = {"adapter_model.safetensors": file_hash(folder / "adapter_model.safetensors")
                  } if folder else {}
        write_manifest(evaluate / method / BENCH, {"extra": {"weights": hashes}})
    return run_dir


def test_the_model_card_has_metadata_data_config_scores_and_the_command(tmp_path):
    run_dir = fake_run(tmp_path)
    card = model_card(run_dir, "revthink")
    meta = yaml.safe_load(card.split("---\n")[1])
    assert meta["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert meta["license"] == "apache-2.0" and meta["library_name"] == "peft"
    assert "More Information Needed" not in card
    assert "| problems_in | 8 |" in card and "| kept | 6 |" in card  # the funnel
    assert "| lora.rank | 16 |" in card  # the training config
    assert "50.0 [40.0, 60.0]" in card and "30.0 [20.0, 30.0]" not in card
    assert "+20.0 [+8.0, +32.0], p=0.013" in card  # the paired difference to zero_shot
    assert "revthink run config.yaml 'methods=[zero_shot, revthink]'" in card
    assert "Apache-2.0" in card


def test_a_card_drops_scores_of_weights_that_have_changed_since(tmp_path):
    run_dir = fake_run(tmp_path)
    (run_dir / "train" / "revthink" / "adapter_model.safetensors").write_bytes(b"weights v2")
    card = model_card(run_dir, "revthink")
    assert "50.0 [40.0, 60.0]" not in card and "+20.0" not in card
    assert "Not evaluated with these weights yet" in card


def test_a_local_base_without_a_hub_id_is_said_to_be_local(tmp_path):
    run_dir = fake_run(tmp_path)
    config = run_dir / "train" / "revthink" / "config.yaml"
    local = tmp_path / "student.gguf"
    local.write_bytes(b"GGUF")
    data = yaml.safe_load(config.read_text())
    data["train"]["student"]["path"] = str(local)
    config.write_text(yaml.safe_dump(data))
    card = model_card(run_dir, "revthink")
    assert "base_model" not in yaml.safe_load(card.split("---\n")[1])
    assert "train.student.hub_id" in card and str(local) in card


@pytest.mark.parametrize(("token", "offline", "message"), [
    (None, False, "needs a Hugging Face token with write access in $HF_TOKEN"),
    ("hf_not_a_real_token", True, "unreachable in offline mode"),
])
def test_push_to_hub_fails_in_one_line_before_writing(
    monkeypatch, capsys, tmp_path, token, offline, message
):
    import huggingface_hub.constants

    run_dir = fake_run(tmp_path)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", offline)
    if token is None:
        monkeypatch.delenv("HF_TOKEN", raising=False)
    else:
        monkeypatch.setenv("HF_TOKEN", token)
    out = tmp_path / "export"
    code, _, err = cli(monkeypatch, capsys, "export", str(run_dir), "--method", "revthink",
                       "--to", str(out), "--push-to-hub", "someone/tiny-revthink")
    assert code == 1
    assert message in err and len(err.strip().splitlines()) == 1
    assert token is None or token not in err
    assert not out.exists()


def test_export_refuses_an_untrained_method_and_gguf_without_merge(monkeypatch, capsys, tmp_path):
    run_dir = fake_run(tmp_path)
    code, _, err = cli(monkeypatch, capsys, "export", str(run_dir), "--method", "skd",
                       "--to", str(tmp_path / "a"))
    assert code == 1 and "run `revthink train` first" in err
    code, _, err = cli(monkeypatch, capsys, "export", str(run_dir), "--method", "revthink",
                       "--to", str(tmp_path / "b"), "--gguf")
    assert code == 1 and "add --merge" in err
    code, _, err = cli(monkeypatch, capsys, "export", str(run_dir), "--method", "revthink",
                       "--to", str(tmp_path / "c"), "--merge", "--gguf", "--gguf-type", "q4_k")
    assert code == 1 and "--gguf-type 'q4_k': expected one of f32, f16, q8_0" in err
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()


def test_cards_are_refreshed_only_in_folders_the_train_stage_finished(tmp_path):
    from revthink.export.cards import write_model_cards

    run_dir = fake_run(tmp_path)
    by_hand = run_dir / "train" / "skd"
    by_hand.mkdir()
    write_manifest(by_hand, {})  # weights put there without the stage's config.yaml
    assert write_model_cards(run_dir) == [run_dir / "train" / "revthink" / "README.md"]
    assert "50.0 [40.0, 60.0]" in (run_dir / "train" / "revthink" / "README.md").read_text()
    assert not (by_hand / "README.md").exists()
