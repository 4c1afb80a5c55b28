"""Reading what a run folder holds for the report; a missing stage becomes a note, not a crash.

A run folder is ``runs/<name>/`` with any of ``augment/``, ``train/<method>/``, ``evaluate/``
and ``probe/`` in it (see ``revthink.cli``). Each reader returns nothing when its files are
absent and says so in ``Run.notes``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from revthink.errors import DataError, RecordError
from revthink.records import (
    AugmentedExample,
    Comparison,
    Score,
    from_json,
    iter_jsonl,
    read_jsonl,
)

SAMPLE_SIZE = 3


@dataclass(frozen=True)
class Run:
    """Everything the report shows about one run folder."""

    path: Path
    scores: tuple[Score, ...] = ()
    comparisons: tuple[Comparison, ...] = ()  # paired differences between the run's methods
    losses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # method -> rows
    funnel: dict[str, Any] | None = None
    ledger: dict[str, Any] | None = None
    samples: tuple[AugmentedExample, ...] = ()
    fractions: dict[str, float] = field(default_factory=dict)  # method -> train_fraction
    notes: tuple[str, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)  # config.json of `revthink run`, if any
    # (method, benchmark) -> its evaluation's manifest.json (decode, samples, ...), where read
    manifests: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    probe: dict[str, Any] | None = None  # probe/reversal.json of `revthink probe reversal`
    # method -> rows of train/<method>/curve.jsonl: held-out accuracy while training
    curves: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name


def load_run(path: Path, sample_size: int = SAMPLE_SIZE, seed: int = 0) -> Run:
    """Read every report input of the run folder ``path``."""
    if not path.is_dir():
        raise DataError(f"{path}: run folder not found")
    notes: list[str] = []
    scores = read_scores(path / "evaluate", notes)
    comparisons = read_comparisons(path / "evaluate")
    losses = read_losses(path / "train", notes)
    funnel = _read_json(path / "augment" / "funnel.json", "augmentation funnel", notes)
    ledger = _read_json(path / "augment" / "ledger.json", "teacher ledger", notes)
    samples = read_samples(path / "augment" / "records.jsonl", sample_size, seed, notes)
    fractions = read_fractions(path, notes)
    config = path / "config.json"
    settings = _read_mapping(config, json.loads, notes, "run config") if config.is_file() else None
    manifests = read_evaluation_manifests(path / "evaluate", scores, notes)
    probe = _read_json(path / "probe" / "reversal.json", "reversal probe results", notes)
    curves = read_curves(path / "train", notes)
    return Run(
        path, scores, comparisons, losses, funnel, ledger, samples, fractions, tuple(notes),
        settings or {}, manifests, probe, curves,
    )


def read_scores(folder: Path, notes: list[str]) -> tuple[Score, ...]:
    """The run's scores: ``scores.jsonl`` of the last evaluation, else every ``scores.json``."""
    summary = folder / "scores.jsonl"
    if summary.is_file():
        return tuple(read_jsonl(summary, Score))
    files = sorted(folder.glob("*/*/scores.json"))
    if not files:
        notes.append(f"no evaluation results in {folder}: run `revthink evaluate`")
    return tuple(_score(f) for f in files)


