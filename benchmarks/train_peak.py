"""Training at machine speed: achieved FLOP/s of skd and revthink steps against the matmul peak.

    python benchmarks/train_peak.py [--steps 6] [--batch-size 4] [--dtypes float32 bfloat16]

Both are measured in this one process, on the same cores, one after the other:
  peak         the best of several square matmuls (``--matmul`` wide) in the dtype: the rate
               this machine's BLAS reaches on the work a training step is made of.
  step         the real trainer (``revthink.train.trainer.fit``, as `revthink train` runs
               it) on quickstart records (the synthetic suite, the program teacher),
               ``--batch-size`` problems a step: one forward and backward pass per objective
               with logits only where labels are set (``revthink.train.loss``), AdamW on the
               LoRA weights, autocast in bf16; seconds from each step's start to its end,
               from the second step on (the first warms up).
  FLOPs        counted by ``torch.utils.flop_counter.FlopCounterMode`` (the matmuls and
               attention of forward and backward, as executed), not estimated, in a run of
               its own with the same seed and so the same batches as the timed run.
  shape peak   the same, on the student's own linear layers (hidden x hidden, hidden x kv,
               hidden x intermediate, ...) with as many rows as a batch has tokens: what BLAS
               reaches on matrices this small, the ceiling of a step made of them.
The fraction printed is (step FLOPs / step seconds) / peak; a third run with full-vocabulary
logits at every position (transformers' ``model(**batch).loss``, as before) is timed beside
it, so the last ratio shows what computing logits only at labelled positions buys.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import TrainerCallback

from revthink.config import LoraSettings, ModelConfig, TrainConfig, load_config
from revthink.models import load_tokenizer, resolve_dtype
from revthink.records import AugmentedExample, read_jsonl
from revthink.train import methods
from revthink.train.collator import Encoder, encode_units
from revthink.train.trainer import prepare_model

QUICKSTART = Path(__file__).resolve().parents[1] / "configs" / "quickstart.yaml"


def matmul_peak(dtype: torch.dtype, size: int, repeats: int = 5) -> float:
    """FLOP/s of the best of ``repeats`` ``size``-wide square matmuls."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    torch.mm(a, b)  # warm-up: thread pool, packing buffers
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def shape_peak(dtype: torch.dtype, model: Any, tokens: int, repeats: int = 5) -> float:
    """FLOP/s of the student's own linear layers on ``tokens`` rows, forward, best of
    ``repeats``: the ceiling a step made of these matmuls could reach on this machine."""
    c = model.config
    head_dim = c.hidden_size // c.num_attention_heads
    kv = c.num_key_value_heads * head_dim
    shapes = [(c.hidden_size, c.hidden_size), (c.hidden_size, kv), (c.hidden_size, kv),
              (c.hidden_size, c.hidden_size), (c.hidden_size, c.intermediate_size),
              (c.hidden_size, c.intermediate_size), (c.intermediate_size, c.hidden_size)]
    flops, seconds = 0, 0.0
    for n_in, n_out in shapes:
        x, w = torch.randn(tokens, n_in, dtype=dtype), torch.randn(n_in, n_out, dtype=dtype)
        torch.mm(x, w)
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            torch.mm(x, w)
            best = min(best, time.perf_counter() - start)
        flops, seconds = flops + 2 * tokens * n_in * n_out, seconds + best
    return flops / seconds


def quickstart_records(n: int) -> list[AugmentedExample]:
    """``n`` records of the quickstart's augmentation (program teacher, exact, a few seconds)."""
    from revthink.augment import stage as augment

    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_config(QUICKSTART, [f"output_dir={tmp}", f"augment.data.limit={n}"])
        augment.run(cfg)
        return read_jsonl(cfg.run_dir / "augment" / "records.jsonl", AugmentedExample)


def quickstart_rows(method: str, records: list[AugmentedExample], tokenizer: Any) -> list:
    rows, _ = encode_units(Encoder(tokenizer, max_length=384), methods.build_units(method, records))
    return rows


class StepClock(TrainerCallback):
    """Wall seconds and (optionally) counted FLOPs of every optimizer step of a real run."""

    def __init__(self, counter: FlopCounterMode | None = None) -> None:
        self.counter, self.seconds, self.flops = counter, [], []

    def on_step_begin(self, args, state, control, **kwargs):
        self.start = time.perf_counter()
        self.counted = self.counter.get_total_flops() if self.counter else 0

    def on_step_end(self, args, state, control, **kwargs):
        self.seconds.append(time.perf_counter() - self.start)
        if self.counter:
            self.flops.append(self.counter.get_total_flops() - self.counted)


