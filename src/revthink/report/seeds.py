"""Runs that differ only in their seed, summed up: mean and spread, and paired results per seed.

A sweep over seeds (``revthink.sweep``) gives several runs of one setting. Runs are grouped by
their ``config.json`` (defaults filled in) without ``name``, ``output_dir`` and ``seed``; a
group is labelled by the settings that tell it from the other groups (``train_fraction=0.1``).
Accuracy is summed up over seeds (mean, sample standard deviation, min-max, how many seeds).
Paired differences are shown seed by seed, with how many of the seeds' intervals exclude 0 (a
difference that holds on every seed is worth more than one mean), and over seeds: the pooled
difference with a two-stage bootstrap interval (seeds, then problems). Methods are also compared
with skd of every other setting, seed by seed on the same problems: the paper's claim that
RevThink on 10% of the data beats skd on all of it is the row ``revthink`` of
``train_fraction=0.1`` against skd of ``train_fraction=1.0``.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from revthink.config import ExperimentConfig, build, to_dict
from revthink.errors import RecordError, RevthinkError
from revthink.evaluate.paired import BASELINES, compare, pooled_interval
from revthink.records import Comparison, Prediction, Score, read_jsonl
from revthink.report.collect import Run
from revthink.report.tables import Grid, format_comparison

NOT_SETTINGS = ("name", "output_dir", "seed")


@dataclass(frozen=True)
class SeedGroup:
    """The runs of one setting, one a seed, in the order given."""

    setting: str
    runs: tuple[Run, ...]

    @property
    def seeds(self) -> tuple[Any, ...]:
        return tuple(run.config.get("seed") for run in self.runs)


def seed_groups(runs: Sequence[Run]) -> list[SeedGroup]:
    """Groups of runs equal in all but the seed; empty unless some setting has several seeds.

    Runs without ``config.json`` (made stage by stage) cannot be matched and are left out.
    """
    grouped: dict[str, list[Run]] = {}
    for run in runs:
        if run.config:
            grouped.setdefault(_key(_with_defaults(run.config)), []).append(run)
    if not any(len(members) > 1 for members in grouped.values()):
        return []
    flat = {key: dict(_flatten(json.loads(key), "")) for key in grouped}
    differing = sorted({k for f in flat.values() for k in f
                        if len({json.dumps(g.get(k)) for g in flat.values()}) > 1})
    return [
        SeedGroup(_label(flat[key], differing), tuple(members))
        for key, members in grouped.items()
    ]


def _with_defaults(config: dict[str, Any]) -> dict[str, Any]:
    """The config with every default filled in: a setting added to revthink after a run was
    made reads as its default there, not as a difference between runs."""
    try:
        return to_dict(build(ExperimentConfig, config, source="config.json"))
    except RevthinkError:
        return config  # from another version of revthink: compared as written


def _key(config: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in config.items() if k not in NOT_SETTINGS}, sort_keys=True)


def _label(settings: dict[str, Any], differing: list[str]) -> str:
    if not differing:
        return "all runs"
    return ", ".join(f"{key.rsplit('.', 1)[-1]}={settings.get(key)}" for key in differing)


def _flatten(data: dict[str, Any], prefix: str) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            pairs += _flatten(value, f"{prefix}{key}.")
        else:
            pairs.append((f"{prefix}{key}", value))
    return pairs


ACCURACY_HEADER = ("setting", "method", "benchmark", "seeds", "mean", "sd", "min-max",
                   "no final answer", "asks a question")


def accuracy_grid(groups: Sequence[SeedGroup]) -> Grid:
    """Per setting, method and benchmark: strict accuracy over seeds, and failure rates."""
    rows = []
    for group in groups:
        for (method, dataset), scores in _by_pair(group).items():
            values = [100 * s.accuracy for s in scores]
            rows.append((
                group.setting, method, dataset, str(len(scores)), f"{statistics.mean(values):.1f}",
                f"{statistics.stdev(values):.1f}" if len(values) > 1 else "–",
                f"{min(values):.1f}-{max(values):.1f}",
                f"{statistics.mean(s.extraction_failure_rate for s in scores):.0%}",
                f"{statistics.mean(s.question_rate for s in scores):.0%}",
            ))
    return Grid(ACCURACY_HEADER, tuple(rows))


PAIRED_HEADER = ("setting", "method", "- baseline", "benchmark", "per seed [95%]",
                 "over seeds [95%]", "seeds excluding 0")


def paired_grid(groups: Sequence[SeedGroup]) -> Grid:
    """Per setting: each method minus zero_shot and minus skd, seed by seed (points)."""
    rows = []
    for group in groups:
        found = _by_comparison(group)
        for (method, baseline, dataset), per_seed in found.items():
            rows.append((group.setting, method, baseline, dataset, *_over_seeds(per_seed)))
    return Grid(PAIRED_HEADER, tuple(rows))


CROSS_HEADER = ("method", "setting", "- skd of", "benchmark", "per seed [95%]",
                "over seeds [95%]", "seeds excluding 0")


def cross_grid(groups: Sequence[SeedGroup]) -> Grid:
    """Each method of each setting minus skd of every other setting, seed by seed (points).

    Runs pair up by seed; a seed whose two runs answered different problems is left out.
    """
    rows = []
    for group in groups:
        for other in (g for g in groups if g is not group):
            baseline = {seed: run for seed, run in zip(other.seeds, other.runs, strict=True)}
            per_method: dict[tuple[str, str], list[tuple[Any, Comparison]]] = {}
            for seed, run in zip(group.seeds, group.runs, strict=True):
                if seed in baseline:
                    for c in _against_skd(run, baseline[seed]):
                        per_method.setdefault((c.method, c.dataset), []).append((seed, c))
            for (method, dataset), per_seed in per_method.items():
                rows.append((method, group.setting, other.setting, dataset,
                             *_over_seeds(per_seed)))
    return Grid(CROSS_HEADER, tuple(rows))


def _against_skd(run: Run, other: Run) -> list[Comparison]:
    """Every trained method of ``run`` minus skd of ``other``, per benchmark both evaluated."""
    found = []
    skd: dict[str, list[Prediction]] = {}
    for score in run.scores:
        if score.method == "zero_shot":
            continue
        if score.dataset not in skd:  # read once per benchmark, not once per method
            skd[score.dataset] = _predictions(other, "skd", score.dataset)
        ours, theirs = _predictions(run, score.method, score.dataset), skd[score.dataset]
        if ours and theirs:
            try:
                found.append(dataclasses.replace(compare(ours, theirs), dataset=score.dataset))
            except RecordError:  # other problems: nothing to pair
                continue
    return found


def _predictions(run: Run, method: str, benchmark: str) -> list[Prediction]:
    path = run.path / "evaluate" / method / benchmark / "predictions.jsonl"
    return read_jsonl(path, Prediction) if path.is_file() else []


def _over_seeds(per_seed: Sequence[tuple[Any, Comparison]]) -> tuple[str, str, str]:
    """The cells of one comparison over seeds: each seed's, the pooled one (two-stage
    interval), and how many seeds' intervals exclude 0."""
    above = sum(c.ci_low > 0 for _, c in per_seed)
    below = sum(c.ci_high < 0 for _, c in per_seed)
    difference, low, high = pooled_interval([(c.wins, c.losses, c.n) for _, c in per_seed])
    return (
        "; ".join(f"s{seed} {format_comparison(c)}" for seed, c in per_seed),
        f"{100 * difference:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]",
        f"{above + below}/{len(per_seed)} ({above} above, {below} below)",
    )


def _by_pair(group: SeedGroup) -> dict[tuple[str, str], list[Score]]:
    found: dict[tuple[str, str], list[Score]] = {}
    for run in group.runs:
        for score in run.scores:
            found.setdefault((score.method, score.dataset), []).append(score)
    return found


def _by_comparison(group: SeedGroup) -> dict[tuple[str, str, str], list[tuple[Any, Comparison]]]:
    """(method, baseline, benchmark) -> (seed, comparison) for every baseline comparison."""
    found: dict[tuple[str, str, str], list[tuple[Any, Comparison]]] = {}
    for seed, run in zip(group.seeds, group.runs, strict=True):
        for c in run.comparisons:
            if c.baseline in BASELINES and c.method != c.baseline:
                found.setdefault((c.method, c.baseline, c.dataset), []).append((seed, c))
    return found

