"""One writer per run folder: a second `revthink` on the same run refuses instead of interleaving.

Two `revthink train` on one run both appended every step to ``losses.jsonl``; two `augment`
raced on ``records.jsonl.tmp``. Each command that writes a run holds an exclusive ``flock`` on
``runs/<name>/.lock`` while it works; the file names the holder, so the second one says whom
it waits for. The kernel drops the lock when the holder dies, so a killed run never leaves a
stale lock behind. Processes of one ``accelerate launch`` job share the job's lock: only the
first process (rank 0) takes it.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from revthink.errors import RevthinkError

LOCK = ".lock"


class RunBusy(RevthinkError):
    """Another process is writing the same run folder."""


@contextmanager
def run_lock(folder: Path, command: str) -> Iterator[None]:
    """Hold ``folder``'s lock while open; RunBusy naming the holder when another has it.

    A folder that cannot be written (read-only) is not locked: nobody can write it, and a
    finished run there must still be readable by `revthink run`.
    """
    if os.environ.get("RANK", "0") != "0":  # another process of the same accelerate job
        yield
        return
    import fcntl

    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = (folder / LOCK).open("a+", encoding="utf-8")
    except OSError as err:
        if err.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
            yield
            return
        raise
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RunBusy(
                f"{folder}: in use by {holder}; wait for it to finish or stop it, then run "
                "again (finished stages are kept)"
            ) from None
        handle.truncate(0)
        handle.write(f"process {os.getpid()} (revthink {command})\n")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)