def train_steps(cfg: TrainConfig, method: str, rows: list, tokenizer: Any, *, count: bool,
                full_logits: bool) -> StepClock:
    """``cfg.max_steps`` steps of the real trainer (``fit``), timed, FLOPs counted if asked.

    The same seed gives the same batches in the same order, so a counted run and a timed run
    see the same work. ``full_logits`` swaps in transformers' own loss (logits everywhere).
    """
    from unittest import mock

    from revthink.train import trainer

    counter = FlopCounterMode(display=False) if count else None
    clock = StepClock(counter)
    full = (lambda model, batch, head: model(**batch).loss) if full_logits else None
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        if full is not None:
            stack.enter_context(mock.patch.object(trainer, "completion_loss", full))
        if counter is not None:
            stack.enter_context(counter)
        trainer.fit(cfg, seed=0, weights=methods.weights(method, cfg), tokenizer=tokenizer,
                    train_rows=rows, eval_rows=[], out_dir=Path(tmp), checkpoint=None,
                    callbacks=(clock,))
    return clock


def measure(method: str, dtype: str, args: argparse.Namespace, records: list) -> dict[str, float]:
    """FLOPs and seconds a step, steps 2 on (the first warms up), as ``revthink train`` runs."""
    cfg = TrainConfig(
        student=ModelConfig(path=args.model, dtype=dtype), max_steps=args.steps,
        batch_size=args.batch_size, max_length=384, save_steps=10_000, learning_rate=1e-3,
        lora=LoraSettings(rank=16, alpha=32, dropout=0.0, target_modules=("all-linear",)),
    )
    tokenizer = load_tokenizer(cfg.student)
    rows = quickstart_rows(method, records, tokenizer)
    counted = train_steps(cfg, method, rows, tokenizer, count=True, full_logits=False)
    timed = train_steps(cfg, method, rows, tokenizer, count=False, full_logits=False)
    full = train_steps(cfg, method, rows, tokenizer, count=False, full_logits=True)
    flops = sum(counted.flops[1:]) / (args.steps - 1)
    seconds = sum(timed.seconds[1:]) / (args.steps - 1)
    model = prepare_model(cfg, "cpu", dtype)
    tokens = round(sum(row["length"] for row in rows) / len(rows) * args.batch_size
                   / len(methods.weights(method, cfg)))
    return {
        "flops": flops, "labelled": seconds, "full": sum(full.seconds[1:]) / (args.steps - 1),
        "shape_peak": shape_peak(getattr(torch, dtype), model, tokens),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6,
                        help="training steps per method and run (the first is not timed)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--matmul", type=int, default=2048, help="width of the peak's matmul")
    parser.add_argument("--dtypes", nargs="+", default=None,
                        help="default: float32, and bfloat16 where the CPU computes it natively")
    args = parser.parse_args()
    dtypes = args.dtypes or list(dict.fromkeys(["float32", resolve_dtype("auto", "cpu")]))
    records = quickstart_records(args.steps * args.batch_size)  # one epoch of --steps
    print(f"{torch.get_num_threads()} threads; {args.steps} steps of {args.batch_size} problems")
    print(f"{'dtype':9} {'method':9} {'GFLOP/step':>10} {'s/step':>7} {'GFLOP/s':>8} "
          f"{'peak':>7} {'of peak':>8} {'shape peak':>11} {'of it':>6} "
          f"{'full-logits s/step':>19} {'speed-up':>9}")
    for dtype in dtypes:
        peak = matmul_peak(getattr(torch, dtype), args.matmul)
        for method in ("skd", "revthink"):
            m = measure(method, dtype, args, records)
            achieved = m["flops"] / m["labelled"]
            print(f"{dtype:9} {method:9} {m['flops'] / 1e9:10.1f} {m['labelled']:7.2f} "
                  f"{achieved / 1e9:8.1f} {peak / 1e9:7.1f} {achieved / peak:8.0%} "
                  f"{m['shape_peak'] / 1e9:11.1f} {achieved / m['shape_peak']:6.0%} "
                  f"{m['full']:19.2f} {m['full'] / m['labelled']:9.2f}")


if __name__ == "__main__":
    main()
