"""Writes that leave a file alone when it already holds the content, and are atomic otherwise.

A finished run given to `revthink run` or `revthink report` again rebuilds the same config,
scores, cards, timings and report; writing only what differs keeps their times, and lets a
finished run on a read-only folder be run again without a single write.
"""

from __future__ import annotations

import os
from pathlib import Path


def update_file(path: Path, content: str | bytes) -> bool:
    """Write ``content`` (text as UTF-8) unless ``path`` already holds it; True when written.

    A crash while writing leaves the old file or the new one, never half of it.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True
