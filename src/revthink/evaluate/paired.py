"""Paired comparisons of methods that answered the same problems.

Every method of a run answers the same test problems, so two methods differ only on the
problems one solved and the other did not (the discordant pairs). Comparing them paired is
far sharper than comparing two independent intervals:

    from revthink.evaluate.paired import compare
    c = compare(revthink_predictions, skd_predictions, samples=1000, seed=0)
    c.difference, (c.ci_low, c.ci_high), c.p_value

The interval is a percentile bootstrap that resamples problems (both verdicts of a problem
travel together); the p-value is the exact McNemar test, a two-sided binomial test of the
discordant pairs against an even split.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np

from revthink.errors import RecordError
from revthink.records import Comparison, Prediction

BASELINES = ("zero_shot", "skd")  # what every other method is compared against, in this order
LEVEL = 0.95


def compare(
    method: Sequence[Prediction], baseline: Sequence[Prediction], *, samples: int = 1000,
    seed: int = 0, level: float = LEVEL,
) -> Comparison:
    """``method`` minus ``baseline`` on the same problems of one benchmark.

    Raises RecordError when the two did not answer the same problems: a paired comparison of
    different problem sets would be meaningless.
    """
    ours = {p.problem_id: p.correct for p in method}
    theirs = {p.problem_id: p.correct for p in baseline}
    first, other = method[0] if method else None, baseline[0] if baseline else None
    if first is None or other is None or ours.keys() != theirs.keys():
        names = (first.method if first else "?", other.method if other else "?")
        raise RecordError(
            f"methods {names[0]!r} and {names[1]!r}: predictions are for different problems "
            f"({len(ours)} vs {len(theirs)}, {len(ours.keys() ^ theirs.keys())} not shared); "
            "evaluate both on the same benchmark subset"
        )
    wins = sum(ours[i] and not theirs[i] for i in ours)
    losses = sum(theirs[i] and not ours[i] for i in ours)
    low, high = paired_interval(wins, losses, len(ours), samples, seed, level)
    return Comparison(
        method=first.method, baseline=other.method, dataset=first.dataset, n=len(ours),
        difference=(wins - losses) / len(ours), ci_low=low, ci_high=high, wins=wins,
        losses=losses, p_value=mcnemar_p(wins, losses),
    )


def paired_interval(
    wins: int, losses: int, n: int, samples: int = 1000, seed: int = 0, level: float = LEVEL
) -> tuple[float, float]:
    """Percentile paired-bootstrap interval of the accuracy difference.

    Each problem contributes +1 (only the method right), -1 (only the baseline right) or 0.
    Resampling n problems with replacement and counting each kind is exactly one draw from
    Multinomial(n, (wins, losses, ties) / n), so the resamples are drawn that way: the same
    interval as resampling problem indices, in O(samples) memory.
    """
    if n == 0:
        return 0.0, 0.0
    rng = np.random.default_rng(seed)
    shares = np.array([wins, losses, n - wins - losses], dtype=float) / n
    counts = rng.multinomial(n, shares, size=samples)
    differences = (counts[:, 0] - counts[:, 1]) / n
    tail = (1 - level) / 2
    low, high = np.quantile(differences, [tail, 1 - tail])
    return float(low), float(high)


def pooled_interval(
    per_seed: Sequence[tuple[int, int, int]], samples: int = 1000, seed: int = 0,
    level: float = LEVEL,
) -> tuple[float, float, float]:
    """Difference and interval over several seeds' (wins, losses, n): a two-stage bootstrap.

    The difference is the pooled one, sum(wins - losses) / sum(n). Each resample draws the
    seeds with replacement, then each drawn seed's problems (as ``paired_interval`` does), so
    the interval carries the variation between trained models as well as between problems;
    with few seeds its first stage is coarse and widens it, as it should.
    """
    counts = np.array(per_seed, dtype=float).reshape(-1, 3)
    if counts[:, 2].sum() == 0:
        return 0.0, 0.0, 0.0
    rng = np.random.default_rng(seed)
    shares = np.stack([counts[:, 0], counts[:, 1], counts[:, 2] - counts[:, :2].sum(1)], 1)
    shares /= np.maximum(counts[:, 2:], 1)
    draws = np.empty(samples)
    for i, picked in enumerate(rng.integers(0, len(counts), size=(samples, len(counts)))):
        drawn = [rng.multinomial(int(counts[s, 2]), shares[s]) for s in picked]
        draws[i] = sum(d[0] - d[1] for d in drawn) / counts[picked, 2].sum()
    tail = (1 - level) / 2
    low, high = np.quantile(draws, [tail, 1 - tail])
    difference = (counts[:, 0] - counts[:, 1]).sum() / counts[:, 2].sum()
    return float(difference), float(low), float(high)


def mcnemar_p(wins: int, losses: int) -> float:
    """Exact two-sided McNemar p-value: P(a split at least this uneven | no difference)."""
    discordant = wins + losses
    if discordant == 0:
        return 1.0
    tail = sum(math.comb(discordant, k) for k in range(min(wins, losses) + 1))
    return min(1.0, 2 * tail / 2**discordant)


def compare_all(
    predictions: Mapping[tuple[str, str], Sequence[Prediction]], *, samples: int = 1000,
    seed: int = 0,
) -> list[Comparison]:
    """Every pair of methods on every benchmark, from predictions keyed by (method, benchmark).

    Each pair is compared once, oriented so that a baseline (``zero_shot``, then ``skd``) is
    subtracted, otherwise the method listed first; all pairs are kept (not only those against
    the baselines) so that the report can tell whether the best method beats every other one.
    """
    methods = list(dict.fromkeys(m for m, _ in predictions))
    benchmarks = list(dict.fromkeys(b for _, b in predictions))
    rank = {m: (BASELINES.index(m) if m in BASELINES else len(BASELINES) + i)
            for i, m in enumerate(methods)}
    ordered = sorted(methods, key=rank.__getitem__)
    found = []
    for benchmark in benchmarks:
        for j, method in enumerate(ordered):
            for baseline in ordered[:j]:
                ours = predictions.get((method, benchmark))
                theirs = predictions.get((baseline, benchmark))
                if ours is not None and theirs is not None:
                    result = compare(ours, theirs, samples=samples, seed=seed)
                    found.append(dataclasses.replace(result, dataset=benchmark))
    return found
