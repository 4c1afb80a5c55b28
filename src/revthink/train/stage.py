"""`revthink train CONFIG`: fine-tune the student with every trained method of the config.

    revthink train config.yaml [train.max_steps=30 ...]
    accelerate launch [--config_file configs/accelerate/ddp.yaml] -m revthink train config.yaml

Reads ``runs/<name>/augment/records.jsonl`` and writes, for each method of ``methods:``
(``zero_shot`` is not trained), ``runs/<name>/train/<method>/``: the LoRA adapter (or the whole
model), the tokenizer, ``config.yaml`` (the resolved config, loadable as is), ``losses.jsonl``
(one row a step, one column per objective), ``summary.json`` (rows kept and dropped for
length per objective, the compute dtype, first and last losses: what the report reads) and
``manifest.json``, written last. No target is ever truncated: a problem whose prompt and
target do not fit ``train.max_length`` is dropped whole, counted per objective, printed and
recorded in the summary.

A method whose manifest matches (train config, method, records hash, seed, prompt template) is
skipped. Checkpoints are saved every ``train.save_steps`` into ``<method>/checkpoints/``; with
``resume: true`` an interrupted method continues from its last checkpoint to the same final
weights. Once a method has finished, its checkpoints (optimizer state included, several times
the adapter's size) are deleted; the final adapter stays.
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
from pathlib import Path
from typing import Any

import yaml
from accelerate import PartialState
from rich.console import Console

from revthink.config import ExperimentConfig, TrainConfig, to_dict
from revthink.errors import DataError, RecordError
from revthink.manifest import MANIFEST, fingerprint, invalidate, is_complete, write_manifest
from revthink.method_names import trained
from revthink.models import base_model, load_tokenizer
from revthink.prompting import template_fingerprint
from revthink.records import AugmentedExample, read_jsonl, repair_jsonl
from revthink.train import dashboards, methods, objectives
from revthink.train.collator import Encoder, LengthReport, encode_units
from revthink.train.curve import CURVE, LearningCurve, curve_problems
from revthink.train.trainer import checkpoint_step, fit, training_dtype, truncate_log

console = Console(stderr=True)
SUMMARY = "summary.json"  # per method: what the report reads about training


def run(cfg: ExperimentConfig) -> Path:
    """Train every method of ``cfg`` on the same seeded subset of the augmented records."""
    records_path = cfg.run_dir / "augment" / "records.jsonl"
    names = trained(cfg.methods)
    examples = read_jsonl(records_path, AugmentedExample)
    if not examples and not (records_path.parent / MANIFEST).is_file():
        raise DataError(
            f"{records_path.parent}: augmentation has not finished (no {MANIFEST}, no records "
            "yet); run `revthink augment` with this config again, it resumes"
        )
    train_set, validation_set = split(examples, cfg.train, cfg.seed)
    tokenizer = load_tokenizer(cfg.train.student)
    console.print(
        f"train: {len(train_set)} problems ({len(validation_set)} for validation) from "
        f"{records_path}; methods: {', '.join(names) or '(none)'}"
    )
    for method in names:
        train_method(cfg, method, records_path, tokenizer, train_set, validation_set)
    return cfg.run_dir / "train"


def split(
    examples: list[AugmentedExample], cfg: TrainConfig, seed: int
) -> tuple[list[AugmentedExample], list[AugmentedExample]]:
    """A seeded (train, validation) split; ``train_fraction`` keeps a prefix of the training part.

    The order depends only on the record ids and the seed, so every method trains on the same
    problems, and a smaller fraction is a subset of a larger one (sample-efficiency sweeps).
    """
    order = sorted(examples, key=lambda ex: ex.id)
    random.Random(seed).shuffle(order)
    n_validation = round(len(order) * cfg.validation_fraction)
    validation, rest = order[:n_validation], order[n_validation:]
    n_train = max(1, round(len(rest) * cfg.train_fraction)) if rest else 0
    if n_train == 0:
        raise DataError("no training problems left: check augment output and train fractions")
    return rest[:n_train], validation


def train_method(
    cfg: ExperimentConfig, method: str, records_path: Path, tokenizer: Any,
    train_set: list[AugmentedExample], validation_set: list[AugmentedExample],
) -> Path:
    """Train one method into ``train/<method>/``, or skip it when its manifest matches."""
    out_dir = cfg.run_dir / "train" / method
    expected = fingerprint(
        cfg.train, [records_path], cfg.seed, root=cfg.run_dir,
        extra={
            "method": method, "template": template_fingerprint(tokenizer, cfg.train.template),
            "prompts": objectives.fingerprint(),
        },
    )
    if is_complete(out_dir, expected):
        console.print(f"train/{method}: complete, skipped")
        return out_dir
    state = PartialState()
    encoder = Encoder(tokenizer, cfg.train.template, cfg.train.loss_on, cfg.train.max_length)
    train_rows, report = encode_units(encoder, _units(method, train_set, records_path))
    eval_rows, eval_report = encode_units(encoder, _units(method, validation_set, records_path))
    console.print(f"train/{method}: {report.describe()}", highlight=False)
    if eval_report.dropped_ids:
        console.print(f"train/{method} validation: {eval_report.describe()}", highlight=False)
    if not train_rows:
        raise DataError(
            f"train/{method}: every training row is longer than train.max_length="
            f"{cfg.train.max_length} (longest {max(report.longest.values())} tokens); raise it"
        )
    checkpoint = _resume_point(out_dir, expected, cfg.train.resume, state.is_main_process)
    state.wait_for_everyone()
    resuming = f", resuming from {checkpoint}" if checkpoint else ""
    console.print(f"train/{method}: {len(train_rows)} rows{resuming}")
    metrics = fit(
        cfg.train, seed=cfg.seed, weights=methods.weights(method, cfg.train), tokenizer=tokenizer,
        train_rows=train_rows, eval_rows=eval_rows, out_dir=out_dir, checkpoint=checkpoint,
        label=f"train/{method}", callbacks=_curve(cfg, tokenizer, train_set, out_dir),
    )
    if state.is_main_process:
        reports = {"train": report, "validation": eval_report}
        _finish(cfg, method, out_dir, expected, metrics, reports, checkpoint)
    state.wait_for_everyone()
    return out_dir


def _curve(
    cfg: ExperimentConfig, tokenizer: Any, train_set: list[AugmentedExample], out_dir: Path
) -> tuple[LearningCurve, ...]:
    """The learning-curve callback when ``train.eval_steps`` asks for one."""
    if not cfg.train.eval_steps:
        return ()
    problems = curve_problems(cfg, {ex.problem.id for ex in train_set})
    return (LearningCurve(
        problems, tokenizer, template=cfg.train.template, every=cfg.train.eval_steps,
        max_new_tokens=cfg.train.eval_max_new_tokens, batch_size=cfg.evaluate.batch_size,
        path=out_dir / CURVE, dtype=training_dtype(cfg.train),
    ),)


def _units(method: str, examples: list[AugmentedExample], path: Path) -> list[methods.Unit]:
    try:
        return methods.build_units(method, examples)
    except RecordError as err:
        raise RecordError(f"{path}: {err}") from None


def _resume_point(out_dir: Path, expected: dict[str, Any], resume: bool, main: bool) -> str | None:
    """The last checkpoint of an interrupted run with the same fingerprint, or a clean start."""
    checkpoints = out_dir / "checkpoints"
    stamp = checkpoints / "fingerprint.json"
    same = stamp.exists() and json.loads(stamp.read_text()) == json.loads(json.dumps(expected))
    last = _last_complete(checkpoints) if same and resume else None
    if main:
        invalidate(out_dir)
        if last is None:
            shutil.rmtree(checkpoints, ignore_errors=True)
            (out_dir / "losses.jsonl").unlink(missing_ok=True)
            (out_dir / CURVE).unlink(missing_ok=True)
            shutil.rmtree(out_dir / dashboards.TENSORBOARD, ignore_errors=True)
            checkpoints.mkdir(parents=True)
            stamp.write_text(json.dumps(expected, sort_keys=True))
        else:
            repair_jsonl(out_dir / "losses.jsonl")  # a line torn by a kill, with a warning
            for log in ("losses.jsonl", CURVE):
                truncate_log(out_dir / log, checkpoint_step(last))
    return last


def _last_complete(checkpoints: Path) -> str | None:
    """The newest checkpoint whose trainer state was written (the Trainer writes it last)."""
    found = sorted(checkpoints.glob("checkpoint-*"), key=checkpoint_step, reverse=True)
    return next((str(c) for c in found if (c / "trainer_state.json").is_file()), None)


def _finish(
    cfg: ExperimentConfig, method: str, out_dir: Path, expected: dict[str, Any],
    metrics: dict[str, float], reports: dict[str, LengthReport], checkpoint: str | None,
) -> None:
    """Resolved config, summary, checkpoint clean-up, base model id, manifest (last); the
    model card is a view, written by whoever ran the stage (``export.cards``)."""
    resolved = to_dict(dataclasses.replace(cfg, methods=(method,)))
    (out_dir / "config.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False), "utf-8")
    summary = {
        "method": method,
        "dtype": training_dtype(cfg.train),
        "objective_reduction": cfg.train.objective_reduction,
        "rows": reports["train"].kept,
        "length": {split: report.to_json() for split, report in reports.items()},
        "steps": _steps(out_dir / "losses.jsonl"),
        "losses": _first_last(out_dir / "losses.jsonl"),
        "train_seconds": metrics.get("train_runtime"),
    }
    (out_dir / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n", "utf-8")
    shutil.rmtree(out_dir / "checkpoints", ignore_errors=True)
    name_base_model(out_dir / "adapter_config.json", base_model(cfg.train.student).name)
    write_manifest(
        out_dir, expected, **summary, metrics=metrics,
        resumed_from_step=checkpoint_step(checkpoint) if checkpoint else None,
    )
    console.print(f"train/{method}: done -> {out_dir}")


def name_base_model(adapter_config: Path, name: str) -> None:
    """Record ``name`` (the student's Hub id where known) as the adapter's base model.

    peft records the folder the base was loaded from, a converted copy in a local cache for
    GGUF students, so the adapter would load on no other machine. It is set after saving,
    not before: while saving, peft looks a Hub id up on the Hub. A full fine-tune (no such
    file) is a whole model and needs no base.
    """
    if not adapter_config.is_file():
        return
    data = json.loads(adapter_config.read_text(encoding="utf-8"))
    data["base_model_name_or_path"] = name
    adapter_config.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", "utf-8")


def _steps(path: Path) -> int:
    """Optimizer steps taken: the last logged training step."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return max((row["step"] for row in rows if row.get("split") == "train"), default=0)


def _first_last(path: Path) -> dict[str, list[float]]:
    """First and last training value of every loss column, for the manifest and the report."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    rows = [row for row in rows if row.get("split") == "train"]
    keys = [k for k in rows[0] if k.startswith("loss")] if rows else []
    return {k: [rows[0][k], rows[-1][k]] for k in keys}
