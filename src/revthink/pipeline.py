"""`revthink run CONFIG`: augment -> train -> evaluate [-> probe] -> report, in one command.

The reversal probe (``revthink probe reversal``) joins the run when its config says
``probe: {enabled: true}``; it comes after evaluation, so the report shows its results too.

Each stage decides for itself whether it is finished (its manifest matches) or must resume,
so running the same config twice does no work the second time and an interrupted run picks
up where it stopped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from revthink.config import ExperimentConfig, to_dict
from revthink.terminal import table_console

console = Console(stderr=True)


def run(cfg: ExperimentConfig) -> Path:
    """Run every stage of ``cfg``; returns the path of ``report.html``."""
    from revthink.augment.stage import run as augment
    from revthink.evaluate.stage import run as evaluate
    from revthink.report.stage import results_table
    from revthink.report.stage import run as report
    from revthink.train.dashboards import require
    from revthink.train.methods import trained
    from revthink.train.stage import run as train

    require(cfg.train.report_to)  # a missing logger package fails now, not after augmentation
    run_dir = cfg.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(to_dict(cfg), indent=2), encoding="utf-8")
    timings: dict[str, float] = {}
    stages: list[tuple[str, Callable[[], Path]]] = []
    if trained(cfg.methods):  # zero_shot alone needs no training data
        stages += [("augment", lambda: augment(cfg)), ("train", lambda: train(cfg))]
    stages.append(("evaluate", lambda: evaluate(cfg)))
    if cfg.probe.enabled:
        from revthink.probe.reversal import run as probe

        stages.append(("probe", lambda: probe(cfg)))
    stages.append(("report", lambda: report([run_dir], None)))
    html = run_dir
    for number, (name, stage) in enumerate(stages, start=1):
        console.rule(f"[bold]stage {number}/{len(stages)}: {name}")
        start = time.perf_counter()
        html = stage()
        timings[name] = round(time.perf_counter() - start, 1)
        console.print(f"{name}: {timings[name]:.1f} s")
    (run_dir / "timings.json").write_text(json.dumps(timings, indent=2), encoding="utf-8")
    table_console().print(results_table([run_dir]))
    console.print(f"report: {html}")
    return html
