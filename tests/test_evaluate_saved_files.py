"""Evaluation files broken by a crash or a hand edit: an error naming the file and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from revthink.config import EvaluateConfig, ExperimentConfig
from revthink.errors import RecordError
from revthink.evaluate import stage
from revthink.manifest import write_manifest
from revthink.records import Problem


def _job(tmp_path: Path) -> stage.Job:
    problem = Problem("p1", "gsm8k", "1+1?", "2", "number")
    folder = tmp_path / "evaluate" / "skd" / "gsm8k"
    return stage.Job(
        "skd", "gsm8k", None, (problem,), folder, {"settings": 1}, {"gen": 1}, EvaluateConfig()
    )


@pytest.mark.parametrize("text", ["{torn", "[1, 2]"])
def test_a_corrupt_generation_stamp(tmp_path, text):
    job = _job(tmp_path)
    job.folder.mkdir(parents=True)
    (job.folder / stage.GENERATION).write_text(text, encoding="utf-8")
    with pytest.raises(RecordError, match=rf"{job.folder / stage.GENERATION}: .*delete it"):
        stage.resume(job)


def test_corrupt_scores_of_a_finished_pair(tmp_path):
    job = _job(tmp_path)
    write_manifest(job.folder, job.expected)
    (job.folder / stage.SCORES).write_bytes(b"\xff\xfe{")
    with pytest.raises(RecordError, match=rf"{job.folder / stage.SCORES}: unreadable"):
        stage.evaluate_job(ExperimentConfig(), job, None, None, stage._progress())
