"""`revthink report RUN_DIR [RUN_DIR ...]`: report.md and a self-contained report.html.

    revthink report runs/quickstart
    revthink report runs/frac10 runs/frac50 runs/frac100 --out runs/fractions-report
    revthink report runs/synthetic_study        # a sweep: every combination's run folder

Shows the method x benchmark accuracy table (95% intervals, best per column marked) and its bar
chart, per-objective loss curves, the augmentation funnel and teacher ledger, sample augmented
records, and, when the runs differ in ``train.train_fraction``, accuracy against the share of
training data (the mean over seeds). Runs that differ only in their seed (a sweep's folder
stands for its combinations' run folders) are also summed up per setting: accuracy and failure
rates as mean, spread and number of seeds, and each paired difference seed by seed with how
many seeds' intervals exclude 0. "Reverse skills" (``revthink.report.reverse``) puts
backward-benchmark accuracy beside forward accuracy, compares decode strategies and shows the
reversal probe. Writes into ``OUT`` (default ``<first run>/report/``) the two reports and their
PNG figures. A stage a run has not done is mentioned, never fatal.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Group

from revthink.errors import DataError
from revthink.files import update_file
from revthink.layout import combination_folders
from revthink.records import Score
from revthink.report import plots, reverse, seeds
from revthink.report.collect import Run, load_run, read_comparisons, read_scores
from revthink.report.render import Plot, Sample, Section, Text, render_html, render_markdown
from revthink.report.tables import (
    Grid,
    Results,
    arrange,
    details_grid,
    key_values,
    paired_grid,
    results_grid,
    to_rich,
    to_text,
)

TERMINAL_TITLE = "accuracy (%) [95% interval]"
PAIRED_TITLE = "paired differences (points) [95% paired-bootstrap interval], McNemar p"
TABLE_NOTE = (
    "Strict accuracy in percent with its 95% bootstrap interval. A method is in bold only where "
    "its paired 95% interval against every other method of the benchmark excludes 0."
)
PAIRED_NOTE = (
    "Every method answered the same problems, so methods are compared paired: the difference "
    "in accuracy (percentage points) to zero_shot and to skd, with its 95% paired-bootstrap "
    "interval (problems resampled, seeded) and the exact McNemar p-value. 'no final answer': "
    "outputs without the final-answer sentence; 'asks a question': outputs that end with a "
    "question instead of an answer."
)


def run(run_dirs: list[Path], out: Path | None = None) -> Path:
    """Write the report of ``run_dirs``; returns the path of ``report.html``."""
    runs = [load_run(d) for d in run_folders(run_dirs)]
    out = out or Path(run_dirs[0]) / "report"
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: is a file; the report needs a folder (--out)")
    out.mkdir(parents=True, exist_ok=True)
    title = "RevThink report: " + ", ".join(Path(d).name for d in run_dirs)
    sections = build_sections(runs)
    for plot in (b for s in sections for b in s.blocks if isinstance(b, Plot)):
        update_file(out / plot.file, plot.png)
    update_file(out / "report.md", render_markdown(title, sections))
    html_path = out / "report.html"
    update_file(html_path, render_html(title, sections))
    return html_path


RUN_MARKS = ("augment", "train", "evaluate", "probe", "config.json")  # what a run folder holds


def run_folders(run_dirs: Sequence[Path]) -> list[Path]:
    """The run folders to read, each once: a sweep's folder stands for its combinations'.

    A folder given twice (``runs/x`` and ``./runs/x/``) is read once, or its one run would
    count as two seeds; a folder that holds no stage's output is refused, not reported on.
    """
    found: dict[Path, Path] = {}
    for given in map(Path, run_dirs):
        for folder in combination_folders(given) or [given]:
            if not folder.is_dir():
                raise DataError(f"{folder}: run folder not found")
            if not any((folder / mark).exists() for mark in RUN_MARKS):
                raise DataError(
                    f"{folder}: not a run folder (none of {', '.join(RUN_MARKS)} in it); give "
                    "runs/<name> of a `revthink run`, or a sweep's folder"
                )
            found.setdefault(folder.resolve(), folder)
    return list(found.values())


def results_table(run_dirs: Sequence[Path]) -> Group:
    """The accuracy and paired tables for the terminal (what `revthink run` prints at the end)."""
    accuracy, paired = _terminal_grids(run_dirs)
    return Group(to_rich(accuracy, title=TERMINAL_TITLE), to_rich(paired, title=PAIRED_TITLE))


def sweep_table(run_dirs: Sequence[Path]) -> Group:
    """What a sweep prints at the end: the over-seeds tables, or all runs' if it has no seeds."""
    folders = run_folders(run_dirs)
    groups = seeds.seed_groups([load_run(d) for d in folders])
    if not groups:
        return results_table(folders)
    tables = [to_rich(seeds.accuracy_grid(groups), title="accuracy (%) over seeds"),
              to_rich(seeds.paired_grid(groups), title="paired differences per seed")]
    cross = seeds.cross_grid(groups)
    if cross.rows:
        tables.append(to_rich(cross, title="each method against skd of the other settings"))
    return Group(*tables)


