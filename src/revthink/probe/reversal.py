"""`revthink probe reversal CONFIG`: does the student know its facts both ways round?

    revthink probe reversal configs/reversal_probe.yaml [probe.people=8 ...]

Fictional facts (the reversal-curse data, see ``probe.facts``): the student (``train.student``
with ``train.lora``) is fine-tuned on a seeded subset of the person -> description facts, once on
the facts alone (``facts``) and once on each fact plus its rule-made backward question
(``facts_backward``: RevThink's extra direction, see ``probe.questions``). Each variant, and the
student before fine-tuning (``untuned``), answers held-out questions forward (person ->
description) and reverse (description -> person): exact match of its greedy answer, whether the
right completion is likelier than the other people's (``choice``), and the mean log-probability
of the right completion.

Celebrities, without fine-tuning: every student the run has (``zero_shot``: the base model; each
trained method of ``methods:``: its adapter from ``revthink train``) gives the log-probability
of a parent given the child and of the child given the parent, overall and split by the data's
``can_reverse``.

Writes ``runs/<name>/probe/``: ``reversal.json``, the variants' adapters (``facts/``,
``facts_backward/``) and ``manifest.json``, last. A rerun with the same config, data and trained
students does nothing. With ``probe: {enabled: true}``, ``revthink run`` runs the probe after
evaluation (the same folder, the same skip), and the report shows it under "Reverse skills".
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from revthink.config import EvaluateConfig, ExperimentConfig, TrainConfig, config_hash
from revthink.errors import DataError
from revthink.evaluate.engine_hf import HFEngine
from revthink.manifest import MANIFEST, fingerprint, invalidate, is_complete, write_manifest
from revthink.method_names import UNTRAINED
from revthink.models import load_tokenizer
from revthink.probe import facts as data
from revthink.probe import measure, questions
from revthink.probe.facts import CelebrityPair, Fact, FactSample
from revthink.probe.scoring import beats_all, exact_match, mean
from revthink.prompting import template_fingerprint
from revthink.train.collator import Encoder, encode_units
from revthink.train.objectives import ObjectiveExample
from revthink.train.trainer import fit

console = Console(stderr=True)
RESULTS = "reversal.json"
VARIANTS: dict[str, tuple[Callable[[Fact], ObjectiveExample], ...]] = {
    "facts": (questions.fact,),
    "facts_backward": (questions.fact, questions.backward),
}


def run(cfg: ExperimentConfig) -> Path:
    """Fine-tune and score both variants, score the run's students; ``reversal.json``'s path."""
    out = cfg.run_dir / "probe"
    folder = data.data_folder(cfg.probe.data_dir)
    tokenizer = load_tokenizer(cfg.train.student)
    students = _students(cfg)
    expected = _fingerprint(cfg, folder, tokenizer, students)
    if is_complete(out, expected):
        console.print("probe/reversal: complete, skipped")
        return out / RESULTS
    invalidate(out)
    start = time.perf_counter()
    sample = data.sample_facts(
        folder, people=cfg.probe.people, facts_per_person=cfg.probe.facts_per_person,
        tests_per_person=cfg.probe.tests_per_person, seed=cfg.seed,
    )
    console.print(
        f"probe/reversal: {len(sample.people)} people, {len(sample.train)} training facts, "
        f"{len(sample.forward)} forward and {len(sample.reverse)} reverse test questions"
    )
    trained = {name: train_variant(cfg, name, tokenizer, sample.train, out) for name in VARIANTS}
    engine = _engine(cfg, tokenizer, sample)
    results: dict[str, Any] = {
        "student": cfg.train.student.path, "people": list(sample.people),
        "train": {name: info for name, (_, info) in trained.items()}, "facts": {},
    }
    for name, weights in [("untuned", None), *((n, f) for n, (f, _) in trained.items())]:
        engine.use_weights(weights)
        results["facts"][name] = score_facts(engine, cfg, name, sample)
    results["celebrities"] = _celebrities(engine, cfg, folder, students)
    engine.close()
    results["seconds"] = round(time.perf_counter() - start, 1)
    (out / RESULTS).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    write_manifest(out, expected, outputs=[RESULTS], seconds=results["seconds"])
    return out / RESULTS


def _fingerprint(
    cfg: ExperimentConfig, folder: Path, tokenizer: Any, students: dict[str, Path | None]
) -> dict[str, Any]:
    """Probe settings, data files, the trained students' manifests, template and wordings."""
    inputs = [folder / name for name in (data.TRAIN, data.FORWARD_TEST, data.REVERSE_TEST)]
    inputs += [folder / data.PAIRS] if cfg.probe.pairs else []
    inputs += [path / MANIFEST for path in students.values() if path is not None]
    return fingerprint(  # the same whether `revthink run` (enabled) or the command runs it
        dataclasses.replace(cfg.probe, enabled=False), inputs, cfg.seed,
        extra={
            "train": config_hash(cfg.train), "students": list(students),
            "template": template_fingerprint(tokenizer, cfg.train.template),
            "wording": questions.fingerprint(),
        },
        root=cfg.run_dir,
    )


