"""Paired comparisons: McNemar p-values, paired-bootstrap intervals, which pairs are compared."""

from __future__ import annotations

import math

import numpy as np
import pytest

from revthink.errors import RecordError
from revthink.evaluate.paired import (
    compare,
    compare_all,
    mcnemar_p,
    paired_interval,
    pooled_interval,
)
from revthink.evaluate.scoring import bootstrap_interval
from revthink.records import Prediction


def _predictions(method: str, verdicts: list[bool], dataset: str = "toy") -> list[Prediction]:
    return [
        Prediction(
            problem_id=f"p{i}", dataset=dataset, method=method, prompt="Q?", output="out",
            gold="1", extracted="1", extracted_flexible="1", correct=ok, correct_flexible=ok,
            generated_tokens=5,
        )
        for i, ok in enumerate(verdicts)
    ]


def test_mcnemar_is_the_two_sided_binomial_tail_of_the_discordant_pairs():
    # 10 wins against 2 losses: 2 * P(X <= 2), X ~ Binomial(12, 1/2)
    expected = 2 * sum(math.comb(12, k) for k in range(3)) / 2**12
    assert mcnemar_p(10, 2) == pytest.approx(expected)
    assert mcnemar_p(2, 10) == mcnemar_p(10, 2)
    assert mcnemar_p(0, 0) == 1.0
    assert mcnemar_p(5, 5) == 1.0
    assert mcnemar_p(0, 8) == pytest.approx(2 / 2**8)


def test_paired_interval_matches_resampling_problem_indices():
    wins, losses, n = 18, 6, 100
    differences = np.array([1] * wins + [-1] * losses + [0] * (n - wins - losses))
    rng = np.random.default_rng(1)
    resampled = differences[rng.integers(0, n, size=(4000, n))].mean(axis=1)
    expected = np.quantile(resampled, [0.025, 0.975])
    low, high = paired_interval(wins, losses, n, samples=4000, seed=0)
    assert low == pytest.approx(expected[0], abs=0.015)
    assert high == pytest.approx(expected[1], abs=0.015)


def test_paired_interval_is_much_narrower_than_two_separate_intervals_for_similar_methods():
    # the methods agree on 90 of 100 problems; apart, their intervals overlap widely
    base = [i < 40 for i in range(100)]
    better = [i < 40 or 40 <= i < 48 for i in range(100)]
    result = compare(_predictions("revthink", better), _predictions("skd", base), seed=0)
    assert (result.wins, result.losses, result.difference) == (8, 0, 0.08)
    assert result.excludes_zero and result.ci_low > 0
    separate_low, _ = bootstrap_interval(better, seed=0)
    _, separate_high = bootstrap_interval(base, seed=0)
    assert separate_low < separate_high  # unpaired, the two would look indistinguishable
    assert result.p_value == pytest.approx(2 / 2**8)


def test_compare_is_seeded_and_symmetric():
    a = _predictions("revthink", [i % 3 == 0 for i in range(60)])
    b = _predictions("skd", [i % 4 == 0 for i in range(60)])
    first, again = compare(a, b, seed=4), compare(a, b, seed=4)
    assert first == again
    turned = compare(b, a, seed=4)
    assert turned.difference == -first.difference
    assert (turned.wins, turned.losses, turned.p_value) == (first.losses, first.wins,
                                                             first.p_value)
    assert first.ci_low <= first.difference <= first.ci_high


def test_a_comparison_of_different_problems_is_refused():
    a = _predictions("revthink", [True, False, True])
    b = _predictions("skd", [True, False])
    with pytest.raises(RecordError, match=r"'revthink' and 'skd'.*different problems"):
        compare(a, b)


def test_compare_all_subtracts_the_baselines_and_keeps_every_pair():
    verdicts = {"revthink": [True, True, False], "zero_shot": [False, True, False],
                "skd": [True, False, False], "answer_aug": [False, False, True]}
    predictions = {
        (m, bench): _predictions(m, v, dataset="synthetic")
        for bench in ("synthetic", "synthetic-ood") for m, v in verdicts.items()
    }
    found = compare_all(predictions, samples=50)
    pairs = [(c.method, c.baseline) for c in found if c.dataset == "synthetic-ood"]
    assert pairs == [
        ("skd", "zero_shot"), ("revthink", "zero_shot"), ("revthink", "skd"),
        ("answer_aug", "zero_shot"), ("answer_aug", "skd"), ("answer_aug", "revthink"),
    ]
    assert len(found) == 12
    revthink_skd = next(c for c in found if (c.method, c.baseline) == ("revthink", "skd"))
    assert (revthink_skd.wins, revthink_skd.losses) == (1, 0)


def test_the_pooled_interval_over_one_seed_is_the_paired_interval() -> None:
    difference, low, high = pooled_interval([(30, 10, 200)], samples=4000)
    assert difference == pytest.approx(0.1)
    expected = paired_interval(30, 10, 200, samples=4000)
    assert (low, high) == pytest.approx(expected, abs=0.011)


def test_the_pooled_interval_carries_the_variation_between_seeds() -> None:
    # two trained models, each clearly different from the baseline, in opposite directions
    difference, low, high = pooled_interval([(400, 100, 1000), (100, 400, 1000)])
    assert difference == pytest.approx(0.0)
    within = paired_interval(500, 500, 2000)  # the same problems as if from one model
    assert high - low > 0.4 > 3 * (within[1] - within[0])
    assert pooled_interval([]) == (0.0, 0.0, 0.0)
