"""The console tables are printed to: stdout, at full width even when it is a pipe or a file."""

from __future__ import annotations

from rich.console import Console

PIPE_WIDTH = 160  # rich gives a pipe 80 columns, which cuts method and benchmark names


def table_console() -> Console:
    """A console on stdout; a terminal keeps its own width, a pipe or file gets ``PIPE_WIDTH``."""
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, PIPE_WIDTH)
    return console
