"""The reversal probe's results as terminal tables, read back from ``reversal.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.table import Table


def results_table(path: Path) -> Group:
    """Fictional facts per variant (forward vs reverse), then celebrities per student."""
    results = json.loads(path.read_text(encoding="utf-8"))
    facts = Table(title="Fictional facts learnt person -> description")
    facts.add_column("variant", no_wrap=True)
    for column in ("fwd EM", "rev EM", "fwd choice", "rev choice", "fwd logprob", "rev logprob"):
        facts.add_column(column, justify="right")
    for name, scores in results["facts"].items():
        fwd, rev = scores["forward"], scores["reverse"]
        facts.add_row(
            name, _share(fwd["exact_match"]), _share(rev["exact_match"]), _share(fwd["choice"]),
            _share(rev["choice"]), _number(fwd["logprob"]), _number(rev["logprob"]),
        )
    chance = next(iter(results["facts"].values()))["reverse"]["choice_chance"]
    facts.caption = (
        "fwd: person -> description, rev: description -> person; EM: greedy answer; choice: "
        f"right answer likelier than the other people's (chance {_share(chance)}); logprob: of "
        "the right completion, nats"
    )
    tables: list[Table] = [facts]
    if results["celebrities"]:
        pairs = Table(title="Celebrities: mean log-probability of the name asked for")
        for column in ("student", "pairs", "child -> parent", "parent -> child"):
            pairs.add_column(column, justify="left" if column == "student" else "right")
        for name, groups in results["celebrities"].items():
            for group, row in groups.items():
                label = name if group == "all" else f"  {group.replace('_', ' ')}"
                pairs.add_row(
                    label, str(row["n"]), _number(row["child_to_parent"]),
                    _number(row["parent_to_child"]),
                )
        tables.append(pairs)
    return Group(*tables)


def _share(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _number(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"
