"""The augment stage end to end: outputs, skipping, zero-call re-runs, kill -9 and resume."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.stub_openai import StubServer, completion, error

from revthink.augment import stage
from revthink.augment.steps import ERROR_RESENDS
from revthink.config import (
    AugmentConfig,
    DataConfig,
    ExperimentConfig,
    TeacherConfig,
    to_dict,
)
from revthink.data import load_problems
from revthink.errors import ConfigError, RevthinkError
from revthink.records import AugmentedExample, read_jsonl
from revthink.teachers.base import GenerationRequest, GenerationResult
from revthink.teachers.program import ProgramTeacher

SYNTHETIC = AugmentConfig(
    data=DataConfig(dataset="synthetic", split="train", limit=30),
    teacher=TeacherConfig(backend="program", error_rate=0.3),
    answer_aug=1, rephrase=True,
)


def config(out: Path, augment: AugmentConfig = SYNTHETIC) -> ExperimentConfig:
    return ExperimentConfig(name="run", output_dir=str(out), seed=0, augment=augment)


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_stage_writes_its_outputs_and_a_rerun_makes_no_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = stage.run(config(tmp_path))
    assert out == tmp_path / "run" / "augment"
    records = read_jsonl(out / "records.jsonl", AugmentedExample)
    funnel, ledger = read_json(out / "funnel.json"), read_json(out / "ledger.json")
    assert funnel["problems_in"] == 30 and funnel["kept"] == len(records) > 0
    assert funnel["problems_in"] == funnel["kept"] + sum(funnel["dropped"].values())
    assert "failure" not in funnel and ledger["errors_by_kind"] == {}
    cache_lines = (out / "cache.jsonl").read_text().splitlines()
    assert ledger["calls"] == len(cache_lines) > 30 and ledger["cache_hits"] == 0
    manifest = read_json(out / "manifest.json")
    assert manifest["records"] == len(records) and manifest["teacher"].startswith("program")
    first = (out / "records.jsonl").read_bytes()

    def no_teacher(cfg: TeacherConfig):
        raise AssertionError("a finished stage must not create its teacher")

    monkeypatch.setattr(stage, "create_teacher", no_teacher)
    assert stage.run(config(tmp_path)) == out  # skipped: the manifest matches
    monkeypatch.undo()
    (out / "manifest.json").unlink()  # as if the stage were interrupted at its very end
    stage.run(config(tmp_path))
    rerun = read_json(out / "ledger.json")
    assert rerun["calls"] == 0 and rerun["cache_hits"] == len(cache_lines)
    assert rerun["cost_usd"] == 0.0
    assert (out / "records.jsonl").read_bytes() == first


def test_changed_settings_run_again_reusing_the_calls_they_share(tmp_path: Path) -> None:
    first = read_jsonl(stage.run(config(tmp_path)) / "records.jsonl", AugmentedExample)
    changed = AugmentConfig(**{**SYNTHETIC.__dict__, "filter": "correct"})
    out = stage.run(config(tmp_path, changed))
    ledger = read_json(out / "ledger.json")
    assert ledger["calls"] == 0 and ledger["cache_hits"] > 0  # the filter asks nothing new
    records = read_jsonl(out / "records.jsonl", AugmentedExample)
    assert records == first  # every R_b reached its hidden number: no verdict was False


def test_changed_checks_run_the_stage_again_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A finished run is checked again under new checks, asking the teacher nothing new."""
    out = stage.run(config(tmp_path))
    monkeypatch.setattr(stage.quality, "CHECKS_VERSION", stage.quality.CHECKS_VERSION + 1)
    stage.run(config(tmp_path))
    ledger = read_json(out / "ledger.json")
    assert ledger["calls"] == 0 and ledger["cache_hits"] > 0


def test_a_torn_records_file_under_a_finished_stage_runs_it_again_from_the_cache(
    tmp_path: Path,
) -> None:
    out = stage.run(config(tmp_path))
    whole = (out / "records.jsonl").read_bytes()
    (out / "records.jsonl").write_bytes(whole[:-40])  # torn mid-line
    stage.run(config(tmp_path))
    assert (out / "records.jsonl").read_bytes() == whole
    ledger = read_json(out / "ledger.json")
    assert ledger["calls"] == 0 and ledger["cache_hits"] > 0


# --- failing loudly ------------------------------------------------------------------------------


def test_the_program_teacher_on_another_dataset_fails_before_loading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_loading(*args, **kwargs):
        raise AssertionError("the problems must not be loaded")

    monkeypatch.setattr(stage, "load_problems", no_loading)
    empty = ExperimentConfig(name="run", output_dir=str(tmp_path))  # gsm8k + program teacher
    with pytest.raises(ConfigError, match="program teacher only knows the synthetic suite"):
        stage.run(empty)
    assert not (tmp_path / "run" / "augment" / "manifest.json").exists()


