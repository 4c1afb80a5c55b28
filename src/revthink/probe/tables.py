"""The reversal probe's results as tables, read back from ``reversal.json``.

``facts_grid`` and ``celebrities_grid`` are ``Grid``s, so the terminal (``results_table``) and
the report's "Reverse skills" section show the same cells.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Group

from revthink.report.tables import Grid, to_rich


def results_table(path: Path) -> Group:
    """Fictional facts per variant (forward vs reverse), then celebrities per student."""
    results = json.loads(path.read_text(encoding="utf-8"))
    facts = to_rich(facts_grid(results), title="Fictional facts learnt person -> description")
    facts.columns[0].no_wrap = True  # variant names whole; the number columns wrap instead
    facts.caption = (
        "fwd: person -> description, rev: description -> person; EM: greedy answer; choice: "
        f"right answer likelier than the other people's (chance {_share(chance(results))}); "
        "logprob: of the right completion, nats"
    )
    pairs = celebrities_grid(results)
    if not pairs.rows:
        return Group(facts)
    title = "Celebrities: mean log-probability of the name asked for"
    return Group(facts, to_rich(pairs, title=title))


def facts_grid(results: dict[str, Any]) -> Grid:
    """Per fine-tuned variant: exact match, choice and log-probability, forward and reverse."""
    header = ("variant", "fwd EM", "rev EM", "fwd choice", "rev choice", "fwd logprob",
              "rev logprob")
    rows = []
    for name, scores in results["facts"].items():
        fwd, rev = scores["forward"], scores["reverse"]
        rows.append((name, _share(fwd["exact_match"]), _share(rev["exact_match"]),
                     _share(fwd["choice"]), _share(rev["choice"]),
                     _number(fwd["logprob"]), _number(rev["logprob"])))
    return Grid(header, tuple(rows))


def celebrities_grid(results: dict[str, Any]) -> Grid:
    """Per student and group of pairs: log-probability child -> parent and parent -> child."""
    header = ("student", "pairs", "child -> parent", "parent -> child")
    rows = []
    for name, groups in (results.get("celebrities") or {}).items():
        for group, row in groups.items():
            label = name if group == "all" else f"  {group.replace('_', ' ')}"
            rows.append((label, str(row["n"]), _number(row["child_to_parent"]),
                         _number(row["parent_to_child"])))
    return Grid(header, tuple(rows))


def chance(results: dict[str, Any]) -> float | None:
    """What guessing scores on ``choice`` (the same for every variant)."""
    first = next(iter(results["facts"].values()), None)
    return first["reverse"].get("choice_chance") if first else None


def _share(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _number(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"
