"""The report's "Reverse skills" section: backward benchmarks, decode strategies, reversal probe.

Three questions, each answered from files a run already holds:

- Does a method reason backwards as well as forwards? Its accuracy on a backward benchmark
  (``BACKWARD_OF``: the same problems asked the other way round) beside the forward one.
- Does checking answers backwards at test time pay? Per method and benchmark, accuracy and
  generated tokens per problem of every decode the runs used (``evaluate/<method>/<benchmark>/
  manifest.json`` names it), and for forward_backward the self-consistency answer of the same
  samples (``decodings.jsonl``), compared problem by problem: at equal n samples forward_backward
  costs the backward checks' tokens on top, which the table shows.
- Does the student know facts both ways round? ``probe/reversal.json`` of
  ``revthink probe reversal``: forward and reverse scores per variant, and per student the
  celebrity pairs asked child -> parent and parent -> child.

Whatever is missing becomes a line under "Not shown"; nothing here raises on a run's files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from revthink.errors import RecordError
from revthink.evaluate.voting import read_decodings
from revthink.probe.tables import celebrities_grid, facts_grid
from revthink.records import Prediction, Score, read_jsonl
from revthink.report import plots
from revthink.report.collect import Run
from revthink.report.render import Plot, Section, Text
from revthink.report.tables import Grid, format_score

BACKWARD_OF = {"gsm8k_backward": "gsm8k", "synthetic_backward": "synthetic"}  # -> forward
DECODE_ORDER = ("greedy", "self_consistency", "forward_backward")

BACKWARD_NOTE = (
    "Backward benchmarks ask the forward benchmark's problems the other way round (a number of "
    "the question hidden, the answer given). Strict accuracy in percent with its 95% interval; "
    "methods are compared on each benchmark in the paired table above."
)
DECODE_NOTE = (
    "Decode strategies on the same problems: greedy (one answer), self-consistency (majority "
    "of n sampled reasonings) and forward-backward (those votes plus a backward check of each "
    "candidate). 'self_consistency (same samples)' is the majority of forward-backward's own "
    "samples: equal n, fewer tokens. 'vs self-consistency': forward-backward minus it in "
    "points, with the problems only one of them solved (+wins/-losses). Tokens: generated per "
    "problem, backward checks included."
)
PROBE_NOTE = (
    "Reversal probe: facts about fictional people learnt person -> description, asked forward "
    "and reverse (description -> person). EM: greedy exact match; choice: the right completion "
    "likelier per token than the other people's; logprob: of the right completion (nats). "
    "Celebrities: mean log-probability of the name asked for, without fine-tuning."
)


@dataclass(frozen=True)
class Decoded:
    """One score and how it was decoded (from its evaluation's manifest)."""

    row: str  # method, or run/method
    score: Score
    decode: str
    samples: int
    benchmark: str  # the column of the same problems with the evaluate section's settings
    folder: Path


Label = Callable[[Run, str], str]  # (run, method) -> row label


def section(runs: Sequence[Run], label: Label) -> tuple[Section | None, list[str]]:
    """The section (None when no run has anything to show) and notes on what is missing.

    ``label(run, method)`` is the row label of a method (``run/method`` for several runs).
    """
    notes: list[str] = []
    blocks: list = []
    backward = backward_grid(runs, label, notes)
    if backward is not None:
        blocks += [Text(BACKWARD_NOTE), backward]
    decoded = [d for run in runs for d in decoded_scores(run, label, notes)]
    decodes = decode_grid(decoded, notes)
    if decodes is not None:
        blocks += [Text(DECODE_NOTE), decodes]
    for run in runs:
        blocks += probe_blocks(run, len(runs) > 1, notes)
    return (Section("Reverse skills", tuple(blocks)) if blocks else None), notes


def backward_grid(runs: Sequence[Run], label: Label, notes: list[str]) -> Grid | None:
    """Per method and backward benchmark: forward accuracy, backward accuracy, the difference."""
    rows = []
    for run in runs:
        cells = {(s.method, s.dataset): s for s in run.scores}
        for (method, dataset), score in cells.items():
            forward_name = BACKWARD_OF.get(dataset)
            if forward_name is None:
                continue
            forward = cells.get((method, forward_name))
            if forward is None:
                notes.append(f"{run.name}: {method} has {dataset} but no {forward_name} "
                             "results: forward accuracy not shown beside it")
            gap = f"{100 * (score.accuracy - forward.accuracy):+.1f}" if forward else "–"
            rows.append((label(run, method), forward_name,
                         format_score(forward) if forward else "–", dataset,
                         format_score(score), gap))
    if not rows:
        return None
    header = ("method", "forward", "forward [95%]", "backward", "backward [95%]",
              "backward - forward")
    return Grid(header, tuple(rows))


def decoded_scores(run: Run, label: Label, notes: list[str]) -> list[Decoded]:
    """The run's scores with the decode each was made with; unknown ones are noted and left out.

    Evaluations written before manifests named their decode count as greedy when their score has
    no sampled figures.
    """
    found = []
    for score in run.scores:
        folder = run.path / "evaluate" / score.method / score.dataset
        manifest = run.manifests.get((score.method, score.dataset), {})
        decode = manifest.get("decode", "greedy" if "samples" not in score.extra else None)
        if decode not in DECODE_ORDER:
            notes.append(f"{folder}: manifest names no known decode; left out of the decode table")
            continue
        samples = manifest.get("samples", int(score.extra.get("samples", 1)))
        base = manifest.get("base_benchmark", score.dataset)
        found.append(Decoded(label(run, score.method), score, decode,
                             samples if isinstance(samples, int) else 1, str(base), folder))
    return found


DECODE_HEADER = ("method", "benchmark", "decode", "n", "problems", "strict [95%]",
                 "vs self-consistency", "tokens / problem", "backward tokens", "fallback")


def decode_grid(decoded: Sequence[Decoded], notes: list[str]) -> Grid | None:
    """Every decode of the benchmarks that were answered by sampling; None when none was."""
    sampled = {d.benchmark for d in decoded if d.decode != "greedy"}
    rows_in_order = {row: i for i, row in enumerate(dict.fromkeys(d.row for d in decoded))}
    shown = sorted(
        (d for d in decoded if d.benchmark in sampled),
        key=lambda d: (d.benchmark, rows_in_order[d.row], DECODE_ORDER.index(d.decode), d.samples),
    )
    rows: list[tuple[str, ...]] = []
    for d in shown:
        if d.decode == "forward_backward":
            rows += _forward_backward_rows(d, notes)
        else:
            rows.append(_decode_row(d, ""))
    return Grid(DECODE_HEADER, tuple(rows)) if rows else None


def _decode_row(d: Decoded, versus: str) -> tuple[str, ...]:
    extra = d.score.extra
    forward = extra.get("forward_tokens_per_problem")
    backward = extra.get("backward_tokens_per_problem", 0.0)
    tokens = d.score.mean_generated_tokens if forward is None else forward + backward
    checked = d.decode == "forward_backward"
    return (d.row, d.benchmark, d.decode, str(d.samples), str(d.score.n), format_score(d.score),
            versus,
            f"{tokens:.0f}", f"{backward:.0f}" if checked else "",
            f"{extra.get('fallback_rate', 0.0):.0%}" if checked else "")


def _forward_backward_rows(d: Decoded, notes: list[str]) -> list[tuple[str, ...]]:
    """Forward-backward's row, compared with the self-consistency answer of its own samples,
    and that answer's row (the forward samples' tokens only)."""
    extra = d.score.extra
    majority = extra.get("self_consistency_accuracy")
    versus = ""
    if majority is not None:
        versus = f"{100 * (d.score.accuracy - majority):+.1f}"
        discordant = _discordant(d.folder, notes)
        versus += f" (+{discordant[0]}/-{discordant[1]})" if discordant else ""
    tokens = extra.get("forward_tokens_per_problem")
    same = (d.row, d.benchmark, "self_consistency (same samples)", str(d.samples),
            str(d.score.n), f"{100 * majority:.1f}" if majority is not None else "–", "",
            f"{tokens:.0f}" if tokens is not None else "–", "", "")
    return [_decode_row(d, versus), same]


def _discordant(folder: Path, notes: list[str]) -> tuple[int, int] | None:
    """(problems only forward_backward solved, problems only its majority solved), or None."""
    try:
        decodings = read_decodings(folder)
        predictions = read_jsonl(folder / "predictions.jsonl", Prediction)
    except (OSError, RecordError) as err:
        notes.append(f"{err}; forward-backward not compared problem by problem")
        return None
    pairs = [(p.correct, decodings[p.problem_id].majority_correct)
             for p in predictions if p.problem_id in decodings]
    if not pairs:
        return None
    return (sum(fb and not sc for fb, sc in pairs), sum(sc and not fb for fb, sc in pairs))


def probe_blocks(run: Run, several: bool, notes: list[str]) -> list:
    """The probe's tables and chart for one run, or nothing (and a note) without its results."""
    if run.probe is None:
        return []
    try:
        facts, celebrities = facts_grid(run.probe), celebrities_grid(run.probe)
        png = plots.reversal_chart(run.probe)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        notes.append(f"{run.path / 'probe' / 'reversal.json'}: unexpected layout "
                     f"({type(err).__name__}: {err}); probe results not shown")
        return []
    name = f"reversal-{run.name}.png" if several else "reversal.png"
    title = f"Reversal probe{': ' + run.name if several else ''}: forward vs reverse"
    blocks: list = [Text(PROBE_NOTE), facts]
    blocks += [celebrities] if celebrities.rows else []
    return [*blocks, Plot(name, title, png)]
