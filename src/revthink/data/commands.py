"""``revthink data list`` and ``revthink data show NAME``: the registry for people.

    revthink data list                      every dataset, its splits and local sizes
    revthink data show gsm8k --split test -n 3
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from revthink.data.loading import find_data_dir, load_problems, local_sizes
from revthink.data.mappers import letters
from revthink.data.registry import get_spec, registry
from revthink.data.spec import DatasetSpec
from revthink.errors import RevthinkError
from revthink.records import Problem
from revthink.terminal import table_console

app = typer.Typer(no_args_is_help=True, add_completion=False)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Local benchmark folder (default: $REVTHINK_DATA, ../shared/data)."
    ),
]
_REFERENCE_CHARS = 400


@app.command("list")
def list_datasets(data_dir: DataDir = None) -> None:
    """Every registered dataset: answer type, family, splits with local sizes, source."""
    console = table_console()
    folder = find_data_dir(data_dir)
    table = Table(title=f"datasets (local folder: {folder or 'none found'})")
    table.add_column("name", no_wrap=True, style="bold")
    table.add_column("answer type", no_wrap=True)
    table.add_column("family", no_wrap=True)
    table.add_column("splits (local sizes)", min_width=24)
    table.add_column("source", no_wrap=True)
    for spec in registry().values():
        splits, source = _availability(spec, data_dir)
        table.add_row(spec.name, spec.answer_type, spec.family, splits, source)
    console.print(table)


def _availability(spec: DatasetSpec, data_dir: Path | None) -> tuple[str, str]:
    """The splits cell (with sizes where local) and the source cell; errors show in the cell."""
    try:
        sizes = local_sizes(spec, data_dir)
    except RevthinkError as err:
        return f"[red]{escape(str(err))}[/red]", "local (broken)"
    cell = " · ".join(
        f"{split} {sizes[split]:,}" if split in sizes else split for split in spec.split_names
    )
    if spec.local is not None and spec.local.format == "synthetic":
        return cell, "generated"
    if not sizes:
        return cell, "Hub only" if spec.hub is not None else "missing"
    return cell, "local + Hub" if spec.hub is not None else "local"


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="Registry name or path of a dataset YAML.")],
    split: Annotated[str | None, typer.Option(help="Split (default: test, else first).")] = None,
    n: Annotated[int, typer.Option("-n", min=0, help="How many problems to print.")] = 3,
    data_dir: DataDir = None,
) -> None:
    """Print the first problems of a split with their options and gold answers."""
    spec = get_spec(name)
    chosen = split or ("test" if "test" in spec.split_names else spec.split_names[0])
    problems = load_problems(name, chosen, data_dir=data_dir)[:n]
    console = table_console()
    console.print(Text.assemble((spec.name, "bold"), f" / {chosen}: {spec.description}"))
    for problem in problems:
        _print_problem(console, problem)


def _print_problem(console: Console, problem: Problem) -> None:
    console.rule(Text(f"{problem.id}  ({problem.answer_type})"))
    console.print(problem.question, highlight=False, markup=False)
    for letter, option in zip(letters(len(problem.options)), problem.options, strict=True):
        console.print(f"  ({letter}) {option}", highlight=False, markup=False)
    gold = problem.answer
    if problem.options:
        gold += f" ({problem.answer_option})"
    console.print(Text.assemble(("gold answer: ", "green"), gold))
    if problem.concept:
        console.print(Text(f"concept: {problem.concept}", style="dim"))
    if problem.reference:
        reference = problem.reference
        if len(reference) > _REFERENCE_CHARS:
            reference = reference[:_REFERENCE_CHARS] + " …"
        console.print(Text(f"reference: {reference}", style="dim"))
