"""How often the reversal checks are right, measured on reversals labelled by hand.

``tests/data/reversals_labelled.jsonl`` holds backward questions of GSM8K, CommonsenseQA and
StrategyQA problems (from ../shared/data), written to look like a small teacher's, each
labelled valid or invalid by reading it, with a one-line reason, independently of the checks.
The check under test is ``quality.reversal_defect``, the one that makes the augmentation ask
the teacher again: it calls a backward question valid when it finds no defect. The figures
are in docs/teacher_audit.md; this test fails when they change, so the page cannot go stale.

    .venv/bin/pytest tests/test_reversal_checks.py -q -s     # prints the table
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from revthink.augment.quality import reversal_defect
from revthink.records import Problem

LABELLED = Path(__file__).parent / "data" / "reversals_labelled.jsonl"


def labelled() -> list[dict]:
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if r]


def problem(row: dict) -> Problem:
    """The row's problem as the augmentation sees it; a choice answer is its option text."""
    if row["answer_type"] == "choice":
        return Problem(row["problem_id"], row["source"], row["question"], "A", "choice",
                       options=(row["answer"],))
    return Problem(row["problem_id"], row["source"], row["question"], row["answer"],
                   row["answer_type"])


def confusion(rows: list[dict]) -> Counter[str]:
    """tp: valid and passed; fp: invalid but passed; fn: valid but refused; tn: refused."""
    counts: Counter[str] = Counter()
    for row in rows:
        passed = reversal_defect(problem(row), row["hidden"], row["backward_question"]) is None
        counts[("t" if passed == row["valid"] else "f") + ("p" if passed else "n")] += 1
    return counts


def figures(counts: Counter[str]) -> tuple[float, float]:
    """Precision (passed ones that are valid) and recall (valid ones that pass)."""
    passed = counts["tp"] + counts["fp"]
    valid = counts["tp"] + counts["fn"]
    return counts["tp"] / passed if passed else 0.0, counts["tp"] / valid if valid else 0.0


def test_the_labelled_set_is_large_and_balanced_enough_to_measure():
    rows = labelled()
    by_source = Counter(r["source"] for r in rows)
    assert set(by_source) == {"gsm8k", "commonsenseqa", "strategyqa"} and len(rows) >= 60
    for source in by_source:
        labels = Counter(r["valid"] for r in rows if r["source"] == source)
        assert labels[True] >= 5 and labels[False] >= 5, source
    assert all(r["reason"].strip() and r["hidden"].strip() for r in rows)


def test_precision_and_recall_of_the_reversal_check_hold():
    rows = labelled()
    table = {}
    for source in ("gsm8k", "commonsenseqa", "strategyqa", "all"):
        chosen = [r for r in rows if source in ("all", r["source"])]
        counts = confusion(chosen)
        table[source] = (len(chosen), dict(counts), *(round(f, 2) for f in figures(counts)))
    for source, (n, counts, precision, recall) in table.items():
        print(f"{source}: n={n} {counts} precision={precision} recall={recall}")
    assert {s: row[2:] for s, row in table.items()} == EXPECTED


# (precision, recall) as docs/teacher_audit.md states them
EXPECTED: dict[str, tuple[float, float]] = {
    "gsm8k": (0.69, 0.91), "commonsenseqa": (0.72, 0.93), "strategyqa": (0.68, 1.0),
    "all": (0.7, 0.94),
}
