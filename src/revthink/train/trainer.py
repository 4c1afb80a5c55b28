"""A thin layer over transformers' Trainer and peft: our config mapped field by field.

The only subclass behaviour is what the RevThink objective needs: a batch is
``{objective: {input_ids, attention_mask, labels}}`` (see ``collator.ObjectiveCollator``), the
loss combines the weighted objective losses (``combine``: their weighted mean by default, as
the paper averages them) with one forward pass per objective, and each ``L_o`` is logged on its
own (``loss_forward``, ``loss_backward_question``, ...; ``eval_loss_*`` on the validation slice)
with the throughput (``tokens_per_second``) to every ``report_to`` logger (``dashboards``), as
one readable line a step to stderr (``progress.StepLine``) and as one JSON row a step to
``losses.jsonl``. The learning-rate schedule is ours too
(``lr_factor``): the Trainer's warm-up starts at lr 0, which wastes the first step of a short
run.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from transformers import Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_callback import PrinterCallback, ProgressCallback

from revthink.config import TrainConfig
from revthink.errors import ConfigError
from revthink.models import load_model, resolve_dtype
from revthink.train import dashboards
from revthink.train.loss import completion_loss
from revthink.train.progress import StepLine

if TYPE_CHECKING:
    from transformers import PreTrainedModel


def combine(
    losses: Mapping[str, torch.Tensor], weights: Mapping[str, float], reduction: str
) -> torch.Tensor:
    """``sum_o w_o L_o``, divided by ``sum_o w_o`` for ``mean``.

    With equal weights the mean is the paper's average of its objectives; the sum gives a
    three-objective method three times the gradient of a one-objective baseline, which gradient
    clipping then treats differently.
    """
    total = sum(weights[name] * loss for name, loss in losses.items())
    if reduction == "sum":
        return total
    return total / sum(weights[name] for name in losses)


def lr_factor(kind: str, step: int, *, warmup: int, total: int) -> float:
    """The share of the peak learning rate used at optimizer step ``step`` (0-based) of ``total``.

    Warm-up climbs linearly over ``warmup`` steps from ``1 / (warmup + 1)``, so the first step
    already learns; then ``linear`` and ``cosine`` decay towards 0 at ``total`` and the
    ``constant`` kinds stay at 1 (plain ``constant`` has no warm-up).
    """
    if kind != "constant" and step < warmup:
        return (step + 1) / (warmup + 1)
    progress = min(1.0, (step - warmup) / max(1, total - warmup)) if kind != "constant" else 0.0
    if kind == "linear":
        return 1.0 - progress
    if kind == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return 1.0


class ObjectiveTrainer(Trainer):
    """Trainer with a combination of per-objective causal-LM losses and our lr schedule."""

    def __init__(
        self, *args: Any, weights: Mapping[str, float], reduction: str = "mean", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.objective_weights = dict(weights)
        self.reduction = reduction
        self._pending: dict[str, dict[str, list[torch.Tensor]]] = {
            "train": defaultdict(list), "eval": defaultdict(list),
        }
        self._tokens = torch.zeros((), dtype=torch.int64, device=self.args.device)
        self._since: float | None = None  # when the tokens began to count; None: at start_time

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """One forward pass per objective; each loss is the mean over its completion tokens.

        Logits are computed only at the positions that carry a label (``completion_loss``).
        """
        head = self.accelerator.unwrap_model(model).get_output_embeddings()
        losses = {
            name: completion_loss(model, inputs[name], head) for name in self.objective_weights
        }
        total = combine(losses, self.objective_weights, self.reduction)
        pending = self._pending["train" if model.training else "eval"]
        for name, loss in losses.items():
            pending[name].append(loss.detach())
        if model.training:
            self._tokens += sum(inputs[name]["attention_mask"].sum() for name in losses)
        return (total, None) if return_outputs else total

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        """``lr_factor`` of the configured kind, in place of transformers' zero-start warm-up."""
        if self.lr_scheduler is None:
            factor = partial(
                lr_factor, self.args.lr_scheduler_type.value,
                warmup=self.args.get_warmup_steps(num_training_steps), total=num_training_steps,
            )
            self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(
                optimizer or self.optimizer, factor
            )
            self._created_lr_scheduler = True  # so that a second train() makes a fresh one
        return self.lr_scheduler

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        """Validation loss only: the nested batch has no top-level labels for the default."""
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad(), self.compute_loss_context_manager():
            loss = self.compute_loss(model, inputs)
        return loss.detach(), None, None

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Add the per-objective means since the last log to the train or eval row."""
        if "loss" in logs:
            logs.update(self._drain("train", "loss_"))
            logs.update(self._throughput(start_time))
        if "eval_loss" in logs:
            logs.update(self._drain("eval", "eval_loss_"))
            self._since = time.time()  # validation time is not training time
        super().log(logs, start_time)

    def _drain(self, mode: str, prefix: str) -> dict[str, float]:
        pending, self._pending[mode] = self._pending[mode], defaultdict(list)
        means = {name: torch.stack(values).mean() for name, values in pending.items()}
        return {
            prefix + name: round(self.accelerator.reduce(mean, "mean").item(), 6)
            for name, mean in means.items()
        }

    def _throughput(self, start_time: float | None) -> dict[str, float]:
        """Non-padding tokens a second, every objective and process, since the last train log.

        The first interval starts when training does (``start_time``, from ``time.time()``);
        it then includes checkpoint saving, as the wall clock does.
        """
        since = self._since if self._since is not None else start_time
        tokens = self.accelerator.reduce(self._tokens, "sum").item()
        self._tokens.zero_()
        self._since = time.time()
        if since is None:  # a log outside training
            return {}
        return {"tokens_per_second": round(tokens / max(self._since - since, 1e-6), 1)}


class LossLog(TrainerCallback):
    """Appends one JSON row a logged step to ``losses.jsonl`` (train and validation rows)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        split = "validation" if "eval_loss" in logs else "train" if "loss" in logs else None
        if split is None:  # the end-of-training summary
            return
        prefix = "eval_" if split == "validation" else ""
        row: dict[str, Any] = {"step": state.global_step, "split": split}
        row.update({k[len(prefix):]: v for k, v in logs.items() if k.startswith(prefix + "loss")})
        if split == "train":
            row.update(lr=logs.get("learning_rate"), grad_norm=logs.get("grad_norm"))
            row.update(tokens_per_second=logs.get("tokens_per_second"))
        row["epoch"] = logs.get("epoch")
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


