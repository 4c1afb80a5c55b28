"""Evaluation speed of the transformers engine: the previous generation path against the current.

    .venv/bin/python benchmarks/eval_speed.py --n 32 --max-new-tokens 160

Runs ``revthink evaluate`` twice in this process, on the same problems (the synthetic suite's
test split by default) for ``zero_shot`` and a LoRA-adapted student:

- before: float32 (``--before-dtype``), the adapter applied unmerged through peft, batches of
  8, each row generated until an end token or the token limit, torch's default number of
  threads (``--before-threads`` sets another, to compare the rest like for like);
- after: the student's resolved dtype (``auto``: bf16 on CPUs with AMX/AVX512-BF16, else
  float32), the adapter merged into the weights (and taken out again), batches of 32, each row
  stopped once its final-answer sentence is complete and finished rows dropped from the batch,
  threads set to the free cores.

The adapter is rank 16 on every linear layer, like a trained one, with small random weights so
that the student still answers sensibly (``--adapter`` takes a trained one instead). The script
prints, per path, its dtype, wall time, problems/s and generated tokens/s, the ratio of
problems/s, strict accuracy per method (so what bf16 does to accuracy shows beside its speed),
and how the outputs of the two paths compare: identical, cut after the answer sentence (the
new output is the start of the old one), or different.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from revthink.config import (
    BenchmarkConfig,
    EvaluateConfig,
    ExperimentConfig,
    ModelConfig,
    TrainConfig,
)
from revthink.evaluate import stage
from revthink.manifest import write_manifest
from revthink.models import load_model, load_tokenizer, resolve_dtype
from revthink.records import Prediction, Score, read_jsonl

METHOD = "skd"  # any trained method name; the adapter is made here


@dataclass(frozen=True)
class Variant:
    """One way of generating: its name, the student's dtype and the evaluate settings."""

    name: str
    dtype: str
    evaluate: EvaluateConfig


def make_adapter(folder: Path, scale: float, seed: int) -> None:
    """A rank-16 LoRA on every linear layer with small random weights, saved as trained."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    lora = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", init_lora_weights=False,
                      task_type="CAUSAL_LM")
    model = get_peft_model(load_model(ModelConfig(), "cpu"), lora)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.mul_(scale)
    model.save_pretrained(str(folder))
    write_manifest(folder, {})


def variants(args: argparse.Namespace) -> list[Variant]:
    benchmark = BenchmarkConfig(dataset=args.dataset, split="test", limit=args.n)
    common = {"benchmarks": (benchmark,), "max_new_tokens": args.max_new_tokens}
    return [
        Variant("before", args.before_dtype, EvaluateConfig(
            **common, batch_size=8, merge_lora=False, stop_after_answer=False,
            threads=args.before_threads,
        )),
        Variant("after", resolve_dtype("auto", "cpu"),
                EvaluateConfig(**common, batch_size=args.batch_size)),
    ]


def evaluate(root: Path, variant: Variant, adapter: Path, seed: int) -> tuple[list[Score], float]:
    """Scores of zero_shot and the adapter generated the ``variant`` way, and the wall time."""
    cfg = ExperimentConfig(name=variant.name, output_dir=str(root), seed=seed,
                           methods=("zero_shot", METHOD), evaluate=variant.evaluate,
                           train=TrainConfig(student=ModelConfig(dtype=variant.dtype)))
    shutil.copytree(adapter, cfg.run_dir / "train" / METHOD)
    start = time.perf_counter()
    out = stage.run(cfg)
    return read_jsonl(out / "scores.jsonl", Score), time.perf_counter() - start


def outputs(root: Path, name: str, method: str, benchmark: str) -> list[Prediction]:
    return read_jsonl(root / name / "evaluate" / method / benchmark / "predictions.jsonl",
                      Prediction)


def compare_outputs(old: list[Prediction], new: list[Prediction]) -> tuple[int, int, int]:
    """(identical, cut after the answer, different) counts over the same problems."""
    same = cut = 0
    for a, b in zip(old, new, strict=True):
        if a.output == b.output:
            same += 1
        elif a.output.startswith(b.output) and a.extracted == b.extracted is not None:
            cut += 1
    return same, cut, len(old) - same - cut


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=32, help="test problems (seeded sample)")
    parser.add_argument("--dataset", default="synthetic")
    parser.add_argument("--max-new-tokens", type=int, default=160)
    parser.add_argument("--batch-size", type=int, default=32, help="batch size of the new path")
    parser.add_argument("--adapter", type=Path, help="a trained LoRA folder (default: random)")
    parser.add_argument("--scale", type=float, default=0.02, help="random adapter's B scale")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--before-dtype", default="float32",
                        choices=["float32", "bfloat16", "auto"],
                        help="dtype of the old path (default: float32, as it had)")
    parser.add_argument("--before-threads", type=int, default=torch.get_num_threads(),
                        help="threads of the old path (default: torch's default, as it had)")
    args = parser.parse_args()
    load_tokenizer(ModelConfig())  # converts and caches the GGUF student before timing
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        adapter = args.adapter or root / "adapter"
        if args.adapter is None:
            make_adapter(adapter, args.scale, args.seed)
        paths = variants(args)
        results = {p.name: evaluate(root, p, adapter, args.seed) for p in paths}
        benchmark = results["before"][0][0].dataset
        changes = {
            m: compare_outputs(outputs(root, "before", m, benchmark),
                               outputs(root, "after", m, benchmark))
            for m in ("zero_shot", METHOD)
        }
    report(args, results, changes, {p.name: p.dtype for p in paths})


def report(args, results, changes, dtypes: dict[str, str]) -> None:
    print(f"\n{args.dataset} test, {args.n} problems x 2 methods (zero_shot, LoRA), "
          f"SmolLM2-135M-Instruct, greedy, max {args.max_new_tokens} new tokens")
    print(f"{'path':8}{'dtype':>10}{'wall s':>8}{'problems/s':>12}{'tokens/s':>10}"
          f"{'zero_shot':>11}{'LoRA':>7}{'tokens/problem':>16}")
    speed = {}
    for name, (scores, seconds) in results.items():
        n = sum(s.n for s in scores)
        tokens = sum(s.mean_generated_tokens * s.n for s in scores)
        speed[name] = n / seconds
        accuracy = [f"{s.accuracy:.1%}" for s in scores]
        print(f"{name:8}{dtypes[name]:>10}{seconds:>8.1f}{n / seconds:>12.3f}"
              f"{tokens / seconds:>10.1f}{accuracy[0]:>11}{accuracy[1]:>7}{tokens / n:>16.1f}")
    print(f"problems/s ratio after / before: {speed['after'] / speed['before']:.2f}")
    for method, (same, cut, other) in changes.items():
        print(f"{method} outputs: {same} identical, {cut} cut after the answer sentence, "
              f"{other} different")


if __name__ == "__main__":
    main()
