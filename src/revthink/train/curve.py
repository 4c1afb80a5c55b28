"""The learning curve: held-out accuracy while training, every ``train.eval_steps`` steps.

A training loss that falls says the student fits its targets, not that it answers better; a
method compared at a budget where it still answers at guessing level tells nothing. So every
``train.eval_steps`` optimizer steps (and before the first step, where the student is still
the zero-shot one, and after the last) the student greedily answers a small fixed sample of
problems from the training dataset's ``train.eval_split`` (never a test split), exactly as
evaluation asks them, and ``curve.jsonl`` gets one row::

    {"step": 20, "n": 48, "accuracy": 0.375, "no_answer": 0.104, "seconds": 21.3}

Problems the student trains on are left out of the sample. The LoRA adapter is merged into
the weights for generation (one matrix product per layer) and the exact weights are put back
afterwards, so training continues from the same state. A resumed run drops the rows after
its checkpoint, as ``losses.jsonl`` does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from revthink.config import ExperimentConfig
from revthink.data import load_problems
from revthink.data.splits import seeded_sample
from revthink.errors import ConfigError
from revthink.evaluate.decoding import greedy_pruned
from revthink.evaluate.engine_hf import (
    AnswerStop,
    lora_base_copies,
    plan_batches,
    restore,
    spaced_tokens,
    to_generations,
)
from revthink.evaluate.engines import Generation, end_token_ids
from revthink.evaluate.scoring import answer_check, judge
from revthink.prompting import Template, encode_prompt, forward_prompt
from revthink.records import Problem

CURVE = "curve.jsonl"


def curve_problems(cfg: ExperimentConfig, trained_ids: set[str]) -> list[Problem]:
    """The seeded sample the curve is measured on: ``eval_limit`` problems of ``eval_split``
    of the training dataset, none of them trained on."""
    train, data = cfg.train, cfg.augment.data
    problems = load_problems(data.dataset, train.eval_split, data_dir=data.data_dir)
    unseen = [p for p in problems if p.id not in trained_ids]
    if not unseen:
        raise ConfigError(
            f"key 'train.eval_split': every problem of split {train.eval_split!r} of "
            f"{data.dataset!r} is trained on; choose a split the training data does not use"
        )
    return seeded_sample(unseen, min(train.eval_limit, len(unseen)), cfg.seed)


class LearningCurve(TrainerCallback):
    """Answers ``problems`` before training, every ``every`` steps and after the last step."""

    def __init__(
        self, problems: Sequence[Problem], tokenizer: Any, *, template: Template, every: int,
        max_new_tokens: int, batch_size: int, path: Path, dtype: str,
    ) -> None:
        self.problems, self.tokenizer, self.every = list(problems), tokenizer, every
        self.path = path
        self.prompts = [forward_prompt(tokenizer, p, template) for p in self.problems]
        self.ids = [encode_prompt(tokenizer, text, template) for text in self.prompts]
        self.checks = [answer_check(p) for p in self.problems]
        self.max_new_tokens, self.batch_size, self.dtype = max_new_tokens, batch_size, dtype
        self.spaced: frozenset[int] | None = None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if not any(row["step"] == state.global_step for row in read_curve(self.path)):
            self._measure(model, state)  # step 0, or a resumed run whose checkpoint has no row

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.every == 0 or state.global_step >= state.max_steps:
            self._measure(model, state)

    def _measure(self, model: Any, state: Any) -> None:
        start = time.perf_counter()
        answers = self.answer(model)
        verdicts = [
            judge(p, a.text, method="", prompt="", tokens=a.tokens)
            for p, a in zip(self.problems, answers, strict=True)
        ]
        row = {
            "step": state.global_step,
            "n": len(verdicts),
            "accuracy": round(sum(v.correct for v in verdicts) / len(verdicts), 6),
            "no_answer": round(sum(v.extracted is None for v in verdicts) / len(verdicts), 6),
            "mean_tokens": round(sum(a.tokens for a in answers) / len(answers), 1),
            "seconds": round(time.perf_counter() - start, 1),
        }
        if state.is_world_process_zero:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
            print(
                f"curve: step {row['step']}: {row['accuracy']:.1%} correct, "
                f"{row['no_answer']:.0%} without an answer ({row['n']} problems, "
                f"{row['seconds']:.0f} s)", flush=True,
            )

    def answer(self, model: Any) -> list[Generation]:
        """Greedy answers of the current weights to every problem, in problem order."""
        import torch

        if self.spaced is None:  # the vocabulary's spaced tokens, decoded once per run
            self.spaced = spaced_tokens(self.tokenizer)
        end_ids = set(end_token_ids(self.tokenizer, model.generation_config.eos_token_id))
        answers: list[Generation] = [Generation("", 0)] * len(self.ids)
        was_training = model.training
        model.eval()
        try:
            with torch.inference_mode(), _merged(model), _autocast(self.dtype):
                for indices in plan_batches([len(i) for i in self.ids], self.batch_size):
                    batch = self._generate(model, indices, end_ids)
                    for i, generation in zip(indices, batch, strict=True):
                        answers[i] = generation
        finally:
            model.train(was_training)
        return answers

    def _generate(
        self, model: Any, indices: list[int], end_ids: set[int]
    ) -> tuple[Generation, ...]:
        """One batch, decoded as the evaluation engine decodes greedily (answer stop included)."""
        encoded = self.tokenizer.pad(
            {"input_ids": [self.ids[i] for i in indices]}, padding=True, return_tensors="pt"
        ).to(next(model.parameters()).device)
        stop = AnswerStop(
            self.tokenizer, encoded["input_ids"].shape[1], [self.checks[i] for i in indices],
            self.spaced or frozenset(),
        )
        rows = greedy_pruned(
            model, encoded["input_ids"], encoded["attention_mask"], self.max_new_tokens,
            lambda row, ids: ids[-1] in end_ids or stop.check(row, ids),
        )
        return to_generations(self.tokenizer, rows, end_ids, stop)


def read_curve(path: Path) -> list[dict[str, Any]]:
    """The rows of a ``curve.jsonl`` (none when it does not exist)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@contextmanager
def _merged(model: Any) -> Iterator[None]:
    """LoRA merged into the base weights while open; the exact weights are restored on exit."""
    from peft import PeftModel

    if not isinstance(model, PeftModel):
        yield
        return
    originals = lora_base_copies(model)
    model.merge_adapter()
    try:
        yield
    finally:
        model.unmerge_adapter()
        restore(originals)


def _autocast(dtype: str) -> Any:
    """Training's mixed precision, which the Trainer does not hold open around callbacks."""
    import torch

    if dtype == "float32":
        return nullcontext()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.autocast(device, dtype=getattr(torch, dtype))
