"""Training at machine speed: achieved FLOP/s of skd and revthink steps against the matmul peak.

    python benchmarks/train_peak.py [--steps 6] [--batch-size 4] [--dtypes float32 bfloat16]

Both are measured in this one process, on the same cores, one after the other:
  peak         the best of several square matmuls (``--matmul`` wide) in the dtype: the rate
               this machine's BLAS reaches on the work a training step is made of.
  step         a training step as ``ObjectiveTrainer`` takes it: one forward and backward pass
               per objective (logits only where labels are set, ``revthink.train.loss``), the
               combined loss, AdamW on the LoRA weights, under autocast in bf16; batches of
               quickstart records (the synthetic suite, the program teacher), ``--batch-size``
               problems, the longest first as length grouping puts them.
  FLOPs        counted by ``torch.utils.flop_counter.FlopCounterMode`` on each batch (the
               matmuls and attention of forward and backward, as executed), not estimated.
  shape peak   the same, on the student's own linear layers (hidden x hidden, hidden x kv,
               hidden x intermediate, ...) with as many rows as a batch has tokens: what BLAS
               reaches on matrices this small, the ceiling of a step made of them.
The fraction printed is (step FLOPs / step seconds) / peak; the step with full-vocabulary
logits at every position (``model(**batch).loss``, before) is timed beside it, so the ratio
shows what computing logits only at labelled positions buys.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from revthink.config import LoraSettings, ModelConfig, TrainConfig, load_config
from revthink.models import load_tokenizer, resolve_dtype
from revthink.records import AugmentedExample, read_jsonl
from revthink.train import methods
from revthink.train.collator import Encoder, ObjectiveCollator, encode_units
from revthink.train.loss import completion_loss
from revthink.train.trainer import combine, prepare_model

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


def batches(method: str, records: list[AugmentedExample], tokenizer: Any, size: int) -> list:
    """Collated batches of ``method``'s rows, longest problems first."""
    weights = methods.weights(method, TrainConfig())
    rows, _ = encode_units(Encoder(tokenizer, max_length=384), methods.build_units(method, records))
    rows.sort(key=lambda row: -row["length"])
    collate = ObjectiveCollator(tokenizer.pad_token_id, tuple(weights))
    return [collate(rows[i : i + size]) for i in range(0, len(rows) - size + 1, size)]


def step(model: Any, optimizer: Any, batch: dict, weights: dict, dtype: str, full: bool) -> None:
    """One optimizer step; ``full``: transformers' loss, with logits at every position."""
    head = model.get_output_embeddings()
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bfloat16")
    with autocast:
        losses = {
            name: model(**batch[name]).loss if full else completion_loss(model, batch[name], head)
            for name in weights
        }
        loss = combine(losses, weights, "mean")
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()


def measure(method: str, dtype: str, args: argparse.Namespace, records: list) -> dict[str, float]:
    cfg = TrainConfig(
        student=ModelConfig(path=args.model, dtype=dtype),
        lora=LoraSettings(rank=16, alpha=32, dropout=0.0, target_modules=("all-linear",)),
    )
    tokenizer = load_tokenizer(cfg.student)
    model = prepare_model(cfg, "cpu", dtype)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    weights = methods.weights(method, cfg)
    work = batches(method, records, tokenizer, args.batch_size)[: args.steps]
    flops = 0
    for batch in work:
        with FlopCounterMode(display=False) as counter:
            step(model, optimizer, batch, weights, dtype, full=False)
        flops += counter.get_total_flops()
    seconds = {}
    for full in (False, True):
        step(model, optimizer, work[0], weights, dtype, full)  # warm-up
        start = time.perf_counter()
        for batch in work:
            step(model, optimizer, batch, weights, dtype, full)
        seconds["full" if full else "labelled"] = (time.perf_counter() - start) / len(work)
    tokens = round(sum(b[name]["input_ids"].numel() for b in work for name in weights)
                   / (len(work) * len(weights)))
    ceiling = shape_peak(getattr(torch, dtype), model, tokens)
    return {"flops": flops / len(work), **seconds, "shape_peak": ceiling, "tokens": tokens}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6, help="batches timed per method")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--matmul", type=int, default=2048, help="width of the peak's matmul")
    parser.add_argument("--dtypes", nargs="+", default=None,
                        help="default: float32, and bfloat16 where the CPU computes it natively")
    args = parser.parse_args()
    dtypes = args.dtypes or list(dict.fromkeys(["float32", resolve_dtype("auto", "cpu")]))
    records = quickstart_records(args.steps * args.batch_size)
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