def checkpoint_step(checkpoint: str | Path) -> int:
    """The optimizer step a ``checkpoint-<step>`` folder was saved at."""
    return int(Path(checkpoint).name.rsplit("-", 1)[1])


def truncate_log(path: Path, step: int) -> None:
    """Drop rows after ``step``: a resumed run logs those steps again."""
    if not path.exists():
        return
    rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    kept = []
    for line in rows:
        try:
            if json.loads(line)["step"] <= step:
                kept.append(line)
        except (json.JSONDecodeError, KeyError):  # a line torn by the kill
            continue
    path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")


def training_dtype(cfg: TrainConfig) -> str:
    """The dtype training computes in: ``student.dtype`` resolved for the device it runs on."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = resolve_dtype(cfg.student.dtype, device)
    if dtype == "float16" and device == "cpu":
        raise ConfigError(
            "key 'train.student.dtype': float16 training needs a GPU; on a CPU use auto, "
            "bfloat16 or float32"
        )
    return dtype


def training_arguments(
    cfg: TrainConfig, *, seed: int, output_dir: Path, validate: bool, dtype: str = "float32"
) -> TrainingArguments:
    """Our TrainConfig mapped onto TrainingArguments, one field at a time.

    A bf16 or fp16 ``dtype`` turns on autocast (mixed precision): the maths runs in that dtype,
    trainable weights and optimizer state stay in fp32.
    """
    return TrainingArguments(
        output_dir=str(output_dir),
        seed=seed,
        data_seed=seed,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,  # its shape: ObjectiveTrainer.create_scheduler
        warmup_steps=cfg.warmup_ratio,  # a float below 1 is a ratio of the total steps
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        activation_checkpointing=cfg.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False},  # works with frozen embeddings
        train_sampling_strategy="group_by_length",
        bf16=dtype == "bfloat16",
        fp16=dtype == "float16",
        use_cpu=not torch.cuda.is_available(),
        logging_steps=1,
        disable_tqdm=True,  # StepLine reports progress
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=2,
        eval_strategy="steps" if validate else "no",  # every save and after the last step
        eval_steps=cfg.save_steps,
        remove_unused_columns=False,  # rows are nested per objective
        # tensorboard is set up by fit (dashboards.tensorboard), the others by the Trainer
        report_to=[name for name in cfg.report_to if name != "tensorboard"] or "none",
        dataloader_num_workers=0,
    )


def prepare_model(cfg: TrainConfig, device: str, dtype: str = "float32") -> PreTrainedModel:
    """The student, wrapped with LoRA adapters unless ``finetune: full``.

    Under LoRA the frozen base weights are stored in ``dtype`` (half the memory and traffic in
    bf16) and peft keeps the adapters in fp32; a fully fine-tuned model keeps fp32 weights, so
    its updates are not rounded away, and computes in ``dtype`` under autocast.
    """
    if cfg.finetune == "full":
        model = load_model(cfg.student, device, "float32")
        model.config.use_cache = False
        return model
    from peft import LoraConfig, get_peft_model

    model = load_model(cfg.student, device, dtype)
    model.config.use_cache = False
    targets = list(cfg.lora.target_modules)
    lora = LoraConfig(
        r=cfg.lora.rank,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        # "all-linear": every linear layer but the head; none: peft's default (q_proj, v_proj)
        target_modules="all-linear" if targets == ["all-linear"] else targets or None,
        task_type="CAUSAL_LM",
    )
    try:
        return get_peft_model(model, lora, autocast_adapter_dtype=True)
    except ValueError as err:  # peft: a target module the model does not have
        linear = sorted({name.rpartition(".")[2] for name, module in model.named_modules()
                         if isinstance(module, torch.nn.Linear)})
        raise ConfigError(
            f"key 'train.lora.target_modules': {targets} do not name linear layers of "
            f"{cfg.student.path} ({' '.join(str(err).split())[:200]}); its linear layers: "
            f"{', '.join(linear)}, or all-linear"
        ) from None


def fit(
    cfg: TrainConfig,
    *,
    seed: int,
    weights: Mapping[str, float],
    tokenizer: Any,
    train_rows: list[dict[str, Any]],
    eval_rows: list[dict[str, Any]],
    out_dir: Path,
    checkpoint: str | None,
    label: str = "train",
    callbacks: tuple[TrainerCallback, ...] = (),
) -> dict[str, float]:
    """Train on the encoded rows, checkpointing into ``out_dir/checkpoints``; save the result.

    The adapter (or the whole model) and the tokenizer are saved in ``out_dir`` itself;
    ``label`` opens each progress line; ``callbacks`` are extra Trainer callbacks (timers).
    """
    from datasets import Dataset
    from transformers import set_seed

    from revthink.train.collator import ObjectiveCollator

    dashboards.require(cfg.report_to)
    dtype = training_dtype(cfg)
    args = training_arguments(
        cfg, seed=seed, output_dir=out_dir / "checkpoints", validate=bool(eval_rows), dtype=dtype
    )
    set_seed(seed)  # LoRA initialisation draws from the global generator
    loggers = []
    if "tensorboard" in cfg.report_to:
        resumed_from = checkpoint_step(checkpoint) if checkpoint else 0
        loggers.append(dashboards.tensorboard(out_dir, resumed_from))
    trainer = ObjectiveTrainer(
        model=prepare_model(cfg, str(args.device), dtype),
        args=args,
        train_dataset=Dataset.from_list(train_rows),
        eval_dataset=Dataset.from_list(eval_rows) if eval_rows else None,
        data_collator=ObjectiveCollator(tokenizer.pad_token_id, tuple(weights)),
        processing_class=tokenizer,
        callbacks=[LossLog(out_dir / "losses.jsonl"), StepLine(label), *loggers, *callbacks],
        weights=weights,
        reduction=cfg.objective_reduction,
    )
    trainer.remove_callback(PrinterCallback)  # raw log dicts; StepLine prints lines instead
    trainer.remove_callback(ProgressCallback)
    result = trainer.train(resume_from_checkpoint=checkpoint)  # evaluates at the end as well
    trainer.save_model(str(out_dir))
    return dict(result.metrics)
