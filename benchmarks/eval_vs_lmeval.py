"""`revthink evaluate` against lm-evaluation-harness on the same model and GSM8K problems.

    .venv/bin/python benchmarks/eval_vs_lmeval.py --n 20 --max-new-tokens 256

Both tools run in this process, one after the other, on the same seeded GSM8K test subset
(``revthink.data.load_problems``), the same student (SmolLM2-135M-Instruct) in the same dtype
(the student's ``auto`` resolved for this machine: bf16 on CPUs with AMX/AVX512-BF16, fp32
elsewhere), greedy decoding and the same limit on new tokens. Each tool batches its own way:
lm-eval with ``--batch-size`` (default 8), revthink with its evaluation defaults (length-sorted
batches of ``evaluate.batch_size``, each output stopped once its answer sentence is complete;
``--revthink-batch-size`` overrides). lm-eval uses its HF backend and
its own ``gsm8k_cot_zeroshot`` task (prompt, stops and filters as shipped), pointed at a local
copy of the subset (``lmeval_gsm8k_local.yaml``); by default its prompt goes through the chat
template too, as revthink's does (``--no-chat`` for the harness's plain-text default). The HF
backend needs a model folder, so the GGUF student is saved once as safetensors in a temporary
folder. Wall times include loading the model; the script prints both accuracies (strict and
flexible) and the ratio of wall times.

Needs the ``dev`` extra (lm-eval). Use few problems on a CPU: each answer may take a few seconds.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

import lm_eval
import torch
import yaml

from revthink.config import BenchmarkConfig, EvaluateConfig, ExperimentConfig, ModelConfig
from revthink.data import load_problems
from revthink.evaluate import stage
from revthink.models import load_model, load_tokenizer, resolve_dtype
from revthink.records import Problem, Score, read_jsonl

OVERRIDES = Path(__file__).with_name("lmeval_gsm8k_local.yaml")


def export_student(folder: Path) -> Path:
    """The default student as a plain transformers folder, which lm-eval's HF backend loads."""
    model_dir = folder / "student"
    load_model(ModelConfig(), "cpu", dtype="float32").save_pretrained(model_dir)
    load_tokenizer(ModelConfig()).save_pretrained(model_dir)
    return model_dir


def write_subset(problems: list[Problem], folder: Path) -> Path:
    """The problems as GSM8K rows: the solution ends with ``#### answer``, as the task expects."""
    path = folder / "gsm8k_subset.jsonl"
    rows = [{"question": p.question, "answer": f"{p.reference}\n#### {p.answer}"} for p in problems]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def lmeval_task(data_file: Path, max_new_tokens: int) -> dict[str, Any]:
    """lm-eval's shipped ``gsm8k_cot_zeroshot`` config with our local-data overrides."""
    shipped = resources.files("lm_eval") / "tasks" / "gsm8k" / "gsm8k-cot-zeroshot.yaml"
    task = yaml.safe_load(shipped.read_text(encoding="utf-8"))
    task.update(yaml.safe_load(OVERRIDES.read_text(encoding="utf-8")))
    task["dataset_kwargs"]["data_files"]["test"] = str(data_file)
    task["generation_kwargs"]["max_gen_toks"] = max_new_tokens
    task.pop("tag", None)  # the tag would group our copy with the Hub task
    return task


def run_lmeval(model_dir: Path, data_file: Path, args: argparse.Namespace) -> dict[str, float]:
    """Accuracies from lm-eval's HF backend on the subset."""
    task = lmeval_task(data_file, args.max_new_tokens)
    output = lm_eval.simple_evaluate(
        model="hf",
        model_args={"pretrained": str(model_dir), "dtype": args.dtype, "device": "cpu"},
        tasks=[task], batch_size=args.batch_size, apply_chat_template=args.chat,
        bootstrap_iters=0, log_samples=False,
    )
    metrics = output["results"][task["task"]]
    return {
        "strict": metrics["exact_match,strict-match"],
        "flexible": metrics["exact_match,flexible-extract"],
    }


def run_revthink(folder: Path, args: argparse.Namespace) -> Score:
    """The zero-shot student through revthink's evaluate stage, on the same subset."""
    cfg = ExperimentConfig(
        name="eval_vs_lmeval", output_dir=str(folder), seed=args.seed, methods=("zero_shot",),
        evaluate=EvaluateConfig(
            benchmarks=(BenchmarkConfig(dataset="gsm8k", limit=args.n),),
            max_new_tokens=args.max_new_tokens,
            batch_size=args.revthink_batch_size or EvaluateConfig().batch_size,
            threads=args.threads,
        ),
    )
    return read_jsonl(stage.run(cfg) / "scores.jsonl", Score)[0]


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="GSM8K test problems (seeded sample)")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8, help="lm-eval's batch size")
    parser.add_argument("--revthink-batch-size", type=int, default=0,
                        help="revthink's batch size (default: evaluate.batch_size's default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--chat", action=argparse.BooleanOptionalAction, default=True,
                        help="lm-eval: render its prompt with the chat template (default: yes)")
    args = parser.parse_args()
    args.dtype = resolve_dtype(ModelConfig().dtype, "cpu")
    torch.set_num_threads(args.threads)
    problems = load_problems("gsm8k", "test", limit=args.n, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model_dir = export_student(folder)
        data_file = write_subset(problems, folder)
        harness, harness_s = timed(run_lmeval, model_dir, data_file, args)
        ours, ours_s = timed(run_revthink, folder, args)
    print(f"\nGSM8K test, {len(problems)} problems (seed {args.seed}), SmolLM2-135M-Instruct "
          f"{args.dtype}, greedy, max {args.max_new_tokens} new tokens, lm-eval batch "
          f"{args.batch_size}, {args.threads} thread(s)")
    print(f"{'':22}{'strict':>8}{'flexible':>10}{'wall s':>9}")
    print(f"{'lm-eval (HF backend)':22}{harness['strict']:>8.1%}{harness['flexible']:>10.1%}"
          f"{harness_s:>9.1f}")
    print(f"{'revthink evaluate':22}{ours.accuracy:>8.1%}{ours.accuracy_flexible:>10.1%}"
          f"{ours_s:>9.1f}")
    print(f"wall time ratio lm-eval / revthink: {harness_s / ours_s:.2f}")


if __name__ == "__main__":
    main()
