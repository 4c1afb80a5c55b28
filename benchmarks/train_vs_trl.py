"""Training throughput and memory: revthink's trainer (method ``skd``) vs TRL's SFTTrainer.

    python benchmarks/train_vs_trl.py [--steps 20] [--batch-size 4] [--max-length 384]
    python benchmarks/train_vs_trl.py --sides revthink:float32 revthink:bfloat16   # bf16 gain

A side is ``tool[:dtype]`` (tool ``revthink`` or ``trl``; dtype as ``student.dtype``, default
``--dtype``); the ratios printed are first side / second side, so the second form measures
what bf16 brings to revthink's own training on this machine.

Both sides get the same student (SmolLM2-135M-Instruct by default, loaded by
``revthink.models``), the same GSM8K problems with their reference solutions as the forward
reasoning (the ``skd`` target), the same LoRA settings and the same TrainingArguments values
(lr, batch, steps, seed, length-grouped sampling, precision: ``--dtype``, default ``auto``,
bf16 where the hardware has it). TRL sees the examples as a conversational
prompt/completion dataset and computes the loss on completion tokens only, as revthink does.

Measures, each trainer in a fresh subprocess so that neither inherits the other's memory:
  tokens/s      non-padding tokens of the examples trained on / wall seconds between the
                Trainer's on_train_begin and on_train_end (model loading and tokenization are
                outside); the example count is steps x batch, one pass over the data, so both
                count the same examples whatever their order.
  CPU tokens/s  the same tokens / process CPU seconds over the same span: on a shared machine
                other people's jobs slow the wall clock far more than the CPU time.
  peak RSS      the subprocess's peak resident set size (``resource.getrusage`` ru_maxrss),
                model load included, which is the same for both; on CUDA also peak allocated.
The sides alternate for ``--rounds`` rounds; each side's best round is reported, then the
ratios.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from revthink.config import LoraSettings, ModelConfig, TrainConfig
from revthink.data import load_problems
from revthink.records import AugmentedExample


def examples(n: int) -> list[AugmentedExample]:
    """GSM8K training problems with the reference solution as the forward reasoning."""
    problems = load_problems("gsm8k", "train", limit=n, seed=0)
    return [
        AugmentedExample(p, f"{p.reference}\nThe answer is {p.answer}.", "", "") for p in problems
    ]


def settings(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        learning_rate=args.lr, max_steps=args.steps,
        batch_size=args.batch_size, max_length=args.max_length, save_steps=10_000,
        lora=LoraSettings(rank=16, alpha=32, dropout=0.0, target_modules=("all-linear",)),
        student=ModelConfig(path=args.model, dtype=args.dtype),
    )


def run_revthink(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    from revthink.models import load_tokenizer
    from revthink.train import methods
    from revthink.train.collator import Encoder, encode_units
    from revthink.train.trainer import fit

    cfg = settings(args)
    tokenizer = load_tokenizer(cfg.student)
    units = methods.build_units("skd", examples(args.steps * args.batch_size))
    rows, _ = encode_units(Encoder(tokenizer, max_length=cfg.max_length), units)
    clock = Clock()
    fit(cfg, seed=0, weights={"forward": 1.0}, tokenizer=tokenizer, train_rows=rows,
        eval_rows=[], out_dir=out, checkpoint=None, callbacks=(clock,))
    log = [json.loads(line) for line in (out / "losses.jsonl").read_text().splitlines()]
    tokens = sum(row["length"] for row in rows)
    return {"tokens": tokens, **clock.spent, "losses": [log[0]["loss"], log[-1]["loss"]]}


def run_trl(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from revthink.models import load_tokenizer
    from revthink.train.objectives import forward
    from revthink.train.trainer import prepare_model, training_dtype

    cfg = settings(args)
    dtype = training_dtype(cfg)
    tokenizer = load_tokenizer(cfg.student)
    tokenizer.padding_side = "right"
    pairs = [forward(ex) for ex in examples(args.steps * args.batch_size)]
    data = Dataset.from_list([
        {"prompt": [{"role": m.role, "content": m.content} for m in p.messages],
         "completion": [{"role": "assistant", "content": p.completion}]}
        for p in pairs
    ])
    config = SFTConfig(
        output_dir=str(out), learning_rate=cfg.learning_rate, max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size, max_length=cfg.max_length, seed=0,
        data_seed=0, logging_steps=1, save_strategy="no", report_to="none",
        train_sampling_strategy="group_by_length", completion_only_loss=True,
        gradient_checkpointing=cfg.gradient_checkpointing,  # TRL's default is on, ours off
        use_cpu=not _cuda(), bf16=dtype == "bfloat16", fp16=dtype == "float16",
        dataloader_num_workers=0,
    )
    # the same LoRA-wrapped student as revthink's: adapters on every linear layer, fp32
    model = prepare_model(cfg, "cuda" if _cuda() else "cpu", dtype)
    clock = Clock()
    trainer = SFTTrainer(
        model=model, args=config, train_dataset=data, processing_class=tokenizer,
        callbacks=[clock],
    )
    trainer.train()
    log = [r["loss"] for r in trainer.state.log_history if "loss" in r]
    tokens = sum(len(ids) for ids in trainer.train_dataset["input_ids"])
    return {"tokens": tokens, **clock.spent, "losses": [log[0], log[-1]]}


class Clock(TrainerCallback):
    """Wall and process CPU seconds of the training loop alone."""

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = (time.perf_counter(), time.process_time())

    def on_train_end(self, args, state, control, **kwargs):
        wall, cpu = time.perf_counter() - self.start[0], time.process_time() - self.start[1]
        self.spent = {"seconds": wall, "cpu_seconds": cpu}


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def child(args: argparse.Namespace) -> None:
    """Run one side and print its measurements as one JSON line."""
    import tempfile

    import torch

    with tempfile.TemporaryDirectory() as tmp:
        result = (run_revthink if args.side == "revthink" else run_trl)(args, Path(tmp))
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if torch.cuda.is_available():
        result["peak_cuda_mib"] = torch.cuda.max_memory_allocated() / 2**20
    result["tokens_per_s"] = result["tokens"] / result["seconds"]
    result["tokens_per_cpu_s"] = result["tokens"] / result["cpu_seconds"]
    print("RESULT " + json.dumps(result))


def parent(args: argparse.Namespace) -> None:
    sides = [side if ":" in side else f"{side}:{args.dtype}" for side in args.sides]
    rounds: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    for _ in range(args.rounds):
        for side in rounds:
            rounds[side].append(_measure(side))
    best = {side: max(runs, key=lambda r: r["tokens_per_s"]) for side, runs in rounds.items()}
    width = max(map(len, best))
    print(f"{'':{width}} {'tokens':>7} {'wall s':>7} {'tokens/s':>9} {'tokens/CPU s':>13} "
          f"{'peak RSS MiB':>13}  loss first -> last")
    for side, r in best.items():
        print(f"{side:{width}} {r['tokens']:7d} {r['seconds']:7.1f} {r['tokens_per_s']:9.1f} "
              f"{r['tokens_per_cpu_s']:13.1f} {r['peak_rss_mib']:13.0f}  "
              f"{r['losses'][0]:.3f} -> {r['losses'][1]:.3f}")
    (first, ours), (second, theirs) = list(best.items())[:2]
    print(f"ratio {first} / {second}: "
          f"tokens/s {ours['tokens_per_s'] / theirs['tokens_per_s']:.2f}, "
          f"tokens/CPU s {ours['tokens_per_cpu_s'] / theirs['tokens_per_cpu_s']:.2f}, "
          f"peak RSS {ours['peak_rss_mib'] / theirs['peak_rss_mib']:.2f}")


def _measure(side: str) -> dict[str, Any]:
    tool, dtype = side.split(":", 1)
    cmd = [sys.executable, __file__, *sys.argv[1:], "--side", tool, "--dtype", dtype]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        sys.exit(f"{side} failed:\n{done.stderr[-3000:]}")
    return json.loads(line[len("RESULT "):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=384)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16"])
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs per side")
    parser.add_argument("--sides", nargs=2, default=["revthink", "trl"],
                        help="the two sides compared, each tool[:dtype]")
    parser.add_argument("--side", choices=["revthink", "trl"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    (child if args.side else parent)(args)


if __name__ == "__main__":
    main()
