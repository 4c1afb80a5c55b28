"""`revthink run CONFIG`: augment -> train -> evaluate [-> probe] -> report, in one command.

The reversal probe (``revthink probe reversal``) joins the run when its config says
``probe: {enabled: true}``; it comes after evaluation, so the report shows its results too.

Model cards and the report are views of the stages' outputs, written here after the stages
(and by `revthink train`, `evaluate`, `report` and `export`), never by a stage itself.

Each stage decides for itself whether it is finished (its manifest matches) or must resume,
so running the same config twice does no work the second time and an interrupted run picks
up where it stopped. ``timings.json`` keeps the time of a stage's last real work: a stage
skipped as finished leaves its time as it was, and a finished run writes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from revthink.config import ExperimentConfig, to_dict
from revthink.files import update_file
from revthink.manifest import MANIFEST
from revthink.method_names import trained
from revthink.terminal import table_console

console = Console(stderr=True)
TIMINGS = "timings.json"  # stage -> seconds of its last run that did work


def run(cfg: ExperimentConfig) -> Path:
    """Run every stage of ``cfg``; returns the path of ``report.html``."""
    from revthink.augment.stage import run as augment
    from revthink.evaluate.stage import run as evaluate
    from revthink.report.stage import results_table
    from revthink.report.stage import run as report
    from revthink.train.dashboards import require
    from revthink.train.stage import run as train

    require(cfg.train.report_to)  # a missing logger package fails now, not after augmentation
    run_dir = cfg.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    update_file(run_dir / "config.json", json.dumps(to_dict(cfg), indent=2))
    timings = _read_timings(run_dir / TIMINGS)
    stages: list[tuple[str, Callable[[], Path]]] = []
    if trained(cfg.methods):  # zero_shot alone needs no training data
        stages += [("augment", lambda: augment(cfg)), ("train", lambda: with_cards(train, cfg))]
    stages.append(("evaluate", lambda: with_cards(evaluate, cfg)))
    if cfg.probe.enabled:
        from revthink.probe.reversal import run as probe

        stages.append(("probe", lambda: probe(cfg)))
    stages.append(("report", lambda: report([run_dir], None)))
    html = run_dir
    for number, (name, stage) in enumerate(stages, start=1):
        console.rule(f"[bold]stage {number}/{len(stages)}: {name}")
        manifests = _manifests(run_dir / name)
        start = time.perf_counter()
        html = stage()
        seconds = round(time.perf_counter() - start, 1)
        console.print(f"{name}: {seconds:.1f} s")
        if name not in timings or _manifests(run_dir / name) != manifests:
            timings[name] = seconds  # the stage worked (or has no time yet): its time now
    update_file(run_dir / TIMINGS, json.dumps(timings, indent=2))
    table_console().print(results_table([run_dir]))
    console.print(f"report: {html}")
    return html


def with_cards(stage: Callable[[ExperimentConfig], Path], cfg: ExperimentConfig) -> Path:
    """Run a stage that makes or scores weights, then refresh the model card of every trained
    method (a view of the run: the stages themselves write only their own outputs)."""
    from revthink.export.cards import write_model_cards

    out = stage(cfg)
    write_model_cards(cfg.run_dir)
    return out


def _read_timings(path: Path) -> dict[str, float]:
    """The stage times of earlier runs; none when the file is missing or damaged."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, int | float)}


def _manifests(folder: Path) -> dict[Path, int]:
    """The stage's manifests and their times: unchanged after the stage means it did no work
    (the report has none, so its first time stays; it takes a second)."""
    return {p: p.stat().st_mtime_ns for p in folder.rglob(MANIFEST)} if folder.is_dir() else {}
