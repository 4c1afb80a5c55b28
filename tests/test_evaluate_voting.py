"""The decision rules of sampled decoding: votes, backward successes, and fallbacks."""

from __future__ import annotations

import pytest

from revthink.evaluate.sampled import backward_plan
from revthink.evaluate.voting import (
    BackwardCheck,
    Decoding,
    choose,
    combine,
    decoding_from_json,
    decoding_to_json,
    summary,
    tally,
)
from revthink.records import Problem


def test_tally_counts_answers_in_order_of_first_appearance_and_skips_failures():
    assert tally(["18", None, "20", "18", None]) == {"18": 2, "20": 1}
    assert list(tally(["b", "a", "a"])) == ["b", "a"]
    assert tally([None, None]) == {}


@pytest.mark.parametrize(
    ("votes", "successes", "weight", "expected"),
    [
        ({"18": 3, "20": 1}, {}, 1.0, {"18": 3.0, "20": 1.0}),  # self-consistency
        ({"18": 3, "20": 1}, {"20": 1}, 1.0, {"18": 3.0, "20": 2.0}),
        ({"18": 3, "20": 1}, {"20": 1}, 2.5, {"18": 3.0, "20": 3.5}),
        ({"18": 3, "20": 1}, {"18": 1, "20": 1}, 0.0, {"18": 3.0, "20": 1.0}),
        ({"7": 2}, {"7": 3, "9": 1}, 1.0, {"7": 5.0}),  # a check without votes adds nothing
    ],
)
def test_combine_adds_weighted_backward_successes_to_votes(votes, successes, weight, expected):
    assert combine(votes, successes, weight) == expected


def test_choose_takes_the_best_score_then_more_votes_then_the_first_sampled():
    assert choose({"18": 3.0, "20": 3.5}, {"18": 3, "20": 1}) == "20"
    assert choose({"18": 2.0, "20": 2.0}, {"18": 1, "20": 2}) == "20"  # tie: more votes
    assert choose({"20": 1.0, "18": 1.0}, {"20": 1, "18": 1}) == "20"  # tie: sampled first
    assert choose({}, {}) is None


def test_backward_verification_can_overturn_the_majority_only_with_enough_weight():
    votes = tally(["5", "5", "6"])
    successes = {"5": 0, "6": 1}
    assert choose(combine(votes, successes, 0.5), votes) == "5"
    assert choose(combine(votes, successes, 1.0), votes) == "5"  # 2 vs 2: more votes wins
    assert choose(combine(votes, successes, 1.5), votes) == "6"


def _problem(question: str, answer: str = "10", answer_type: str = "number", options=()):
    return Problem(id="p", dataset="d", question=question, answer=answer,
                   answer_type=answer_type, options=options)  # type: ignore[arg-type]


def test_backward_plan_states_each_candidate_and_hides_the_same_number():
    plan, fallback = backward_plan(_problem("Ann has 4 pens and buys 6. How many now?"),
                                   ["10", "12"], seed=0)
    assert fallback == ""
    assert [candidate for _, candidate, _ in plan] == ["10", "12"]
    assert len({rule.answer for _, _, rule in plan}) == 1
    plan, _ = backward_plan(_problem("Ann has 4 pens and buys 6. How many now?"), ["4", "9"], 0)
    assert {rule.answer for _, _, rule in plan} == {"6"}  # never a candidate's own value
    assert all(f"is {c}. What number" in rule.question for _, c, rule in plan)


def test_backward_plan_falls_back_without_a_number_to_state_or_to_hide():
    choice = _problem("Which is red? It has 3 wheels.", "A", "choice", ("car", "sky"))
    assert backward_plan(choice, ["A"], seed=0) == ([], "answer type 'choice': no number to "
                                                    "state and hide")
    repeated = _problem("2 cats and 2 dogs. How many pets?", "4")
    assert backward_plan(repeated, ["4"], seed=0)[1].startswith("no number in the question")
    only_candidates = _problem("Ann has 4 pens and buys 6. How many now?")
    assert backward_plan(only_candidates, ["4", "6"], seed=0)[1].startswith("no number in the")
    assert backward_plan(choice, [], seed=0)[1]  # marked even when no sample answered


def test_decodings_survive_a_round_trip_and_sum_up_per_problem():
    check = BackwardCheck("6", "Q with x", "4", "4", True, 9)
    first = Decoding("a", "forward_backward", ("5", "6", None), {"5": 1, "6": 1}, (check,),
                     {"5": 1.0, "6": 2.0}, "6", "5", False, "", 30, 9)
    second = Decoding("b", "forward_backward", ("A", "A", "B"), {"A": 2, "B": 1}, (),
                      {"A": 2.0, "B": 1.0}, "A", "A", True, "answer type 'choice'", 21, 0)
    assert decoding_from_json(decoding_to_json(first), "x") == first
    figures = summary([first, second])
    assert figures["samples"] == 3
    assert figures["forward_tokens_per_problem"] == 25.5
    assert figures["backward_tokens_per_problem"] == 4.5
    assert figures["fallback_rate"] == 0.5
    assert figures["self_consistency_accuracy"] == 0.5
