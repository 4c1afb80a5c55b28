"""Sampled decoding for ``revthink evaluate``: n reasonings a problem, then a vote.

    revthink evaluate config.yaml evaluate.decode=forward_backward evaluate.samples=8 \\
        evaluate.temperature=0.7

Each problem's forward prompt (the one greedy evaluation sends) is sampled ``evaluate.samples``
times at ``evaluate.temperature`` (seeded with the run's seed). ``self_consistency`` keeps the
answer most samples reach. ``forward_backward`` (FOBAR) also asks the same student, for each
distinct candidate answer, the problem with one number hidden as x and the candidate stated as
its answer (the rule of ``revthink.augment.rule_backward``, sent as the forward prompt of a
number question, exactly as the ``gsm8k_backward`` benchmark asks it; never hiding a number
equal to a candidate, which copying the stated answer would recover); a candidate that leads
the student back to the hidden number gains ``evaluate.backward_weight`` (``voting.combine``).
A problem whose answer is not a number, or whose question has no number to hide, is decided by
votes alone and its decoding says so (``fallback``).

The prediction keeps one sampled reasoning that reaches the chosen answer, so rescoring its
text gives the same verdict, and counts every token generated for the problem (n reasonings
and the backward checks): tokens per problem compare strategies at equal n.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from revthink import answers
from revthink.augment.rule_backward import RuleBackward, mask_number
from revthink.config import ExperimentConfig
from revthink.evaluate.engines import Engine, Generation
from revthink.evaluate.scoring import add_seconds, answer_check, judge
from revthink.evaluate.voting import (
    BackwardCheck,
    Decoding,
    append_decodings,
    choose,
    combine,
    tally,
)
from revthink.prompting import encode_prompt, forward_prompt
from revthink.records import Prediction, Problem

Pending = tuple[Problem, str, RuleBackward]  # (problem, candidate, its backward question)


def predict(
    cfg: ExperimentConfig, method: str, folder: Path, todo: Sequence[Problem], tokenizer: Any,
    engine: Engine,
) -> Iterator[list[Prediction]]:
    """Predictions for ``todo``, ``evaluate.batch_size`` problems at a time.

    Each chunk's decodings are appended to ``decodings.jsonl`` before its predictions are
    yielded (the caller saves them), so a kept prediction always has its decoding.
    """
    size = cfg.evaluate.batch_size
    for start in range(0, len(todo), size):
        chunk = list(todo[start : start + size])
        predictions, decodings = _decide(cfg, method, folder, chunk, tokenizer, engine)
        append_decodings(folder, decodings)
        yield predictions


def backward_plan(
    problem: Problem, candidates: Sequence[str], seed: int
) -> tuple[list[Pending], str]:
    """The backward question of every candidate, or none and why the problem falls back.

    A problem whose answer is no number falls back whatever its samples say, so that reason is
    given even when no sample stated an answer.
    """
    if problem.answer_type != "number":
        return [], f"answer type {problem.answer_type!r}: no number to state and hide"
    if mask_number(problem, seed, avoid=candidates) is None:
        return [], "no number in the question to hide (apart from the candidate answers)"
    plan = []
    for candidate in candidates:
        rule = mask_number(dataclasses.replace(problem, answer=candidate), seed, avoid=candidates)
        assert rule is not None  # the choice of number does not depend on the answer
        plan.append((problem, candidate, rule))
    return plan, ""


def _decide(
    cfg: ExperimentConfig, method: str, folder: Path, chunk: list[Problem], tokenizer: Any,
    engine: Engine,
) -> tuple[list[Prediction], list[Decoding]]:
    n, template = cfg.evaluate.samples, cfg.train.template
    prompts = [forward_prompt(tokenizer, p, template) for p in chunk]
    asked = [(p, prompt) for p, prompt in zip(chunk, prompts, strict=True) for _ in range(n)]
    flat = _complete(engine, tokenizer, cfg, folder, asked)
    samples = [flat[i * n : (i + 1) * n] for i in range(len(chunk))]
    said = [[_answer(g.text, p) for g in s] for p, s in zip(chunk, samples, strict=True)]
    plans = [
        backward_plan(p, list(tally(a)), cfg.seed) if cfg.evaluate.decode == "forward_backward"
        else ([], "")
        for p, a in zip(chunk, said, strict=True)
    ]
    checks = iter(_check(engine, tokenizer, cfg, folder, [i for plan, _ in plans for i in plan]))
    predictions, decodings = [], []
    for problem, prompt, sampled, answers_, (plan, fallback) in zip(
        chunk, prompts, samples, said, plans, strict=True
    ):
        own = [next(checks) for _ in plan]
        decoding = _decoding(cfg, problem, sampled, answers_, own, fallback)
        output = _reaching(sampled, answers_, decoding.chosen)
        tokens = decoding.forward_tokens + decoding.backward_tokens
        predictions.append(judge(problem, output, method=method, prompt=prompt, tokens=tokens))
        decodings.append(decoding)
    return predictions, decodings


def _decoding(
    cfg: ExperimentConfig, problem: Problem, sampled: list[Generation],
    said: list[str | None], checks: list[BackwardCheck], fallback: str,
) -> Decoding:
    votes = tally(said)
    successes = {c.candidate: int(c.recovered) for c in checks}
    scores = combine(votes, successes, cfg.evaluate.backward_weight)
    majority = choose(combine(votes, {}, 0.0), votes)
    majority_correct = majority is not None and answers.is_correct(
        _reaching(sampled, said, majority), problem.answer, problem.answer_type,
        problem.options or None, "strict",
    )
    return Decoding(
        problem_id=problem.id, strategy=cfg.evaluate.decode, answers=tuple(said), votes=votes,
        checks=tuple(checks), scores=scores, chosen=choose(scores, votes), majority=majority,
        majority_correct=majority_correct, fallback=fallback,
        forward_tokens=sum(g.tokens for g in sampled),
        backward_tokens=sum(c.tokens for c in checks),
    )


def _check(
    engine: Engine, tokenizer: Any, cfg: ExperimentConfig, folder: Path, pending: list[Pending]
) -> list[BackwardCheck]:
    """Ask every pending backward question once; the candidate is verified by the hidden number."""
    questions = [
        Problem(id=p.id, dataset=p.dataset, question=rule.question, answer=rule.answer,
                answer_type="number")
        for p, _, rule in pending
    ]
    prompts = [forward_prompt(tokenizer, q, cfg.train.template) for q in questions]
    outputs = _complete(engine, tokenizer, cfg, folder, list(zip(questions, prompts, strict=True)))
    return [
        BackwardCheck(
            candidate=candidate, question=rule.question, expected=rule.answer,
            extracted=_answer(g.text, q), tokens=g.tokens,
            recovered=answers.is_correct(g.text, rule.answer, "number", mode="strict"),
        )
        for (_, candidate, rule), q, g in zip(pending, questions, outputs, strict=True)
    ]


def _complete(
    engine: Engine, tokenizer: Any, cfg: ExperimentConfig, folder: Path,
    asked: list[tuple[Problem, str]],
) -> list[Generation]:
    """One completion per (problem, rendered prompt), in order; generation time is recorded."""
    if not asked:
        return []
    ids = [encode_prompt(tokenizer, prompt, cfg.train.template) for _, prompt in asked]
    found: dict[int, Generation] = {}
    for batch in engine.generate(ids, [answer_check(p) for p, _ in asked]):
        found.update(zip(batch.indices, batch.generations, strict=True))
        add_seconds(folder, batch.seconds)
    return [found[i] for i in range(len(asked))]


def _answer(text: str, problem: Problem) -> str | None:
    """The answer a sample states, read as strict scoring reads it (what votes count)."""
    return answers.extract(text, problem.answer_type, problem.options or None, mode="strict")


def _reaching(sampled: list[Generation], said: list[str | None], answer: str | None) -> str:
    """The first sampled reasoning stating ``answer``; the first one when none does."""
    reaching = (g.text for g, a in zip(sampled, said, strict=True) if a == answer)
    return next(reaching, sampled[0].text)