def results_text(run_dirs: Sequence[Path]) -> str:
    """The same tables as plain text, for logs and notes."""
    accuracy, paired = _terminal_grids(run_dirs)
    return to_text(accuracy, title=TERMINAL_TITLE) + to_text(paired, title=PAIRED_TITLE)


def _terminal_grids(run_dirs: Sequence[Path]) -> tuple[Grid, Grid]:
    runs = [
        (Path(d).name, read_scores(Path(d) / "evaluate", []),
         read_comparisons(Path(d) / "evaluate"))
        for d in run_dirs
    ]
    results = combined_results(runs)
    return results_grid(results), paired_grid(results)


def combined_results(runs: Sequence[tuple[str, Sequence, Sequence]]) -> Results:
    """Scores and comparisons of all runs in one table; rows are ``run/method`` when there are
    several runs, and only methods of the same run are compared."""
    several = len(runs) > 1

    def label(name: str, method: str) -> str:
        return f"{name}/{method}" if several else method

    return arrange(
        [(label(name, score.method), score) for name, scores, _ in runs for score in scores],
        [(label(name, c.method), label(name, c.baseline), c) for name, _, pairs in runs
         for c in pairs],
    )


def build_sections(runs: list[Run]) -> list[Section]:
    """Every section of the report, in reading order."""
    results = combined_results([(r.name, r.scores, r.comparisons) for r in runs])
    groups = seeds.seed_groups(runs)
    sections = [seeds_section(groups)] if groups else []
    sections.append(results_section(results))
    fraction = fraction_section(runs)
    if fraction is not None:
        sections.append(fraction)
    skills, missing = reverse.section(
        runs, lambda run, method: f"{run.name}/{method}" if len(runs) > 1 else method
    )
    sections += [skills] if skills is not None else []
    for run in runs:
        suffix = f": {run.name}" if len(runs) > 1 else ""
        sections += [
            training_section(run, suffix), augmentation_section(run, suffix),
            samples_section(run, suffix),
        ]
    notes = [Text(f"{run.name}: {note}") for run in runs for note in run.notes]
    notes += [Text(note) for note in missing]
    if notes:
        sections.append(Section("Not shown", tuple(notes)))
    return sections


def results_section(results: Results) -> Section:
    if not results.cells:
        return Section("Results", (Text("No evaluation results yet: run `revthink evaluate`."),))
    chart = Plot("accuracy.png", "Accuracy per benchmark and method (95% intervals)",
                 plots.accuracy_chart(results))
    return Section("Results", (
        Text(TABLE_NOTE), results_grid(results), chart, Text(PAIRED_NOTE), paired_grid(results),
        details_grid(results),
    ))


SEEDS_NOTE = (
    "Runs that differ only in their seed, per setting: strict accuracy in percent as the mean "
    "over seeds, its sample standard deviation and range; failure rates are means. Each seed "
    "draws its own training and test problems."
)
SEEDS_PAIRED_NOTE = (
    "Paired differences (points) of each method to zero_shot and to skd, seed by seed, with "
    "their 95% paired-bootstrap intervals and McNemar p-values; over seeds, the pooled "
    "difference with a two-stage bootstrap interval (seeds drawn with replacement, then each "
    "drawn seed's problems); and how many seeds' intervals exclude 0 (above: the method is "
    "better)."
)
SEEDS_CROSS_NOTE = (
    "Each method of one setting minus skd of another, on the same problems seed by seed (for "
    "example RevThink on 10% of the training data against skd on all of it)."
)


def seeds_section(groups: list[seeds.SeedGroup]) -> Section:
    blocks = [Text(SEEDS_NOTE), seeds.accuracy_grid(groups), Text(SEEDS_PAIRED_NOTE),
              seeds.paired_grid(groups)]
    cross = seeds.cross_grid(groups)
    if cross.rows:
        blocks += [Text(SEEDS_CROSS_NOTE), cross]
    return Section("Over seeds", tuple(blocks))