@pytest.mark.parametrize("backward", ["rule", "hybrid"])
def test_a_rule_mode_on_problems_with_nothing_to_hide_fails_before_any_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backward: str
) -> None:
    """StrategyQA answers yes or no and names no concept: the rule can hide nothing there."""

    def no_teacher(cfg: TeacherConfig):
        raise AssertionError("no teacher may be created")

    monkeypatch.setattr(stage, "create_teacher", no_teacher)
    yes_no = AugmentConfig(data=DataConfig(dataset="strategyqa", split="train", limit=5),
                           teacher=TeacherConfig(backend="openai", model="m",
                                                 base_url="http://localhost:9"),
                           backward=backward)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=f"augment.backward: {backward} needs problems with a "
                       "piece the rule can hide.* none of the 5 problems of strategyqa"):
        stage.run(config(tmp_path, yes_no))


def test_a_stage_that_keeps_nothing_fails_without_a_manifest(tmp_path: Path) -> None:
    hopeless = dataclasses.replace(SYNTHETIC, teacher=TeacherConfig(error_rate=1.0))
    with pytest.raises(RevthinkError, match=r"kept 0 of 30 problems \(dropped: forward:wrong"):
        stage.run(config(tmp_path, hopeless))
    out = tmp_path / "run" / "augment"
    assert not (out / "manifest.json").exists()
    funnel = read_json(out / "funnel.json")
    assert funnel["kept"] == 0 and funnel["dropped"] == {"forward:wrong_answer": 30}
    assert "kept 0 of 30" in funnel["failure"]
    assert (out / "records.jsonl").read_text() == "" and read_json(out / "ledger.json")["calls"]


class BrokenFor(ProgramTeacher):
    """The program teacher, failing every request of some problems as a broken server would."""

    broken: tuple[str, ...] = ()

    def _answer(self, request: GenerationRequest) -> GenerationResult:
        if request.problem_id in self.broken:
            return GenerationResult(error=f"HTTP 500: cannot serve {request.problem_id}",
                                    error_kind="http_500")
        return super()._answer(request)


def broken_for(*problem_ids: str) -> type[BrokenFor]:
    return type("Broken", (BrokenFor,), {"broken": problem_ids})


def problem_ids(out: Path) -> list[str]:
    return [p.id for p in read_jsonl(out / "records.jsonl", AugmentedExample)]


def test_a_teacher_error_stops_the_stage_at_once_and_the_rerun_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    reference = stage.run(config(tmp_path / "reference"))
    third = load_problems("synthetic", "train", limit=30, seed=0)[2].id
    monkeypatch.setattr(stage, "create_teacher", broken_for(third))
    with pytest.raises(RevthinkError) as info:
        stage.run(config(tmp_path))
    message = str(info.value)
    assert f"First error: forward of problem {third!r}: HTTP 500: cannot serve {third}" in message
    assert "no manifest was written" in message
    out = tmp_path / "run" / "augment"
    assert not (out / "manifest.json").exists()
    ledger = read_json(out / "ledger.json")
    assert ledger["calls"] == 3  # stopped at the first error, not after 30 problems x retries
    assert ledger["errors_by_kind"] == {"http_500": {
        "count": 1, "first": f"forward of problem {third!r}: HTTP 500: cannot serve {third}"}}
    assert read_json(out / "funnel.json")["failure"].startswith("teacher program:synthetic")
    err = capsys.readouterr().err
    assert f"http_500: 1 (first: forward of problem {third!r}" in " ".join(err.split())
    monkeypatch.undo()
    stage.run(config(tmp_path))  # the server is fixed: resume
    assert (out / "records.jsonl").read_bytes() == (reference / "records.jsonl").read_bytes()
    assert read_json(out / "ledger.json")["cache_hits"] == 2
    assert (out / "manifest.json").exists()


@pytest.mark.parametrize("broken, fails", [(3, False), (4, True)])
def test_max_error_share_lets_a_few_problems_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: int, fails: bool
) -> None:
    ids = [p.id for p in load_problems("synthetic", "train", limit=30, seed=0)][:broken]
    monkeypatch.setattr(stage, "create_teacher", broken_for(*ids))
    tolerant = dataclasses.replace(SYNTHETIC, max_error_share=0.1)  # 3 of 30 problems
    out = tmp_path / "run" / "augment"
    if fails:
        with pytest.raises(RevthinkError, match="4 problem\\(s\\) met errors"):
            stage.run(config(tmp_path, tolerant))
        assert not (out / "manifest.json").exists()
        return
    stage.run(config(tmp_path, tolerant))
    funnel, ledger = read_json(out / "funnel.json"), read_json(out / "ledger.json")
    assert funnel["dropped"]["forward:teacher_error"] == broken
    per_problem = (ERROR_RESENDS + 1) * SYNTHETIC.k  # every send of every try failed
    assert ledger["errors_by_kind"]["http_500"]["count"] == broken * per_problem
    assert not set(ids) & set(problem_ids(out)) and (out / "manifest.json").exists()


