"""CPU end-to-end: `revthink train` with SmolLM2-135M + LoRA on synthetic maths records."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file
from transformers import TrainerCallback

from revthink.config import load_config
from revthink.models import resolve_dtype
from revthink.records import AugmentedExample, Problem, read_jsonl, write_jsonl
from revthink.train import stage

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: on small shared CI machines more threads only oversubscribe."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

def maths_records(n: int, seed: int = 0) -> list[AugmentedExample]:
    """Addition word problems with exact forward and backward reasonings."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        who = rng.choice(["Tom", "Ana", "Li", "Sara", "Omar"])
        what = rng.choice(["apples", "books", "coins", "pens"])
        a, b = rng.randint(2, 40), rng.randint(2, 40)
        question = f"{who} has {a} {what} and gets {b} more. How many {what} does {who} have now?"
        records.append(AugmentedExample(
            Problem(f"add-{i}", "synthetic", question, str(a + b), "number"),
            forward_reasoning=f"{who} starts with {a}. Adding {b} gives {a} + {b} = {a + b}. "
            f"The answer is {a + b}.",
            backward_question=f"{who} has some {what}, gets {b} more and then has {a + b}. "
            f"How many {what} did {who} have at first?",
            backward_reasoning=f"{who} ends with {a + b} after getting {b}, so {who} started "
            f"with {a + b} - {b} = {a}. The answer is {a}.",
            consistent=True,
        ))
    return records


def long_record() -> AugmentedExample:
    """A problem whose forward reasoning does not fit max_length=192 (the others fit)."""
    question = "Tom has 3 coins and gets 4 more. How many coins does Tom have now?"
    return AugmentedExample(
        Problem("add-long", "synthetic", question, "7", "number"),
        forward_reasoning="Tom counts his coins again. " * 40 + "The answer is 7.",
        backward_question="Tom gets 4 coins and then has 7. How many coins did he have first?",
        backward_reasoning="7 - 4 = 3. The answer is 3.", consistent=True,
    )


def make_config(
    tmp: Path, name: str, methods: list[str], n_records: int = 16,
    extra: tuple[AugmentedExample, ...] = (), **train,
) -> Path:
    run_dir = tmp / "runs" / name
    write_jsonl(run_dir / "augment" / "records.jsonl", [*maths_records(n_records), *extra])
    settings = {"batch_size": 2, "max_length": 192, "learning_rate": 1.0e-3, **train}
    config = {"name": name, "output_dir": str(tmp / "runs"), "methods": methods, "train": settings}
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def rows(path: Path, split: str = "train") -> list[dict]:
    lines = path.read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["split"] == split]