def fraction_section(runs: list[Run]) -> Section | None:
    """Accuracy against ``train_fraction``, when the runs used more than one fraction.

    A point is one run's accuracy with its 95% interval, or, where several runs (seeds) share
    the fraction, their mean with their range.
    """
    found: dict[str, dict[str, dict[float, list[Score]]]] = {}
    untrained: dict[str, dict[Path, float]] = {}
    for run in runs:
        for score in run.scores:
            fraction = run.fractions.get(score.method)
            if fraction is not None:
                curve = found.setdefault(score.dataset, {}).setdefault(score.method, {})
                curve.setdefault(fraction, []).append(score)
            elif score.method == "zero_shot":
                untrained.setdefault(score.dataset, {})[run.path] = score.accuracy
    fractions = {f for lines in found.values() for curve in lines.values() for f in curve}
    if len(fractions) < 2:
        return None
    curves = {
        dataset: {method: [_point(f, scores) for f, scores in curve.items()]
                  for method, curve in lines.items()}
        for dataset, lines in found.items()
    }
    baselines = {dataset: statistics.fmean(by_run.values())
                 for dataset, by_run in untrained.items() if dataset in curves}
    several = any(len(scores) > 1 for lines in found.values() for curve in lines.values()
                  for scores in curve.values())
    caption = "Accuracy against the share of training data used" + (
        " (mean over seeds, bars: their range" if several else " (95% intervals"
    ) + "; dashed: zero-shot)"
    chart = plots.fraction_chart(curves, baselines)
    return Section("Sample efficiency", (Plot("data_fraction.png", caption, chart),))


def _point(fraction: float, scores: list[Score]) -> tuple[float, float, float, float]:
    """(fraction, accuracy, low, high): one run's interval, or several runs' mean and range."""
    if len(scores) == 1:
        return (fraction, scores[0].accuracy, scores[0].ci_low, scores[0].ci_high)
    values = [s.accuracy for s in scores]
    return (fraction, sum(values) / len(values), min(values), max(values))


def training_section(run: Run, suffix: str) -> Section:
    blocks: list = []
    if run.curves:
        file = f"learning_curve-{run.name}.png" if suffix else "learning_curve.png"
        caption = (
            "Learning curve: greedy accuracy and no-answer rate on held-out problems of the "
            "training dataset (train.eval_split), against the step; step 0 is zero-shot"
        )
        blocks += [Plot(file, caption, plots.learning_chart(run.curves)), curve_grid(run.curves)]
    if run.losses:
        file = f"losses-{run.name}.png" if suffix else "losses.png"
        caption = "Training loss per objective (validation dashed)"
        blocks.append(Plot(file, caption, plots.loss_chart(run.losses)))
    return Section("Training" + suffix, tuple(blocks) or (Text("No training losses."),))


def curve_grid(curves: dict[str, list[dict[str, Any]]]) -> Grid:
    """Step by step, each method's held-out accuracy and its no-answer rate."""
    methods = list(curves)
    cells = {
        (method, row["step"]): f"{100 * row['accuracy']:.1f} ({100 * row['no_answer']:.0f}%)"
        for method, rows in curves.items() for row in rows
    }
    steps = sorted({step for _, step in cells})
    n = sorted({row["n"] for rows in curves.values() for row in rows})
    header = ("step", *(f"{m}: accuracy (no answer), n={'/'.join(map(str, n))}" for m in methods))
    rows = tuple((str(step), *(cells.get((m, step), "") for m in methods)) for step in steps)
    return Grid(header, rows)


def augmentation_section(run: Run, suffix: str) -> Section:
    blocks: list = []
    if run.funnel is not None:
        blocks += [Text("Funnel: problems at each step of augmentation and filtering."),
                   key_values(run.funnel, ("step", "count"))]
    if run.ledger is not None:
        blocks += [Text("Teacher ledger: calls, tokens, retries, errors, time and cost."),
                   key_values(run.ledger, ("item", "value"))]
    return Section("Augmentation" + suffix, tuple(blocks) or (Text("No augmentation output."),))


def samples_section(run: Run, suffix: str) -> Section:
    samples = tuple(
        Sample(f"{ex.problem.dataset} / {ex.id}", (
            ("Question", ex.problem.question), ("Gold answer", ex.problem.answer),
            ("Forward reasoning", ex.forward_reasoning),
            ("Backward question", ex.backward_question),
            ("Hidden piece", ex.backward_answer or "not named"),
            ("Backward reasoning", ex.backward_reasoning),
            ("Teacher verdict", {True: "consistent", False: "inconsistent"}.get(
                ex.consistent, "not given")),
            ("Quality flags", ", ".join(ex.flags) or "none"),
        ))
        for ex in run.samples
    )
    return Section("Augmented samples" + suffix, samples or (Text("No augmented records."),))
