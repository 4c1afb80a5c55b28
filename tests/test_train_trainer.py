"""Loss combination, learning-rate schedule, progress lines and precision of the trainer."""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file

from revthink.config import LoraSettings, ModelConfig, TrainConfig
from revthink.errors import ConfigError
from revthink.models import load_tokenizer
from revthink.records import AugmentedExample, Problem
from revthink.train import dashboards, methods, progress, trainer
from revthink.train.collator import Encoder, encode_units
from revthink.train.progress import StepLine, step_line
from revthink.train.trainer import combine, lr_factor

LOSSES = {
    "forward": torch.tensor(1.2), "backward_question": torch.tensor(0.6),
    "backward_reasoning": torch.tensor(0.9),
}


def test_objectives_are_averaged_by_default_as_in_the_paper():
    weights = dict.fromkeys(LOSSES, 1.0)
    assert TrainConfig().objective_reduction == "mean"
    assert combine(LOSSES, weights, "mean").item() == pytest.approx(0.9)
    assert combine(LOSSES, weights, "sum").item() == pytest.approx(2.7)


def test_the_mean_is_weighted():
    weights = {"forward": 1.0, "answer": 0.5}
    losses = {"forward": torch.tensor(1.0), "answer": torch.tensor(4.0)}
    assert combine(losses, weights, "mean").item() == pytest.approx(3.0 / 1.5)
    assert combine({"forward": torch.tensor(1.7)}, {"forward": 1.0}, "mean").item() == (
        pytest.approx(1.7)
    )


@pytest.mark.parametrize("kind", ["linear", "cosine", "constant_with_warmup"])
def test_warmup_starts_above_zero_and_reaches_the_peak(kind):
    factors = [lr_factor(kind, step, warmup=4, total=40) for step in range(40)]
    assert factors[0] == pytest.approx(0.2)  # the first step already learns
    assert factors[:5] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert all(0 < f <= 1 for f in factors)
    if kind != "constant_with_warmup":
        assert factors[5:] == sorted(factors[5:], reverse=True)  # decays after the peak


def test_cosine_halves_midway_and_constant_has_no_warmup():
    assert lr_factor("cosine", 22, warmup=4, total=40) == pytest.approx(0.5)
    assert lr_factor("cosine", 4, warmup=4, total=40) == pytest.approx(1.0)
    assert lr_factor("constant", 0, warmup=4, total=40) == 1.0
    assert lr_factor("linear", 0, warmup=0, total=10) == 1.0


def test_the_trainer_takes_its_first_step_above_lr_zero(tmp_path):
    args = trainer.training_arguments(
        TrainConfig(learning_rate=1e-3, warmup_ratio=0.1, lr_scheduler="cosine"), seed=0,
        output_dir=tmp_path, validate=False,
    )
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))], lr=args.learning_rate)
    owner = SimpleNamespace(lr_scheduler=None, optimizer=optimizer, args=args)
    schedule = trainer.ObjectiveTrainer.create_scheduler(owner, 40)
    lrs = []
    for _ in range(40):
        lrs.append(optimizer.param_groups[0]["lr"])  # the lr the next optimizer step uses
        optimizer.step()
        schedule.step()
    assert lrs[:5] == pytest.approx([2e-4, 4e-4, 6e-4, 8e-4, 1e-3])
    assert lrs[-1] == pytest.approx(1e-3 * lr_factor("cosine", 39, warmup=4, total=40))


def test_step_line_reads_like_a_sentence_not_a_dict():
    logs = {
        "loss": 0.9, "grad_norm": 1.3, "learning_rate": 8.1e-4, "epoch": 0.3,
        "loss_forward": 1.2, "loss_backward_question": 0.6, "loss_backward_reasoning": 0.9,
    }
    line = step_line("train/revthink", 12, 40, logs, seconds_per_step=3.2)
    assert line == (
        "train/revthink step 12/40 | loss 0.9000 | forward 1.2000 backward_question 0.6000 "
        "backward_reasoning 0.9000 | lr 8.1e-04 | 3.2 s/step | ETA 1m30s"
    )
    assert "{" not in line and "grad_norm" not in line


def test_step_line_for_validation_and_long_runs():
    logs = {"eval_loss": 1.01, "eval_loss_forward": 1.01, "eval_runtime": 3.0, "epoch": 1.0}
    assert step_line("train/skd", 40, 40, logs, None) == (
        "train/skd step 40/40 | validation loss 1.0100 | forward 1.0100"
    )
    line = step_line("train/skd", 1, 1001, {"loss": 2.0, "learning_rate": 1e-4}, 7.2)
    assert line.endswith("| lr 1.0e-04 | 7.2 s/step | ETA 2h00m")


