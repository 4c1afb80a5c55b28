"""A resumable cache of teacher results, one JSON object a line, appended as results arrive.

Each successful result is written (append, flush, fsync) the moment the teacher returns it,
under a key hashing everything that decides the answer: the teacher's name, the request's
labels and rendered messages, its sampling settings and the attempt number. A run killed at
any point (kill -9 included) therefore resumes by replaying the steps: finished calls come
from here, only the missing ones go to the teacher, and nothing is asked twice. A line torn by
a kill in mid-write is cut off when the cache is opened, so the next append starts cleanly.
Errors are never cached: a failed call is tried again on resume.

Line layout: ``{"key", "purpose", "problem_id", "texts", "finish_reasons", "prompt_tokens",
"completion_tokens"}``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import IO

from revthink.records import repair_jsonl
from revthink.teachers.base import GenerationRequest, GenerationResult, chat_dicts

_log = logging.getLogger(__name__)


def request_key(teacher_name: str, request: GenerationRequest, attempt: int) -> str:
    """SHA-256 of what decides a result.

    ``purpose`` and ``problem_id`` are included because the program teacher answers from them;
    ``attempt`` (the sample index) keeps retries apart even where the seed is ignored.
    """
    blob = json.dumps(
        {
            "teacher": teacher_name,
            "purpose": request.purpose,
            "problem_id": request.problem_id,
            "messages": chat_dicts(request.messages),
            "n": request.n,
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "seed": request.seed,
            "stop": list(request.stop),
            "attempt": attempt,
        },
        sort_keys=True, ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class ResultCache:
    """Teacher results by request key, backed by an append-only JSONL file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries = _load(path)
        self._file: IO[str] | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> GenerationResult | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        return GenerationResult(
            texts=tuple(entry["texts"]), finish_reasons=tuple(entry["finish_reasons"]),
            prompt_tokens=entry["prompt_tokens"], completion_tokens=entry["completion_tokens"],
        )

    def put(self, key: str, request: GenerationRequest, result: GenerationResult) -> None:
        """Store a successful result durably before anyone relies on it."""
        if result.error is not None or key in self._entries:
            return
        entry = {
            "key": key, "purpose": request.purpose, "problem_id": request.problem_id,
            "texts": list(result.texts), "finish_reasons": list(result.finish_reasons),
            "prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens,
        }
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._entries[key] = entry

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _load(path: Path) -> dict[str, dict]:
    """Entries of an existing cache file, after cutting off a torn last line."""
    if not path.exists():
        return {}
    repair_jsonl(path)
    text = path.read_bytes().decode("utf-8", errors="replace")
    entries = {}
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            entry = json.loads(line)
            entries[entry["key"]] = entry
        except (json.JSONDecodeError, KeyError, TypeError):
            # A cache line is only a saved call: skipping it costs one repeated call.
            _log.warning("%s:%d: unreadable cache line skipped", path, number)
    return entries