def test_one_config_trains_three_methods_on_the_same_subset(tmp_path, capfd):
    path = make_config(
        tmp_path, "three", ["zero_shot", "skd", "step_by_step", "revthink"],
        extra=(long_record(),), max_steps=4, train_fraction=0.75, save_steps=100,
    )
    cfg = load_config(path)
    train_set, _ = stage.split(
        read_jsonl(cfg.run_dir / "augment" / "records.jsonl", AugmentedExample), cfg.train, 0
    )
    assert len(train_set) == 13 and "add-long" in {ex.id for ex in train_set}
    out = stage.run(cfg)
    assert sorted(p.name for p in out.iterdir()) == ["revthink", "skd", "step_by_step"]
    for method in ("skd", "step_by_step", "revthink"):
        folder = out / method
        assert (folder / "adapter_model.safetensors").is_file()
        assert (folder / "tokenizer.json").is_file()
        assert not (folder / "checkpoints").exists()  # removed after success
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["rows"] == 12 and manifest["method"] == method  # 13 fit, 1 is too long
        assert manifest["dtype"] == resolve_dtype("auto", "cpu")
        summary = json.loads((folder / "summary.json").read_text())
        dropped = summary["length"]["train"]
        assert dropped["dropped_problem_ids"] == ["add-long"]
        assert dropped["cut_by_objective"] == {"forward": 1}  # the other objectives fit
        assert summary["rows"] == 12 and summary["steps"] == 4
        assert yaml.safe_load((folder / "config.yaml").read_text())["methods"] == [method]
        assert [r["step"] for r in rows(folder / "losses.jsonl")] == [1, 2, 3, 4]
    assert set(rows(out / "step_by_step" / "losses.jsonl")[0]) >= {"loss_forward", "loss_answer"}

    log = rows(out / "revthink" / "losses.jsonl")
    for objective in ("forward", "backward_question", "backward_reasoning"):
        first = sum(r[f"loss_{objective}"] for r in log[:2]) / 2
        last = sum(r[f"loss_{objective}"] for r in log[-2:]) / 2
        assert last < 0.9 * first, (objective, first, last)
    total = [r["loss"] for r in log]
    mean = [(r["loss_forward"] + r["loss_backward_question"] + r["loss_backward_reasoning"]) / 3
            for r in log]
    assert total == pytest.approx(mean, rel=1e-4)  # the paper's average of the objectives

    printed = capfd.readouterr().err
    assert "train/revthink: 1 of 13 rows dropped, longer than max_length=192" in printed
    assert re.search(r"^train/revthink step 4/4 \| loss \d\.\d{4} \| forward ", printed, re.M)
    assert "{'loss'" not in printed

    adapter = out / "skd" / "adapter_model.safetensors"
    stamp = adapter.stat().st_mtime_ns
    stage.run(load_config(path))  # finished methods are skipped
    assert adapter.stat().st_mtime_ns == stamp


def test_kill_and_resume_reaches_the_uninterrupted_result(tmp_path):
    settings = dict(max_steps=6, save_steps=2, validation_fraction=0.25, report_to="tensorboard")
    straight = stage.run(load_config(make_config(tmp_path, "straight", ["skd"], **settings)))

    path = make_config(tmp_path, "killed", ["skd"], **settings)
    folder = tmp_path / "runs" / "killed" / "train" / "skd"
    accelerate = str(Path(sys.executable).with_name("accelerate"))
    launch = [accelerate, "launch", "--num_processes", "1", "--cpu",
              "--num_cpu_threads_per_process", "1", "-m", "revthink", "train", str(path)]
    proc = subprocess.Popen(launch, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        first = folder / "checkpoints" / "checkpoint-2" / "trainer_state.json"
        deadline = time.monotonic() + 240
        while not first.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert first.exists(), proc.stderr.read() if proc.poll() is not None else "timed out"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (folder / "manifest.json").exists()

    resumed = stage.run(load_config(path))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["resumed_from_step"] in (2, 4)  # continued, not restarted
    expected, got = rows(straight / "skd" / "losses.jsonl"), rows(resumed / "skd" / "losses.jsonl")
    assert [r["step"] for r in got] == [1, 2, 3, 4, 5, 6]
    assert got[-1]["loss"] == pytest.approx(expected[-1]["loss"], rel=1e-4)
    shown = event_scalars(folder / "tensorboard")["train/loss"]  # each step once, as resumed
    assert shown == [(r["step"], pytest.approx(r["loss"], rel=1e-4)) for r in got]
    val_expected = rows(straight / "skd" / "losses.jsonl", "validation")[-1]["loss"]
    assert rows(resumed / "skd" / "losses.jsonl", "validation")[-1]["loss"] == pytest.approx(
        val_expected, rel=1e-4
    )
    a, b = (load_file(d / "skd" / "adapter_model.safetensors") for d in (straight, resumed))
    assert a.keys() == b.keys()
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)


