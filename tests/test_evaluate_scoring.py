"""Scoring math: bootstrap intervals, failure rates, verdicts and rescoring from saved files."""

from __future__ import annotations

import dataclasses
import json

import pytest

from revthink.errors import RecordError
from revthink.evaluate.scoring import (
    add_seconds,
    asks_question,
    bootstrap_interval,
    judge,
    read_seconds,
    rejudge,
    rescore,
    score,
)
from revthink.records import Prediction, Problem, write_jsonl


def _prediction(i: int, correct: bool, *, extracted: bool = True, tokens: int = 10) -> Prediction:
    return Prediction(
        problem_id=f"p{i}", dataset="toy", method="skd", prompt="Q?", output="out", gold="1",
        extracted="1" if extracted else None, extracted_flexible="1", correct=correct,
        correct_flexible=True, generated_tokens=tokens,
    )


def test_all_correct_gives_a_point_interval_at_one():
    assert bootstrap_interval([True] * 40, samples=500, seed=3) == (1.0, 1.0)


def test_all_wrong_gives_a_point_interval_at_zero():
    assert bootstrap_interval([False] * 40, samples=500, seed=3) == (0.0, 0.0)


def test_half_of_a_hundred_gives_an_interval_of_about_ten_points_each_side():
    low, high = bootstrap_interval([True] * 50 + [False] * 50, samples=2000, seed=0)
    assert 0.38 <= low <= 0.43
    assert 0.57 <= high <= 0.62


def test_interval_is_deterministic_for_a_seed():
    verdicts = [i % 3 == 0 for i in range(60)]
    assert bootstrap_interval(verdicts, seed=7) == bootstrap_interval(verdicts, seed=7)


def test_empty_sample_has_a_zero_interval():
    assert bootstrap_interval([]) == (0.0, 0.0)


def test_score_counts_accuracy_failures_tokens_and_speed():
    predictions = [_prediction(0, True), _prediction(1, False, extracted=False, tokens=30),
                   _prediction(2, True), _prediction(3, False)]
    result = score(predictions, samples=200, seed=0, seconds=2.0)
    assert (result.method, result.dataset, result.n) == ("skd", "toy", 4)
    assert result.accuracy == 0.5
    assert result.accuracy_flexible == 1.0
    assert result.extraction_failure_rate == 0.25
    assert result.mean_generated_tokens == 15.0
    assert result.tokens_per_second == 30.0
    assert result.ci_low <= 0.5 <= result.ci_high
    assert result.extra["extraction_failure_rate_flexible"] == 0.0
    assert result.extra["ci_low_flexible"] == result.extra["ci_high_flexible"] == 1.0


def test_score_without_time_reports_no_speed():
    assert score([_prediction(0, True)]).tokens_per_second == 0.0


def test_rescore_reads_saved_predictions_and_their_timing(tmp_path):
    predictions = [_prediction(i, i < 3) for i in range(5)]
    path = tmp_path / "predictions.jsonl"
    write_jsonl(path, predictions)
    add_seconds(tmp_path, 1.0)
    add_seconds(tmp_path, 1.5)
    assert read_seconds(tmp_path) == 2.5
    assert rescore(path, samples=300, seed=1) == score(
        predictions, samples=300, seed=1, seconds=2.5
    )


def test_rescore_with_problems_judges_outputs_again(tmp_path):
    problem = Problem("p0", "toy", "What is 20 + 22?", "42", "number")
    stale = dataclasses.replace(
        _prediction(0, False, extracted=False), output="20 + 22 = 42. The answer is 42.", gold="42"
    )
    path = tmp_path / "predictions.jsonl"
    write_jsonl(path, [stale])
    assert rescore(path).accuracy == 0.0
    assert rescore(path, {"p0": problem}).accuracy == 1.0


def test_rescore_names_a_prediction_of_an_unknown_problem(tmp_path):
    path = tmp_path / "predictions.jsonl"
    write_jsonl(path, [_prediction(9, True)])
    with pytest.raises(RecordError, match=r"predictions.jsonl: problem id 'p9'"):
        rescore(path, {})


def test_judge_gives_strict_and_flexible_verdicts():
    problem = Problem("p1", "gsm8k", "How many?", "18", "number")
    stated = judge(problem, "9 * 2 = 18. The answer is 18.", method="m", prompt="P", tokens=7)
    assert (stated.extracted, stated.correct, stated.correct_flexible) == ("18", True, True)
    assert (stated.prompt, stated.gold, stated.generated_tokens) == ("P", "18", 7)
    loose = judge(problem, "She makes 9 * 2 = 18 dollars", method="m", prompt="P", tokens=7)
    assert loose.extracted is None and not loose.correct
    assert loose.extracted_flexible == "18" and loose.correct_flexible


def test_judge_checks_choice_letters():
    problem = Problem("c1", "arc", "Which?", "B", "choice", options=("red", "blue"))
    assert judge(problem, "The answer is (B).", method="m", prompt="", tokens=1).correct
    assert not judge(problem, "The answer is (A).", method="m", prompt="", tokens=1).correct


def test_rejudge_keeps_output_prompt_and_tokens():
    problem = Problem("p0", "toy", "What is 20 + 22?", "42", "number")
    old = dataclasses.replace(_prediction(0, False), output="The answer is 42.", prompt="X")
    fresh = rejudge(old, problem)
    assert fresh.correct and (fresh.output, fresh.prompt, fresh.generated_tokens) == (
        "The answer is 42.", "X", 10
    )


def test_benchmarks_are_read_from_the_configured_data_folder(tmp_path):
    from revthink.config import AugmentConfig, BenchmarkConfig, DataConfig, ExperimentConfig
    from revthink.evaluate.stage import _problems

    (tmp_path / "gsm8k").mkdir()
    row = {"question": "What is 2 + 3?", "answer": "2 + 3 = 5\n#### 5"}
    (tmp_path / "gsm8k" / "test.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    cfg = ExperimentConfig(augment=AugmentConfig(data=DataConfig(data_dir=str(tmp_path))))
    problems = _problems(cfg, BenchmarkConfig(dataset="gsm8k"))
    assert [(p.question, p.answer) for p in problems] == [("What is 2 + 3?", "5")]


@pytest.mark.parametrize(("output", "extracted", "asks"), [
    ("If Tom has x apples and gives 3 away, how many did he have at first?", None, True),
    ('**What is the value of x?**\n', None, True),
    ("Is it (B)?)", None, True),
    ("How many? 3 + 4 = 7. The answer is 7.", "7", False),  # answers after quoting a question
    ("3 + 4 = 7 so it is seven", None, False),  # no answer, but no question either
    ("What is 3 + 4? It is 7", None, False),
])
def test_asks_question_spots_outputs_that_end_by_asking(output, extracted, asks):
    prediction = dataclasses.replace(_prediction(0, False), output=output, extracted=extracted)
    assert asks_question(prediction) is asks


def test_score_reports_the_question_rate_beside_the_failure_rate():
    asking = dataclasses.replace(
        _prediction(1, False, extracted=False), output="What was the price of one apple?"
    )
    silent = dataclasses.replace(_prediction(2, False, extracted=False), output="7 apples")
    result = score([_prediction(0, True), asking, silent, _prediction(3, True)])
    assert result.extraction_failure_rate == 0.5
    assert result.question_rate == 0.25
