"""Report figures as PNG bytes, drawn with matplotlib's object API.

``matplotlib.figure.Figure`` renders with the Agg canvas without pyplot, so no GUI backend is
touched and nothing global changes: plotting works on headless machines and inside tests.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from revthink.probe.tables import chance
from revthink.report.tables import Results

DPI = 110


def accuracy_chart(results: Results) -> bytes:
    """Grouped bars: benchmarks on the x axis, one bar per method, 95% intervals as whiskers."""
    figure = Figure(figsize=(max(5.0, 1.6 * len(results.columns) + 2), 3.8), layout="constrained")
    axes = figure.add_subplot()
    width = 0.8 / max(1, len(results.rows))
    for i, row in enumerate(results.rows):
        xs, heights, errors = [], [], [[], []]
        for j, column in enumerate(results.columns):
            score = results.cells.get((row, column))
            if score is None:
                continue
            xs.append(j + (i - (len(results.rows) - 1) / 2) * width)
            heights.append(100 * score.accuracy)
            errors[0].append(100 * max(0.0, score.accuracy - score.ci_low))
            errors[1].append(100 * max(0.0, score.ci_high - score.accuracy))
        axes.bar(xs, heights, width, yerr=errors, capsize=3, label=row)
    axes.set_xticks(range(len(results.columns)), results.columns)
    axes.set_ylabel("accuracy (%)")
    axes.set_ylim(0, 100)
    axes.legend(fontsize="small")
    return _png(figure)


def loss_chart(losses: Mapping[str, Sequence[Mapping[str, Any]]]) -> bytes:
    """One panel per method: every loss column against the step (validation rows dashed)."""
    figure = Figure(figsize=(4.2 * len(losses), 3.4), layout="constrained")
    for number, (method, rows) in enumerate(losses.items(), start=1):
        axes = figure.add_subplot(1, len(losses), number)
        for split, style in (("train", "-"), ("validation", "o--")):
            part = [r for r in rows if r.get("split", "train") == split]
            for column in loss_columns(part):
                points = [(r["step"], r[column]) for r in part if r.get(column) is not None]
                if points:
                    steps, values = zip(*points, strict=True)
                    label = column if split == "train" else f"{column} (validation)"
                    axes.plot(steps, values, style, label=label)
        axes.set_title(method)
        axes.set_xlabel("step")
        axes.set_ylabel("loss")
        axes.legend(fontsize="x-small")
    return _png(figure)


def learning_chart(curves: Mapping[str, Sequence[Mapping[str, Any]]]) -> bytes:
    """Held-out accuracy against the training step, a line per method (``curve.jsonl`` rows).

    Step 0 is the untrained student, so the mean of the methods' step-0 points is drawn dashed
    as the zero-shot level; whiskers are 95% Wilson intervals (a few dozen problems are a
    coarse measure); the no-answer rate sits in a second panel, as a student that only
    learns the answer format shows there first.
    """
    figure = Figure(figsize=(9.0, 3.4), layout="constrained")
    accuracy, silent = figure.subplots(1, 2)
    starts = []
    for i, (method, rows) in enumerate(curves.items()):
        ordered = sorted(rows, key=lambda r: r["step"])
        steps = [r["step"] for r in ordered]
        bounds = [wilson(r["accuracy"], r["n"]) for r in ordered]
        ys = [100 * r["accuracy"] for r in ordered]
        errors = [[y - 100 * low for y, (low, _) in zip(ys, bounds, strict=True)],
                  [100 * high - y for y, (_, high) in zip(ys, bounds, strict=True)]]
        accuracy.errorbar(steps, ys, yerr=errors, fmt="o-", capsize=3, color=f"C{i % 10}",
                          label=method)
        silent.plot(steps, [100 * r["no_answer"] for r in ordered], "o-", color=f"C{i % 10}",
                    label=method)
        starts += [r["accuracy"] for r in ordered if r["step"] == 0]
    if starts:
        accuracy.axhline(100 * sum(starts) / len(starts), color="grey", linestyle="--",
                         label="zero-shot (step 0)")
    for axes, label in ((accuracy, "accuracy (%)"), (silent, "no final answer (%)")):
        axes.set_xlabel("step")
        axes.set_ylabel(label)
        axes.set_ylim(0, 100)
        axes.legend(fontsize="x-small")
    return _png(figure)


def wilson(share: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion ``share`` of ``n``."""
    if n <= 0:
        return 0.0, 1.0
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


