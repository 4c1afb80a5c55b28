"""The teacher's consistency verdict against an exact check, on GSM8K rule-made reversals.

A rule-made backward question hides one number of Q, so whether a backward reasoning recovers
it is known exactly. This script has the configured teacher answer each such question once
(wrong answers kept, unlike augmentation), asks it for its consistency verdict on every answer,
and counts how often the verdict agrees with the exact check: precision and recall of "True"
(the verdict the filter keeps) and of "False" (the verdict that drops).

    python benchmarks/judge_vs_rule.py configs/teacher_audit.yaml --n 30
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from revthink.answers import is_correct
from revthink.augment import prompts
from revthink.augment.rule_backward import mask_number
from revthink.augment.steps import derive_seed
from revthink.config import ExperimentConfig, load_config
from revthink.data import load_problems
from revthink.teachers.base import GenerationRequest, Message, Teacher
from revthink.teachers.registry import create_teacher


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="a run config; its augment.teacher is judged")
    parser.add_argument("--n", type=int, default=30, help="GSM8K train problems (seeded)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write every case as JSON lines here")
    args = parser.parse_args()
    cfg = load_config(args.config, [])
    problems = load_problems("gsm8k", "train", limit=args.n, seed=args.seed)
    rules = {p.id: rule for p in problems if (rule := mask_number(p, args.seed)) is not None}
    problems = [p for p in problems if p.id in rules]
    teacher = create_teacher(cfg.augment.teacher)
    started = time.monotonic()
    try:
        reasonings = _ask(teacher, cfg, "backward_reasoning", {
            p.id: prompts.backward_reasoning_messages(rules[p.id].question, "math")
            for p in problems
        }, args.seed)
        verdicts = _ask(teacher, cfg, "consistency", {
            p.id: prompts.consistency_messages(p, rules[p.id].question, reasonings[p.id])
            for p in problems
        }, args.seed)
    finally:
        teacher.close()
    cases = [
        {"id": p.id, "backward_question": rules[p.id].question,
         "expected": rules[p.id].answer, "backward_reasoning": reasonings[p.id],
         "exact": is_correct(reasonings[p.id], rules[p.id].answer, "number", mode="strict"),
         "verdict": prompts.read_verdict(verdicts[p.id]), "verdict_text": verdicts[p.id]}
        for p in problems
    ]
    if args.out:
        args.out.write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
    _print(cases, time.monotonic() - started)


def _ask(
    teacher: Teacher, cfg: ExperimentConfig, purpose: str,
    messages: dict[str, tuple[Message, ...]], seed: int,
) -> dict[str, str]:
    """One greedy answer per problem, all sent together."""
    requests = [
        GenerationRequest(
            messages=turns, temperature=0.0, max_tokens=cfg.augment.max_tokens, purpose=purpose,
            seed=derive_seed(seed, pid, purpose, 0), problem_id=pid,
        )
        for pid, turns in messages.items()
    ]
    results = teacher.generate(requests)
    return {
        r.problem_id: (res.texts[0] if res.texts else "")
        for r, res in zip(requests, results, strict=True)
    }


def _print(cases: list[dict], seconds: float) -> None:
    def count(exact: bool, verdict: bool | None) -> int:
        return sum(c["exact"] is exact and c["verdict"] is verdict for c in cases)

    print(f"{len(cases)} rule-made reversals judged in {seconds:.0f} s")
    print("                     verdict True  verdict False  no verdict")
    for exact in (True, False):
        label = "R_b exact" if exact else "R_b wrong"
        print(f"{label:<20} {count(exact, True):>12} {count(exact, False):>14} "
              f"{count(exact, None):>11}")
    for verdict, exact in ((True, True), (False, False)):
        said = sum(c["verdict"] is verdict for c in cases)
        real = sum(c["exact"] is exact for c in cases)
        hit = count(exact, verdict)
        print(f'"{verdict}": precision {hit}/{said}, recall {hit}/{real}')


if __name__ == "__main__":
    main()
