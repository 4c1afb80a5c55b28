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
    facts = Table(title="Fictional facts: person -> description (forward) vs reverse")
    for column in ("variant", "forward EM", "reverse EM", "forward logprob", "reverse logprob"):
        facts.add_column(column, justify="left" if column == "variant" else "right")
    for name, scores in results["facts"].items():
        fwd, rev = scores["forward"], scores["reverse"]
        facts.add_row(
            name, _share(fwd["exact_match"]), _share(rev["exact_match"]),
            _number(fwd["logprob"]), _number(rev["logprob"]),
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