Point = tuple[float, float, float, float]  # (fraction, accuracy, interval low, interval high)


def fraction_chart(
    curves: Mapping[str, Mapping[str, Sequence[Point]]], baselines: Mapping[str, float],
) -> bytes:
    """Accuracy against the share of training data: a panel per benchmark, a line per method.

    ``curves`` maps benchmark -> method -> points; ``baselines`` maps a benchmark to the
    accuracy of the untrained student (zero-shot), drawn dashed across its panel. Methods keep
    one colour in every panel and share one legend beside them.
    """
    benchmarks = list(curves)
    methods = list(dict.fromkeys(m for lines in curves.values() for m in lines))
    colours = {method: f"C{i % 10}" for i, method in enumerate(methods)}
    figure = Figure(figsize=(3.2 * len(benchmarks) + 2.0, 3.6), layout="constrained")
    panels = figure.subplots(1, len(benchmarks), sharey=True, squeeze=False)[0]
    for axes, benchmark in zip(panels, benchmarks, strict=True):
        for method, points in curves[benchmark].items():
            ordered = sorted(points)
            ys = [100 * p[1] for p in ordered]
            errors = [[100 * (p[1] - p[2]) for p in ordered],
                      [100 * (p[3] - p[1]) for p in ordered]]
            axes.errorbar([100 * p[0] for p in ordered], ys, yerr=errors, marker="o", capsize=3,
                          color=colours[method], label=method)
        if benchmark in baselines:
            axes.axhline(100 * baselines[benchmark], color="grey", linestyle="--",
                         label="zero_shot")
        axes.set_title(benchmark, fontsize="medium")
        axes.set_xlabel("training data used (%)")
    panels[0].set_ylabel("accuracy (%)")
    handles = {label: handle for axes in panels
               for handle, label in zip(*axes.get_legend_handles_labels(), strict=True)}
    figure.legend(handles.values(), handles.keys(), loc="outside right center",
                  fontsize="small")
    return _png(figure)


def reversal_chart(results: Mapping[str, Any]) -> bytes:
    """The reversal probe, forward vs reverse bars side by side.

    Panels: per fine-tuned variant, ``choice`` (%, guessing's level dashed) and the mean
    log-probability of the right completion; per student, the celebrity pairs' log-probability
    child -> parent vs parent -> child (when scored). ``results`` is ``reversal.json``.
    """
    facts = results["facts"]
    celebrities = {n: groups["all"] for n, groups in (results.get("celebrities") or {}).items()}
    panels = [
        ("choice (%)", {n: (100 * s["forward"]["choice"], 100 * s["reverse"]["choice"])
                        for n, s in facts.items()}, ("forward", "reverse")),
        ("log-probability (nats)", {n: (s["forward"]["logprob"], s["reverse"]["logprob"])
                                    for n, s in facts.items()}, ("forward", "reverse")),
    ]
    if celebrities:
        panels.append(("celebrities: log-probability",
                       {n: (g["child_to_parent"], g["parent_to_child"])
                        for n, g in celebrities.items()},
                       ("child -> parent", "parent -> child")))
    figure = Figure(figsize=(3.6 * len(panels) + 0.6, 3.6), layout="constrained")
    for number, (title, bars, labels) in enumerate(panels, start=1):
        axes = figure.add_subplot(1, len(panels), number)
        names = list(bars)
        for side, label in enumerate(labels):
            xs = [i + (side - 0.5) * 0.38 for i in range(len(names))]
            heights = [bars[n][side] if bars[n][side] is not None else 0.0 for n in names]
            axes.bar(xs, heights, 0.38, label=label)
        if number == 1:
            guess = chance(dict(results))
            if guess is not None:
                axes.axhline(100 * guess, color="grey", linestyle="--", linewidth=1)
            axes.set_ylim(0, 100)
        axes.set_xticks(range(len(names)), names, fontsize="small", rotation=15)
        axes.set_title(title, fontsize="medium")
        axes.legend(fontsize="x-small")
    return _png(figure)


def loss_columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Loss columns present in ``rows`` (``loss`` first, then per objective), in order."""
    return list(dict.fromkeys(k for r in rows for k in r if k.startswith("loss")))


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
