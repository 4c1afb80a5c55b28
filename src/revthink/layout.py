"""Where a sweep keeps the list of its runs: read by the report, written by the sweep.

A sweep's folder holds ``sweep.json`` (its combinations) and one run folder per combination;
this module is the one place both sides take the file's name and reading from, so the report
(a view) needs nothing of the sweep (which runs the pipeline).
"""

from __future__ import annotations

import json
from pathlib import Path

from revthink.errors import RecordError

SWEEP_FILE = "sweep.json"  # in runs/<name>/: the combinations, for the report


def combination_folders(folder: Path) -> list[Path]:
    """The run folders of the sweep in ``folder`` that exist; empty when it holds no sweep."""
    path = folder / SWEEP_FILE
    if not path.is_file():
        return []
    try:
        labels = [c["label"] for c in json.loads(path.read_text(encoding="utf-8"))["combinations"]]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        raise RecordError(
            f"{path}: unreadable ({type(err).__name__}: {err}); run the sweep again to rewrite it"
        ) from None
    return [folder / label for label in labels if (folder / str(label)).is_dir()]