SECRET = "sk-test-DO-NOT-PRINT-5d1e"


def fours(folder: Path) -> str:
    """A tiny user dataset whose every answer is 4, and its YAML."""
    rows = [{"q": f"Ann has {i} pens and gets {4 - i} more. How many pens?", "a": 4}
            for i in range(3)]
    (folder / "fours.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = folder / "fours.yaml"
    spec.write_text("name: fours\nanswer_type: number\nfamily: math\nlocal:\n  format: fields\n"
                    "  splits: {train: fours.jsonl}\n  fields: {question: q, answer: a}\n")
    return str(spec)


def server_config(folder: Path, url: str, **teacher) -> ExperimentConfig:
    augment = AugmentConfig(
        data=DataConfig(dataset=fours(folder), split="train"), temperature=0.0,
        teacher=TeacherConfig(backend="openai_compat", model="stub", base_url=url,
                              api_key_env="REVTHINK_TEST_KEY", **teacher),
    )
    return ExperimentConfig(name="run", output_dir=str(folder / "runs"), augment=augment)


def solver(body: dict, auth: str) -> tuple[int, bytes]:
    """Answers that pass every step for the fours: Ann's first pens hidden, then found again."""
    messages = body["messages"]
    asked = messages[-1]["content"]
    if "Backward reasoning:" in asked:
        return completion("It recovers her first pens.\nTrue")
    if messages[0]["content"].startswith("You turn"):
        had, got = re.search(r"Ann has (\d+) pens and gets (\d+) more", asked).groups()
        return completion(f"Hidden: {had}\nBackward question: Ann has some pens and gets {got} "
                          "more, 4 pens in all. How many pens did she have?")
    if found := re.search(r"gets (\d+) more, 4 pens in all", asked):
        return completion(f"4 - {found[1]}. The answer is {4 - int(found[1])}.")
    return completion("2 + 2 = 4. The answer is 4.")


def test_a_teacher_that_writes_no_reversal_is_told_what_to_try(tmp_path: Path) -> None:
    def restates(body: dict, auth: str) -> tuple[int, bytes]:  # Q again, never a hidden number
        asked = body["messages"][-1]["content"]
        return completion(asked.split("Question: ")[-1].split("\nAnswer:")[0] + "\n"
                          "The answer is 4.")

    with StubServer(restates) as server, pytest.raises(stage.AugmentFailed) as info:
        stage.run(server_config(tmp_path, server.url))
    assert "backward_question:no_hidden_piece 3" in str(info.value)
    assert stage.NO_REVERSALS in str(info.value)


@pytest.mark.parametrize("kind", ["500", "400", "malformed"])
def test_server_failures_stop_the_stage_naming_the_first_error_never_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
    caplog: pytest.LogCaptureFixture, kind: str,
) -> None:
    monkeypatch.setenv("REVTHINK_TEST_KEY", SECRET)

    def careless(body: dict, auth: str) -> tuple[int, bytes]:  # echoes the key it was sent
        if "has 1 pens" not in json.dumps(body):
            return solver(body, auth)
        if kind == "malformed":
            return 200, b'{"choices": [' + auth.encode()
        return error(int(kind), f"no luck for {auth}")

    with StubServer(careless) as server:
        cfg = server_config(tmp_path, server.url, max_retries=1)
        with pytest.raises(RevthinkError) as info:
            stage.run(cfg)
    out = tmp_path / "runs" / "run" / "augment"
    expected = {"500": "HTTP 500: no luck for Bearer ***",
                "400": "HTTP 400: no luck for Bearer ***",
                "malformed": "malformed response body"}[kind]
    assert expected in str(info.value) and "fours-1" in str(info.value)
    assert not (out / "manifest.json").exists()
    seen = [str(info.value), capsys.readouterr().err, caplog.text]
    seen += [path.read_text() for path in out.iterdir()]
    assert all(SECRET not in text for text in seen)
    cache = out / "cache.jsonl"  # absent when the unretried error came before any answer
    cached = cache.read_text().count("\n") if cache.exists() else 0
    with StubServer(solver) as server:
        stage.run(server_config(tmp_path, server.url))  # the server is fixed: resume
    assert server.requests == 4 * 3 - cached  # 3 problems x 4 steps; nothing asked twice
    assert problem_ids(out) == ["fours-0", "fours-1", "fours-2"]


