"""How far above guessing each method of a synthetic-suite study is, pooled over its runs.

For every method, setting and benchmark: the problems answered at all (a strict final answer
was found), those answered right, and what a guess among the answered multiple-choice
problems would get right (one over the number of options; arithmetic answers are numbers,
which a guess does not get), with the solved count per task family.

    python benchmarks/guess_level.py runs/synthetic_study/seed*-train_fraction*
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

from revthink.synthetic import item_from_id

DATE = re.compile(r"\d{1,2}/\d{1,2}/\d{4}")
FAMILIES = ("arithmetic", "dates", "relations")
HEADER = ("| setting | benchmark | method | answered | correct | a guess among the answered "
          "| correct - guess | " + " | ".join(FAMILIES) + " |")


def family(options: tuple[str, ...]) -> str:
    """The suite's family from a problem's options: none, dates, or names."""
    if not options:
        return "arithmetic"
    return "dates" if any(DATE.search(option) for option in options) else "relations"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders of one study")
    args = parser.parse_args()
    counts: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    guesses: dict[tuple[str, str, str], float] = defaultdict(float)
    for run in args.runs:
        setting = run.name.partition("-")[2] or run.name
        for path in sorted(run.glob("evaluate/*/*/predictions.jsonl")):
            method, benchmark = path.parts[-3], path.parts[-2]
            key = (setting, benchmark, method)
            tally = counts[key]
            for line in path.read_text(encoding="utf-8").splitlines():
                prediction = json.loads(line)
                options = item_from_id(prediction["problem_id"]).problem.options
                name = family(options)
                tally["n"] += 1
                tally[name] += 1
                if prediction["correct"]:
                    tally["correct"] += 1
                    tally[name + " solved"] += 1
                if prediction["extracted"] is not None:
                    tally["answered"] += 1
                    guesses[key] += 1 / len(options) if options else 0.0
    print(HEADER)
    print("|---|---|---|" + "---:|" * (4 + len(FAMILIES)))
    for (setting, benchmark, method), tally in sorted(counts.items()):
        guess = guesses[(setting, benchmark, method)]
        solved = " | ".join(f"{tally[f + ' solved']}/{tally[f]}" for f in FAMILIES)
        print(f"| {setting} | {benchmark} | {method} | {tally['answered']} of {tally['n']} | "
              f"{tally['correct']} | {guess:.1f} | {tally['correct'] - guess:+.1f} | {solved} |")


if __name__ == "__main__":
    main()