def read_evaluation_manifests(
    folder: Path, scores: tuple[Score, ...], notes: list[str]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The manifest of each score's evaluation, which names its decode; absent ones are left out
    (an evaluation still running, or a score copied without its folder)."""
    found = {}
    for score in scores:
        path = folder / score.method / score.dataset / "manifest.json"
        if not path.is_file():
            continue
        data = _read_mapping(path, json.loads, notes, "evaluation manifest")
        if data is not None:
            found[(score.method, score.dataset)] = data
    return found


def read_comparisons(folder: Path) -> tuple[Comparison, ...]:
    """The paired comparisons of the last evaluation (none before paired statistics existed)."""
    path = folder / "comparisons.jsonl"
    return tuple(read_jsonl(path, Comparison)) if path.is_file() else ()


def read_losses(folder: Path, notes: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Per trained method, the rows of its ``losses.jsonl``."""
    found = {}
    for path in sorted(folder.glob("*/losses.jsonl")):
        rows = _loss_rows(path, notes)
        if rows:
            found[path.parent.name] = rows
    if not found:
        notes.append(f"no training losses in {folder}: loss curves skipped")
    return found


def read_curves(folder: Path, notes: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Per trained method, the rows of its ``curve.jsonl`` (none without ``train.eval_steps``)."""
    found = {}
    for path in sorted(folder.glob("*/curve.jsonl")):
        rows = _loss_rows(path, notes, "learning curve")
        if rows:
            found[path.parent.name] = rows
    return found


def _loss_rows(path: Path, notes: list[str], what: str = "loss curve") -> list[dict[str, Any]]:
    """The logged steps of one file; a torn last line (a killed run) is skipped, others noted."""
    text = _read_text(path, what, notes)
    if text is None:
        return []
    rows, bad = [], 0
    for line in filter(str.strip, text.split("\n")[:-1]):  # [-1]: "" or a torn line
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        if isinstance(row, dict) and isinstance(row.get("step"), int | float):
            rows.append(row)
        else:
            bad += 1
    if bad:
        notes.append(f"{path}: {bad} line(s) skipped, not a JSON object with a 'step'")
    return rows


def read_samples(
    path: Path, size: int, seed: int, notes: list[str]
) -> tuple[AugmentedExample, ...]:
    """A seeded sample of augmented records."""
    if not path.is_file():
        notes.append(f"no augmented records at {path}: samples skipped")
        return ()
    records = list(iter_jsonl(path, AugmentedExample, tolerate_torn_tail=True))
    return tuple(random.Random(seed).sample(records, min(size, len(records))))


def read_fractions(path: Path, notes: list[str]) -> dict[str, float]:
    """``train.train_fraction`` per trained method, from its resolved ``config.yaml``.

    Falls back to the run's ``config.json`` (written by ``revthink run``) for every method.
    """
    fractions = {}
    for config in sorted((path / "train").glob("*/config.yaml")):
        fraction = _train_fraction(config, _read_mapping(config, yaml.safe_load, notes), notes)
        if fraction is not None:
            fractions[config.parent.name] = fraction
    overall = path / "config.json"
    if not fractions and overall.is_file():
        data = _read_mapping(overall, json.loads, notes)
        fraction = _train_fraction(overall, data, notes)
        methods = data.get("methods") if data is not None else None
        if fraction is not None and isinstance(methods, list):
            fractions = {m: fraction for m in methods if isinstance(m, str) and m != "zero_shot"}
    return fractions


def _train_fraction(path: Path, data: dict[str, Any] | None, notes: list[str]) -> float | None:
    if data is None:
        return None
    train = data.get("train", {})
    value = train.get("train_fraction", 1.0) if isinstance(train, dict) else train
    if isinstance(value, bool) or not isinstance(value, int | float):
        notes.append(f"{path}: key 'train.train_fraction' is not a number; data fraction skipped")
        return None
    return float(value)


def _score(path: Path) -> Score:
    try:
        return from_json(Score, json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RecordError(f"{path}: unreadable ({err}); rerun `revthink evaluate`") from None
    except RecordError as err:
        raise RecordError(f"{path}: {err}") from None


def _read_json(path: Path, what: str, notes: list[str]) -> dict[str, Any] | None:
    if not path.is_file():
        notes.append(f"no {what} at {path}")
        return None
    return _read_mapping(path, json.loads, notes, what)


def _read_mapping(
    path: Path, parse: Callable[[str], Any], notes: list[str], what: str = "file"
) -> dict[str, Any] | None:
    """The mapping ``parse`` finds in ``path``; None, and a note saying why, when there is none."""
    text = _read_text(path, what, notes)
    if text is None:
        return None
    try:
        data = parse(text)
    except (ValueError, yaml.YAMLError) as err:  # json.JSONDecodeError is a ValueError
        notes.append(f"{path}: unreadable ({' '.join(str(err).split())}), {what} skipped")
        return None
    if not isinstance(data, dict):
        notes.append(f"{path}: expected a mapping, got {type(data).__name__}; {what} skipped")
        return None
    return data


def _read_text(path: Path, what: str, notes: list[str]) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        notes.append(f"{path}: not UTF-8 text (byte {err.start}), {what} skipped")
    except OSError as err:
        notes.append(f"{path}: cannot be read ({err.strerror}), {what} skipped")
    return None