def test_the_cli_against_a_closed_port_fails_within_a_minute_then_resumes(
    tmp_path: Path,
) -> None:
    """The default settings: `revthink augment` says "cannot connect" and stops, no manifest."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    cfg_path = tmp_path / "config.yaml"
    cfg_path.write_text(json.dumps(to_dict(server_config(tmp_path, url))))
    command = [sys.executable, "-m", "revthink", "augment", str(cfg_path)]
    env = {**os.environ, "COLUMNS": "300"}
    started = time.monotonic()
    child = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    warned_at, err = None, ""
    for line in child.stderr:  # type: ignore[union-attr]
        err += line
        if warned_at is None and f"cannot connect to {url}" in line:
            warned_at = time.monotonic()
    child.wait(timeout=90)
    ended = time.monotonic()
    assert child.returncode == 1 and ended - started < 60, err
    assert warned_at is not None and ended - warned_at > 25  # said at once, not at the end
    assert f"error: augment stopped: cannot connect to {url}" in " ".join(err.split())
    out = tmp_path / "runs" / "run" / "augment"
    assert not (out / "manifest.json").exists()
    with StubServer(solver, port=port):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (out / "manifest.json").exists() and len(problem_ids(out)) == 3


# A stage run in a child process whose program teacher answers slowly, so that it can be
# killed in the middle of any step.
CHILD = """
import sys, time
from revthink.augment import stage
from revthink.config import load_config
from revthink.teachers.program import ProgramTeacher

class SlowTeacher(ProgramTeacher):
    def generate(self, requests, on_result=None):
        def late(index, result):
            time.sleep(0.004)
            on_result(index, result)
        return super().generate(requests, late)

stage.create_teacher = SlowTeacher
stage.run(load_config(sys.argv[1]))
"""


def _write_config(path: Path, out: Path) -> Path:
    data = to_dict(config(out))
    path.write_text(json.dumps(data))  # JSON is YAML
    return path


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_kill_9_at_random_points_then_resume_gives_the_same_records(tmp_path: Path) -> None:
    reference = stage.run(config(tmp_path / "reference"))
    total_calls = _lines(reference / "cache.jsonl")
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    cfg_path = _write_config(tmp_path / "config.yaml", tmp_path / "killed")
    out = tmp_path / "killed" / "run" / "augment"
    rng = random.Random(0)
    targets = sorted(rng.sample(range(1, total_calls - 20), 4))  # the child is mid-run
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for target in targets:
        child = subprocess.Popen([sys.executable, str(script), str(cfg_path)], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while _lines(out / "cache.jsonl") < target and child.poll() is None:
            assert time.monotonic() < deadline, "the child made no progress"
            time.sleep(0.002)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert not (out / "manifest.json").exists()
    done = subprocess.run([sys.executable, str(script), str(cfg_path)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (out / "records.jsonl").read_bytes() == (reference / "records.jsonl").read_bytes()
    keys = [json.loads(line)["key"] for line in (out / "cache.jsonl").read_text().splitlines()]
    reference_keys = [json.loads(line)["key"]
                      for line in (reference / "cache.jsonl").read_text().splitlines()]
    assert len(keys) == len(set(keys)) and set(keys) == set(reference_keys)  # no call repeated
    ledger = read_json(out / "ledger.json")
    assert ledger["cache_hits"] >= targets[-1]
    assert ledger["calls"] + ledger["cache_hits"] == total_calls


@pytest.mark.slow
def test_smollm2_through_hf_local_on_gsm8k(tmp_path: Path) -> None:
    """The real model end to end: structure and arithmetic, not the model's skill.

    Twelve tokens are too few for any GSM8K reasoning to reach its final answer, so the stage
    keeps nothing and must say so, leaving its funnel and ledger but no manifest.
    """
    augment = AugmentConfig(
        data=DataConfig(dataset="gsm8k", split="train", limit=3),
        teacher=TeacherConfig(backend="hf_local", model="smollm2-135m", batch_size=4),
        temperature=0.0, max_tokens=12, filter="correct",
    )
    with pytest.raises(RevthinkError, match="kept 0 of 3 problems"):
        stage.run(config(tmp_path, augment))
    out = tmp_path / "run" / "augment"
    funnel, ledger = read_json(out / "funnel.json"), read_json(out / "ledger.json")
    assert funnel["problems_in"] == 3 and funnel["kept"] == 0
    assert funnel["problems_in"] == sum(funnel["dropped"].values())
    forward = ledger["steps"]["forward"]
    assert forward["calls"] == 3 and forward["completion_tokens"] > 0  # greedy: one try each
    assert sum(funnel["bad_answers"].values()) >= sum(funnel["dropped"].values())
    assert ledger["calls"] == sum(step["calls"] for step in ledger["steps"].values())
    assert (out / "records.jsonl").read_text() == "" and not (out / "manifest.json").exists()