def _celebrities(
    engine: HFEngine, cfg: ExperimentConfig, folder: Path, students: dict[str, Path | None]
) -> dict[str, Any]:
    """``score_pairs`` of every student on the same seeded pairs; none when ``probe.pairs`` is 0."""
    if not cfg.probe.pairs:
        return {}
    pairs = data.sample_pairs(data.read_pairs(folder / data.PAIRS), cfg.probe.pairs, cfg.seed)
    scores = {}
    for name, weights in students.items():
        engine.use_weights(weights)
        scores[name] = score_pairs(engine, cfg, name, pairs)
    return scores


def _students(cfg: ExperimentConfig) -> dict[str, Path | None]:
    """``zero_shot`` (the base model) and every trained method of the run, by adapter folder."""
    found: dict[str, Path | None] = {"zero_shot": None}
    for method in cfg.methods:
        folder = cfg.run_dir / "train" / method
        if method in UNTRAINED:
            continue
        if (folder / MANIFEST).is_file():
            found[method] = folder
        else:
            console.print(f"probe/reversal: {method} is not trained yet ({folder}); left out")
    return found


def probe_training(cfg: ExperimentConfig) -> TrainConfig:
    """The run's training settings with the probe's budget.

    The objective losses are summed, not averaged: the facts' loss keeps its full weight in
    both variants (a mean would halve it beside the backward questions), and the backward
    questions come on top, as extra data would.
    """
    p = cfg.probe
    return dataclasses.replace(
        cfg.train, epochs=p.epochs, max_steps=-1, learning_rate=p.learning_rate,
        batch_size=p.batch_size, grad_accum=1, objective_reduction="sum", train_fraction=1.0,
        validation_fraction=0.0, save_steps=1_000_000, resume=False, report_to=(),
    )


def train_variant(
    cfg: ExperimentConfig, name: str, tokenizer: Any, facts: Sequence[Fact], out: Path
) -> tuple[Path, dict[str, Any]]:
    """Fine-tune a fresh LoRA on ``facts`` as variant ``name``; its folder and a summary."""
    units = [{ex.objective: ex for ex in (make(f) for make in VARIANTS[name])} for f in facts]
    encoder = Encoder(tokenizer, cfg.train.template, cfg.train.loss_on, cfg.train.max_length)
    rows, report = encode_units(encoder, units)
    if not rows:
        raise DataError(f"probe/{name}: {report.describe()}")
    folder = out / name
    shutil.rmtree(folder, ignore_errors=True)
    metrics = fit(
        probe_training(cfg), seed=cfg.seed, weights=dict.fromkeys(units[0], 1.0),
        tokenizer=tokenizer, train_rows=rows, eval_rows=[], out_dir=folder, checkpoint=None,
        label=f"probe/{name}",
    )
    shutil.rmtree(folder / "checkpoints", ignore_errors=True)
    return folder, {
        "rows": len(rows), "objectives": list(units[0]),
        "loss": metrics.get("train_loss"), "seconds": metrics.get("train_runtime"),
    }


