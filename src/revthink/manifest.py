"""Stage manifests: what a finished stage was made from, written last.

A stage folder with a ``manifest.json`` whose fingerprint equals the one the stage would write
now is complete and is skipped. A folder without one was interrupted: the stage resumes from
what it appended. The fingerprint covers the config section, the input files' hashes and the
seed; versions, git SHA and hardware are recorded for people but do not force a rerun.
A stage may also record the hashes of its output files: one changed or damaged since (a torn
``records.jsonl``) makes the stage incomplete, so it runs again rather than hand a broken file
to the next stage. An unreadable manifest means "not complete", with a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from revthink.config import config_hash

MANIFEST = "manifest.json"
OUTPUTS = "outputs"  # manifest key: output file name -> SHA-256 when the stage was done
_PACKAGES = ("revthink", "torch", "transformers", "peft", "accelerate", "datasets")

_log = logging.getLogger(__name__)


def file_hash(path: Path) -> str:
    """SHA-256 of a file (or of every file below a folder, in sorted order)."""
    digest = hashlib.sha256()
    paths = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in paths:
        digest.update(str(p.relative_to(path) if path.is_dir() else p.name).encode())
        with p.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def fingerprint(
    config: Any, inputs: Iterable[Path] = (), seed: int = 0,
    extra: Mapping[str, Any] | None = None, *, root: Path | None = None,
) -> dict[str, Any]:
    """What decides whether a stage must run again.

    Inputs below ``root`` (the run folder) are named relative to it, so a run folder that is
    moved or copied elsewhere stays finished.
    """
    return {
        "config_hash": config_hash(config),
        "inputs": {_input_name(p, root): file_hash(p) for p in inputs},
        "seed": seed,
        "extra": dict(extra or {}),
    }


def _input_name(path: Path, root: Path | None) -> str:
    if root is not None and path.is_relative_to(root):
        return path.relative_to(root).as_posix()
    return str(path)


def is_complete(stage_dir: Path, expected: Mapping[str, Any]) -> bool:
    """True when the stage finished with exactly these settings and inputs, outputs intact."""
    written = read_manifest(stage_dir)
    # compared as written: write_manifest stores values JSON lacks (paths) as strings
    expected_json = json.loads(json.dumps(dict(expected), default=str))
    if written is None:
        return False
    if written.get("fingerprint") != expected_json:
        _log.warning("%s: its %s changed since it finished; it runs again", stage_dir,
                     _differences(written.get("fingerprint"), expected_json))
        return False
    return _outputs_intact(stage_dir, written.get(OUTPUTS) or {})


def _differences(written: Any, expected: dict[str, Any]) -> str:
    """Which parts of two fingerprints differ, in words: "settings, input files, 'method'"."""
    if not isinstance(written, dict):
        return "settings (the manifest has no fingerprint)"
    names = {"config_hash": "settings", "inputs": "input files", "seed": "seed"}
    parts = [names[k] for k in names if written.get(k) != expected.get(k)]
    extra_w, extra_e = written.get("extra") or {}, expected.get("extra") or {}
    parts += [f"'{k}'" for k in sorted(set(extra_w) | set(extra_e), key=str)
              if extra_w.get(k) != extra_e.get(k)]
    return ", ".join(parts) or "fingerprint"


def read_manifest(stage_dir: Path) -> dict[str, Any] | None:
    """The manifest of ``stage_dir``; None when there is none or it cannot be read (warned)."""
    path = stage_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        written = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        reason = f"not readable as UTF-8 JSON ({type(err).__name__})"
    else:
        if isinstance(written, dict):
            return written
        reason = f"a JSON {type(written).__name__}, expected an object"
    _log.warning("%s: %s; the stage counts as not finished and runs again", path, reason)
    return None


def _outputs_intact(stage_dir: Path, outputs: Any) -> bool:
    """True when every output file recorded in the manifest still has its recorded hash."""
    if not isinstance(outputs, dict):
        _log.warning("%s: key %r is not a mapping; the stage runs again",
                     stage_dir / MANIFEST, OUTPUTS)
        return False
    for name, digest in outputs.items():
        path = stage_dir / name
        if not path.is_file() or file_hash(path) != digest:
            state = "is missing" if not path.is_file() else "changed since the stage finished"
            _log.warning("%s %s; the stage runs again", path, state)
            return False
    return True


def write_manifest(
    stage_dir: Path, expected: Mapping[str, Any], outputs: Sequence[str] = (), **details: Any
) -> Path:
    """Write the manifest atomically; call it only after every other output is in place.

    ``outputs`` names files of ``stage_dir`` whose hashes ``is_complete`` checks later.
    """
    stage_dir.mkdir(parents=True, exist_ok=True)
    body = {
        "fingerprint": dict(expected),
        "versions": _versions(),
        "git_sha": _git_sha(),
        "hardware": _hardware(),
        **details,
    }
    if outputs:
        body[OUTPUTS] = {name: file_hash(stage_dir / name) for name in outputs}
    path = stage_dir / MANIFEST
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body, indent=2, sort_keys=True, default=str), encoding="utf-8")
    os.replace(tmp, path)
    return path


def invalidate(stage_dir: Path) -> None:
    """Mark a stage as unfinished before it writes anything new."""
    (stage_dir / MANIFEST).unlink(missing_ok=True)


def _versions() -> dict[str, str]:
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def _git_sha() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def _hardware() -> dict[str, Any]:
    info: dict[str, Any] = {"machine": platform.machine(), "cpus": os.cpu_count()}
    try:
        import torch

        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return info
