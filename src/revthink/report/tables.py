"""The method x benchmark accuracy table, paired comparisons, and key/value tables.

``Grid`` is the format-free form (header, rows of strings, which cells to mark); the markdown
and HTML renderers and the terminal all print a ``Grid``, so the three always show the same
numbers. A method is marked best on a benchmark only when its paired interval against every
other method there excludes 0: the highest point estimate alone is often noise.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from revthink.evaluate.paired import BASELINES
from revthink.records import Comparison, Score
from revthink.terminal import PIPE_WIDTH


@dataclass(frozen=True)
class Grid:
    """A table of text cells; ``marked`` holds (row, column) positions shown in bold."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    marked: frozenset[tuple[int, int]] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Results:
    """Scores arranged by row label (method, or run/method) and benchmark."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: Mapping[tuple[str, str], Score]
    # (row, other row, column) -> row minus other row; both directions present
    comparisons: Mapping[tuple[str, str, str], Comparison] = field(default_factory=dict)

    def best(self, column: str) -> set[str]:
        """The row with the highest accuracy in ``column`` if it beats every other row there.

        Beating means a paired interval wholly above 0; without a paired comparison to some
        row (rows from different runs), or on a tie, no row is marked.
        """
        scores = {r: self.cells[(r, column)] for r in self.rows if (r, column) in self.cells}
        if len(scores) < 2:
            return set()
        top = max(scores, key=lambda r: scores[r].accuracy)
        beaten = (self.comparisons.get((top, other, column)) for other in scores if other != top)
        return {top} if all(c is not None and c.ci_low > 0 for c in beaten) else set()


def arrange(
    labelled: Sequence[tuple[str, Score]],
    comparisons: Sequence[tuple[str, str, Comparison]] = (),
) -> Results:
    """A ``Results`` from (row label, score) pairs, rows and columns in order of appearance.

    ``comparisons`` are (row label, other row label, comparison) triples; each is also stored
    the other way round (negated), so any pair can be looked up in either direction.
    """
    rows = tuple(dict.fromkeys(label for label, _ in labelled))
    columns = tuple(dict.fromkeys(score.dataset for _, score in labelled))
    cells = {(label, score.dataset): score for label, score in labelled}
    paired = {}
    for row, other, comparison in comparisons:
        paired[(row, other, comparison.dataset)] = comparison
        paired[(other, row, comparison.dataset)] = reverse(comparison)
    return Results(rows, columns, cells, paired)


def reverse(comparison: Comparison) -> Comparison:
    """The same comparison seen from the baseline: baseline minus method."""
    c = comparison
    return Comparison(
        method=c.baseline, baseline=c.method, dataset=c.dataset, n=c.n, difference=-c.difference,
        ci_low=-c.ci_high, ci_high=-c.ci_low, wins=c.losses, losses=c.wins, p_value=c.p_value,
    )


def format_score(score: Score) -> str:
    """``41.0 [35.2, 47.1]``: strict accuracy in percent with its 95% interval."""
    return f"{score.accuracy:.1%} [{score.ci_low:.1%}, {score.ci_high:.1%}]".replace("%", "")


def results_grid(results: Results) -> Grid:
    """The accuracy table as a ``Grid``: best per column marked; missing pairs show a dash."""
    best = {c: results.best(c) for c in results.columns}
    rows, marked = [], set()
    for i, row in enumerate(results.rows):
        cells = [row]
        for j, column in enumerate(results.columns, start=1):
            score = results.cells.get((row, column))
            cells.append(format_score(score) if score else "–")
            if row in best[column]:
                marked.add((i, j))
        rows.append(tuple(cells))
    header = ("method", *results.columns)
    return Grid(header, tuple(rows), frozenset(marked))


def paired_grid(results: Results) -> Grid:
    """Per method and benchmark: accuracy, its paired difference to each baseline, failures.

    A difference is in percentage points with its 95% paired-bootstrap interval and the
    McNemar p-value, shown whatever its sign; the failure columns are the share of outputs
    without a final-answer sentence and the share that ask a question instead.
    """
    baselines = [b for b in BASELINES if any(_method(r) == b for r in results.rows)]
    header = ("method", "benchmark", "n", "strict [95%]",
              *(f"- {b} [95%], p" for b in baselines),
              "no final answer", "asks a question")
    rows = []
    for (row, column), s in results.cells.items():
        differences = []
        for baseline in baselines:
            comparison = results.comparisons.get((row, _sibling(row, baseline), column))
            differences.append(format_comparison(comparison) if comparison else "")
        rows.append((
            row, column, str(s.n), format_score(s), *differences,
            f"{s.extraction_failure_rate:.0%}", f"{s.question_rate:.0%}",
        ))
    return Grid(header, tuple(rows))


def format_comparison(comparison: Comparison) -> str:
    """``+12.0 [+3.0, +22.0], p=0.012``: a paired difference in percentage points."""
    c = comparison
    p = "p<0.001" if c.p_value < 0.001 else f"p={c.p_value:.3f}"
    return f"{100 * c.difference:+.1f} [{100 * c.ci_low:+.1f}, {100 * c.ci_high:+.1f}], {p}"


def details_grid(results: Results) -> Grid:
    """Per pair: n, flexible accuracy, failures, questions, generated tokens and speed."""
    header = ("method", "benchmark", "n", "strict", "flexible", "no answer", "question",
              "tokens", "tokens/s")
    rows = [
        (
            row, column, str(s.n), f"{s.accuracy:.1%}", f"{s.accuracy_flexible:.1%}",
            f"{s.extraction_failure_rate:.1%}", f"{s.question_rate:.1%}",
            f"{s.mean_generated_tokens:.0f}", f"{s.tokens_per_second:.1f}",
        )
        for (row, column), s in results.cells.items()
    ]
    return Grid(header, tuple(rows))


def _method(row: str) -> str:
    """The method of a row label (``run/method`` when several runs share a table)."""
    return row.rsplit("/", 1)[-1]


def _sibling(row: str, method: str) -> str:
    """The label of ``method`` in the same run as ``row``."""
    return row[: row.rfind("/") + 1] + method


def key_values(data: Mapping[str, Any], header: tuple[str, str] = ("", "")) -> Grid:
    """A two-column table of a (possibly nested) mapping; nested keys are joined with dots."""
    return Grid(header, tuple((key, format_value(v)) for key, v in _flatten(data, "")))


def format_value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def to_rich(grid: Grid, title: str | None = None) -> Table:
    """A rich ``Table`` of ``grid`` for the terminal, marked cells in bold green."""
    table = Table(title=title)
    for name in grid.header:
        table.add_column(name, justify="left" if name == grid.header[0] else "right")
    for i, row in enumerate(grid.rows):
        table.add_row(
            *(f"[bold green]{c}[/]" if (i, j) in grid.marked else c for j, c in enumerate(row))
        )
    return table


def to_text(grid: Grid, title: str | None = None) -> str:
    """The rich table as plain text (no colour codes), e.g. for logs."""
    buffer = io.StringIO()
    Console(file=buffer, width=PIPE_WIDTH, color_system=None).print(to_rich(grid, title))
    return buffer.getvalue()


def _flatten(data: Mapping[str, Any], prefix: str) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            pairs += _flatten(value, name + ".")
        elif isinstance(value, list) and all(not isinstance(v, Mapping | list) for v in value):
            pairs.append((name, ", ".join(format_value(v) for v in value)))
        else:
            pairs.append((name, value))
    return pairs