def _engine(cfg: ExperimentConfig, tokenizer: Any, sample: FactSample) -> HFEngine:
    """Greedy generation long enough for the longest test completion, and a little more."""
    longest = max(
        len(tokenizer(f.completion, add_special_tokens=False).input_ids)
        for f in (*sample.forward, *sample.reverse)
    )
    settings = EvaluateConfig(
        max_new_tokens=longest + 4, batch_size=cfg.probe.batch_size, stop_after_answer=False,
        merge_lora=cfg.evaluate.merge_lora, threads=cfg.evaluate.threads,
    )
    return HFEngine(settings, cfg.train.student, tokenizer, cfg.seed)


def score_facts(
    engine: HFEngine, cfg: ExperimentConfig, name: str, sample: FactSample
) -> dict[str, Any]:
    """Exact match, ranking among the people, completion log-probability; forward and reverse."""
    scores = {}
    for direction, tests in (("forward", sample.forward), ("reverse", sample.reverse)):
        console.print(f"probe/reversal: {name}, {direction} ({len(tests)} questions)")
        scores[direction] = _score_tests(engine, cfg, tests, sample.wrong)
    return scores


def _score_tests(
    engine: HFEngine, cfg: ExperimentConfig, tests: Sequence[Fact],
    wrong: dict[str, tuple[str, ...]],
) -> dict[str, Any]:
    """One direction's measures, for ``reversal.json``.

    ``choice`` is the share of questions whose right completion is likelier than the other
    people's answers to it (``FactSample.wrong``), per token, so that a long description does
    not lose to a short one for its length alone; ``choice_chance`` is what guessing scores.
    """
    examples = [questions.fact(f) for f in tests]
    template = cfg.train.template
    answers = measure.greedy(engine, engine.tokenizer, template, examples)
    asked = [
        [ex, *(dataclasses.replace(ex, completion=w.strip()) for w in wrong[f.where])]
        for f, ex in zip(tests, examples, strict=True)
    ]
    found = iter(measure.logprobs(
        engine.model, engine.tokenizer, template, [ex for group in asked for ex in group],
        cfg.probe.batch_size,
    ))
    scored = [[next(found) for _ in group] for group in asked]  # [(sum, tokens), ...] per test
    per_token = [[total / max(1, count) for total, count in group] for group in scored]
    ranked = [beats_all(group[0], group[1:]) for group in per_token]
    return {
        "n": len(examples),
        "exact_match": mean([
            float(exact_match(a, ex.completion)) for a, ex in zip(answers, examples, strict=True)
        ]),
        "choice": mean([float(r) for r in ranked if r is not None]),
        "choice_chance": mean([1 / len(group) for group in asked if len(group) > 1]),
        "logprob": mean([group[0][0] for group in scored]),
        "logprob_per_token": mean([group[0] for group in per_token]),
        "samples": [
            {"prompt": ex.messages[-1].content, "completion": ex.completion, "answer": a}
            for ex, a in list(zip(examples, answers, strict=True))[:3]
        ],
    }


def score_pairs(
    engine: HFEngine, cfg: ExperimentConfig, name: str, pairs: Sequence[CelebrityPair]
) -> dict[str, Any]:
    """Mean completion log-probability per direction, for all pairs and by ``can_reverse``."""
    console.print(f"probe/reversal: celebrities, {name} ({len(pairs)} pairs, both directions)")
    asked = {
        "child_to_parent": questions.child_to_parent, "parent_to_child": questions.parent_to_child,
    }
    found = {
        direction: [total for total, _ in measure.logprobs(
            engine.model, engine.tokenizer, cfg.train.template, [make(p) for p in pairs],
            cfg.probe.batch_size,
        )]
        for direction, make in asked.items()
    }
    groups = {
        "all": [True] * len(pairs),
        "can_reverse": [p.can_reverse for p in pairs],
        "cannot_reverse": [not p.can_reverse for p in pairs],
    }
    return {
        group: {"n": sum(keep)} | {
            direction: mean([v for v, k in zip(values, keep, strict=True) if k])
            for direction, values in found.items()
        }
        for group, keep in groups.items()
    }
