"""`revthink probe reversal` end to end with the real SmolLM2-135M on a handful of facts."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from support.threads import torch_threads

from revthink.cli import main
from revthink.config import load_config
from revthink.manifest import write_manifest
from revthink.models import load_tokenizer
from revthink.probe import measure, questions, reversal
from revthink.probe.facts import Fact
from revthink.probe.scoring import IGNORE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with torch_threads(1):
        yield


def test_only_the_completion_tokens_are_scored() -> None:
    tokenizer = load_tokenizer(load_config(Path("configs/reversal_probe.yaml")).train.student)
    example = questions.fact(Fact("f:1", "Ann Lee", "Ann Lee is", " the first of her kind."))
    row = measure.scored_row(tokenizer, "chat", example)
    scored = [t for t, label in zip(row["input_ids"], row["labels"], strict=True)
              if label != IGNORE]
    assert tokenizer.decode(scored) == "the first of her kind."
    assert row["labels"][: -len(scored)] == [IGNORE] * (len(row["labels"]) - len(scored))


def test_the_probe_fine_tunes_scores_both_ways_and_skips_a_rerun(
    tmp_path, monkeypatch, capsys
) -> None:
    config = "configs/reversal_probe.yaml"
    overrides = [
        f"output_dir={tmp_path}", "methods=[zero_shot, skd]", "probe.people=2",
        "probe.facts_per_person=1", "probe.tests_per_person=1", "probe.epochs=1",
        "probe.batch_size=2", "probe.pairs=3", "probe.learning_rate=0.01",
    ]
    monkeypatch.setattr(sys, "argv", ["revthink", "probe", "reversal", config, *overrides])
    main()
    printed = capsys.readouterr().out
    path = Path(printed.strip().splitlines()[-1])
    assert path == tmp_path / "reversal_probe" / "probe" / "reversal.json"
    assert all(word in printed for word in ("facts_backward", "untuned", "can reverse"))
    results = json.loads(path.read_text())

    assert results["train"]["facts"]["objectives"] == ["fact"]
    assert results["train"]["facts_backward"]["objectives"] == ["fact", "backward"]
    assert (path.parent / "facts" / "adapter_config.json").is_file()
    assert not (path.parent / "facts" / "checkpoints").exists()
    scores = results["facts"]
    assert list(scores) == ["untuned", "facts", "facts_backward"]
    for variant in scores.values():
        for direction in ("forward", "reverse"):
            row = variant[direction]
            assert row["n"] == 2 and 0.0 <= row["exact_match"] <= 1.0
            assert row["choice"] in (0.0, 0.5, 1.0) and row["choice_chance"] == 0.5
            assert row["logprob"] < row["logprob_per_token"] < 0
    # one step on the facts at a high learning rate makes their wording likelier
    assert scores["facts"]["forward"]["logprob"] > scores["untuned"]["forward"]["logprob"]
    assert scores["facts"]["forward"]["logprob"] != scores["facts_backward"]["forward"]["logprob"]
    # skd was never trained in this run: only the base model is scored on the celebrities
    assert list(results["celebrities"]) == ["zero_shot"]
    groups = results["celebrities"]["zero_shot"]
    assert groups["all"]["n"] == 3 == groups["can_reverse"]["n"] + groups["cannot_reverse"]["n"]
    assert groups["all"]["child_to_parent"] < 0 and groups["all"]["parent_to_child"] < 0

    def no_training(*args, **kwargs):
        raise AssertionError("a finished probe trained again")

    monkeypatch.setattr(reversal, "fit", no_training)
    assert reversal.run(load_config(Path(config), overrides)) == path
    assert json.loads(path.read_text()) == results

    # once skd is trained (here: the probe's own adapter stands in), its student is scored too
    skd = tmp_path / "reversal_probe" / "train" / "skd"
    shutil.copytree(path.parent / "facts", skd)
    write_manifest(skd, {"method": "skd"})
    monkeypatch.undo()
    again = json.loads(reversal.run(load_config(Path(config), overrides)).read_text())
    assert list(again["celebrities"]) == ["zero_shot", "skd"]
    assert again["celebrities"]["zero_shot"] == results["celebrities"]["zero_shot"]
    assert again["celebrities"]["skd"]["all"] != results["celebrities"]["zero_shot"]["all"]