def event_scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """tag -> [(step, value)] of every TensorBoard event file under ``folder``, as TensorBoard
    shows them: a session start at step S (a resumed writer's ``purge_step``) hides the points
    of step S and later logged before it.

    Each file is TFRecord framing (8-byte length, 4-byte crc, the record, 4-byte crc) around
    serialized ``Event`` protos, decoded with the writer package's own classes.
    """
    from tensorboardX.proto.event_pb2 import Event, SessionLog

    found: dict[str, list[tuple[int, float]]] = {}
    files = sorted(folder.rglob("events.out.tfevents.*"),
                   key=lambda p: (int(p.name.split(".")[3]), p.name))
    for path in files:  # in the order they were opened (the name holds the second)
        data, at = path.read_bytes(), 0
        while at < len(data):
            (length,) = struct.unpack_from("<Q", data, at)
            event = Event.FromString(data[at + 12:at + 12 + length])
            at += 12 + length + 4
            if event.HasField("session_log") and event.session_log.status == SessionLog.START:
                found = {tag: [p for p in points if p[0] < event.step]
                         for tag, points in found.items()}
            for value in event.summary.value:
                if value.HasField("simple_value"):
                    found.setdefault(value.tag, []).append((event.step, value.simple_value))
        assert at == len(data), path  # the framing accounts for every byte
    return found


def test_report_to_tensorboard_logs_each_objective_the_lr_and_the_throughput(tmp_path):
    path = make_config(
        tmp_path, "board", ["revthink"], n_records=6, max_steps=3, save_steps=100,
        validation_fraction=0.34, report_to="tensorboard",
    )
    folder = stage.run(load_config(path)) / "revthink"
    scalars = event_scalars(folder / "tensorboard")
    log = rows(folder / "losses.jsonl")
    for objective in ("forward", "backward_question", "backward_reasoning"):
        points = scalars[f"train/loss_{objective}"]
        assert [step for step, _ in points] == [1, 2, 3]
        assert [v for _, v in points] == pytest.approx([r[f"loss_{objective}"] for r in log])
        assert len(scalars[f"eval/loss_{objective}"]) == 1  # the validation after the last step
    assert [v for _, v in scalars["train/learning_rate"]] == pytest.approx([r["lr"] for r in log])
    throughput = scalars["train/tokens_per_second"]
    assert [step for step, _ in throughput] == [1, 2, 3] and all(v > 0 for _, v in throughput)
    assert [v for _, v in throughput] == pytest.approx([r["tokens_per_second"] for r in log])


class StopAt(TrainerCallback):
    """Stops the process's training by raising at optimizer step ``step`` (a crash)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt


def test_the_learning_curve_is_measured_on_schedule_resumes_and_leaves_training_alone(
    tmp_path, monkeypatch
):
    settings = dict(max_steps=5, save_steps=2)
    curve = dict(eval_steps=2, eval_limit=3, eval_max_new_tokens=6)
    plain = stage.run(load_config(make_config(tmp_path, "plain", ["skd"], **settings)))
    assert not (plain / "skd" / "curve.jsonl").exists()  # off by default

    path = make_config(tmp_path, "curved", ["skd"], **settings, **curve)
    raw = yaml.safe_load(path.read_text())
    raw["augment"] = {"data": {"dataset": "synthetic"}}  # the curve's problems: its validation
    path.write_text(yaml.safe_dump(raw))
    real_curve = stage._curve
    monkeypatch.setattr(stage, "_curve", lambda *a: (*real_curve(*a), StopAt(3)))
    with pytest.raises(KeyboardInterrupt):
        stage.run(load_config(path))
    folder = tmp_path / "runs" / "curved" / "train" / "skd"
    assert [r["step"] for r in map(json.loads, (folder / "curve.jsonl").open())] == [0, 2]
    monkeypatch.setattr(stage, "_curve", real_curve)

    stage.run(load_config(path))  # resumes from checkpoint-2: step 2 is not measured again
    got = [json.loads(line) for line in (folder / "curve.jsonl").open()]
    assert [r["step"] for r in got] == [0, 2, 4, 5]  # before, every 2 steps, after the last
    assert all(r["n"] == 3 and 0 <= r["accuracy"] <= 1 and 0 <= r["no_answer"] <= 1 for r in got)
    assert json.loads((folder / "manifest.json").read_text())["resumed_from_step"] == 2
    # generating with the merged adapter mid-training changes no trained weight
    a, b = (load_file(d / "adapter_model.safetensors") for d in (plain / "skd", folder))
    assert a.keys() == b.keys()
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