def test_step_line_callback_prints_one_line_per_log(monkeypatch):
    stream = io.StringIO()
    callback = StepLine("train/skd", stream)
    clock = iter([100.0, 110.0, 120.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    state = SimpleNamespace(global_step=0, max_steps=4, is_world_process_zero=True)
    callback.on_train_begin(None, state, None)
    for step in (1, 2):
        state.global_step = step
        callback.on_log(None, state, None, logs={"loss": 1.0, "learning_rate": 1e-3})
    callback.on_log(None, state, None, logs={"train_runtime": 20.0})  # the closing summary
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("| 10.0 s/step | ETA 30s")
    assert re.fullmatch(r"train/skd step 2/4 \| loss 1\.0000 \| lr 1\.0e-03 \| 10\.0 s/step "
                        r"\| ETA 20s", lines[1])


def test_a_logger_without_its_package_is_refused_with_the_key_and_the_install(monkeypatch):
    dashboards.require(())  # none needs nothing
    monkeypatch.setattr(dashboards.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"key 'train.report_to': wandb needs the wandb package"
                       r".*run `pip install wandb`, or set train.report_to=none"):
        dashboards.require(("wandb",))
    with pytest.raises(ConfigError, match=r"tensorboard needs the tensorboardX or tensorboard "
                       r"package.*`pip install 'revthink\[dashboards\]'`"):
        dashboards.require(("tensorboard",))


def test_tensorboard_writes_beside_the_adapter_not_into_the_deleted_checkpoints(tmp_path):
    args = trainer.training_arguments(
        TrainConfig(report_to=("tensorboard", "wandb")), seed=0, output_dir=tmp_path / "ck",
        validate=False,
    )
    assert args.report_to == ["wandb"]  # the Trainer's own tensorboard would write into ck/
    assert dashboards.tensorboard(tmp_path).logging_dir == str(tmp_path / "tensorboard")


def test_a_resumed_tensorboard_log_shows_each_step_once(tmp_path):
    from test_train_stage import event_scalars

    interrupted = dashboards.tensorboard(tmp_path).tb_writer
    for step in (1, 2, 3, 4):  # killed after step 4; the last checkpoint is step 2's
        interrupted.add_scalar("train/loss", 10.0 + step, step)
    interrupted.close()
    resumed = dashboards.tensorboard(tmp_path, resumed_from_step=2).tb_writer
    for step in (3, 4):
        resumed.add_scalar("train/loss", 20.0 + step, step)
    resumed.close()
    assert event_scalars(tmp_path / "tensorboard")["train/loss"] == [
        (1, 11.0), (2, 12.0), (3, 23.0), (4, 24.0)]


def test_float16_on_a_cpu_is_refused_with_the_key(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cfg = TrainConfig(student=ModelConfig(dtype="float16"))
    with pytest.raises(ConfigError, match=r"train\.student\.dtype.*bfloat16"):
        trainer.training_dtype(cfg)


def test_bf16_maps_to_autocast_on_the_cpu(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    args = trainer.training_arguments(
        TrainConfig(), seed=0, output_dir=tmp_path, validate=False, dtype="bfloat16"
    )
    assert args.bf16 and not args.fp16 and args.use_cpu
    fp32 = trainer.training_arguments(
        TrainConfig(), seed=0, output_dir=tmp_path, validate=False, dtype="float32"
    )
    assert not fp32.bf16 and fp32.use_cpu


@pytest.mark.slow
def test_lora_on_every_linear_layer_keeps_fp32_adapters_over_bf16_weights():
    cfg = TrainConfig(lora=LoraSettings(rank=2, alpha=4))
    assert cfg.lora.target_modules == ("all-linear",) and cfg.lora.dropout == 0.0
    model = trainer.prepare_model(cfg, "cpu", "bfloat16")
    adapted = {name.split(".")[-1] for name, module in model.named_modules()
               if hasattr(module, "lora_A")}
    assert adapted == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                       "down_proj"}
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert trainable and all(p.dtype == torch.float32 for p in trainable)
    frozen = [p for p in model.parameters() if not p.requires_grad]
    assert {p.dtype for p in frozen} == {torch.bfloat16}
    assert not math.isnan(sum(p.float().sum().item() for p in trainable))


def _records(n: int) -> list[AugmentedExample]:
    return [
        AugmentedExample(
            Problem(f"p{i}", "synthetic", f"Ana has {i} pens and buys 2 more. How many pens?",
                    str(i + 2), "number"),
            forward_reasoning=f"{i} + 2 = {i + 2}. The answer is {i + 2}.",
            backward_question="", backward_reasoning="",
        )
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def tiny_student(tmp_path_factory) -> Path:
    """A two-layer llama with SmolLM2's vocabulary: bf16 is emulated (slow) on CPUs without
    AMX/AVX512-BF16, so the precision path is tested on a model small enough for any CPU."""
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny")
    tokenizer = load_tokenizer(ModelConfig())
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_bf16_training_computes_under_autocast_and_saves_fp32_adapters(
    tiny_student, tmp_path, monkeypatch
):
    from transformers import LlamaForCausalLM

    seen = []
    forward = LlamaForCausalLM.forward

    def spy(self, *args, **kwargs):
        seen.append(torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else None)
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(LlamaForCausalLM, "forward", spy)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cfg = TrainConfig(
        student=ModelConfig(path=str(tiny_student), dtype="bfloat16"),
        lora=LoraSettings(rank=2, alpha=4), max_steps=2, batch_size=2, save_steps=100,
    )
    tokenizer = load_tokenizer(ModelConfig())
    rows, _ = encode_units(Encoder(tokenizer), methods.build_units("skd", _records(4)))
    trainer.fit(cfg, seed=0, weights={"forward": 1.0}, tokenizer=tokenizer, train_rows=rows,
                eval_rows=[], out_dir=tmp_path, checkpoint=None)
    assert seen == [torch.bfloat16, torch.bfloat16]
    adapter = load_file(tmp_path / "adapter_model.safetensors")
    assert adapter and all(t.dtype == torch.float32 for t in adapter.values())
    losses = [json.loads(line)["loss"] for line in (tmp_path / "losses.jsonl").open()]
    assert len(losses) == 2 and all(math.isfinite(x) for x in losses)
