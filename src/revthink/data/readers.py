"""Raw rows out of local files, each with a locator that error messages can point at.

The file's extension picks the reader: ``.jsonl`` (one object a line), ``.json`` (a list of
objects, a mapping id -> object as in TabMWP, or a BIG-bench task with ``examples``) and
``.csv`` (a header row). Nothing here knows what the fields mean; that is the mappers' job.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from revthink.errors import DataError


@dataclass(frozen=True)
class RawRow:
    """One source record: ``where`` names it for people, ``fallback_id`` names it for records.

    ``fallback_id`` is the record's own key when the source has one (a TabMWP id), otherwise
    ``<file stem or Hub split>-<index>``, stable as long as the source file is.
    """

    where: str
    fallback_id: str
    data: dict[str, Any]


def read_rows(path: Path) -> list[RawRow]:
    """Every record of ``path``; raises DataError naming the file and line on bad input."""
    readers = {".jsonl": _jsonl_rows, ".json": _json_rows, ".csv": _csv_rows}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise DataError(f"{path}: unsupported file type; expected one of {', '.join(readers)}")
    return reader(path, _read_text(path))


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, expected a data file") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read the file ({err.strerror})") from None
    data = data.removeprefix(codecs.BOM_UTF8)  # as spreadsheet programs write CSV
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataError(
            f"{path}:{line}: not UTF-8 text (byte {err.start}); re-save the file as UTF-8"
        ) from None


def _jsonl_rows(path: Path, text: str) -> list[RawRow]:
    rows = []
    # JSON lines end at "\n" only: splitlines() would also cut at U+2028 and U+2029, which
    # JSON allows unescaped inside strings
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}:{number}: malformed JSON ({err.msg})") from None
        if not isinstance(data, dict):
            raise DataError(f"{path}:{number}: expected a JSON object, got {type(data).__name__}")
        rows.append(RawRow(f"{path}:{number}", f"{path.stem}-{len(rows)}", data))
    return rows


def _json_rows(path: Path, text: str) -> list[RawRow]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{err.lineno}: malformed JSON ({err.msg})") from None
    if isinstance(data, dict) and isinstance(data.get("examples"), list):
        return _bigbench_rows(path, data)
    if isinstance(data, list):
        items = [(f"{path}: item {i}", f"{path.stem}-{i}", v) for i, v in enumerate(data)]
    elif isinstance(data, dict):
        items = [(f"{path}: record {k!r}", str(k), v) for k, v in data.items()]
    else:
        raise DataError(f"{path}: expected a list or a mapping of records")
    for where, _, value in items:
        if not isinstance(value, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return [RawRow(where, key, value) for where, key, value in items]


def _bigbench_rows(path: Path, task: dict[str, Any]) -> list[RawRow]:
    """BIG-bench examples, each input preceded by the task's prefix as BIG-bench presents it.

    A BIG-bench task lives in ``<task name>/task.json``: ids then read ``<task name>-<index>``.
    """
    prefix = task.get("task_prefix") or ""
    stem = path.parent.name if path.stem == "task" else path.stem
    rows = []
    for i, example in enumerate(task["examples"]):
        where = f"{path}: examples[{i}]"
        if not isinstance(example, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(example).__name__}")
        if prefix and isinstance(example.get("input"), str):
            example = {**example, "input": prefix + example["input"]}
        rows.append(RawRow(where, f"{stem}-{i}", example))
    return rows


def _csv_rows(path: Path, text: str) -> list[RawRow]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    try:
        for data in reader:
            if None in data:  # more fields than the header: an unquoted comma shifted them
                header = len(reader.fieldnames or ())
                raise DataError(
                    f"{path}:{reader.line_num}: {header + len(data[None])} fields, the header "
                    f"has {header}; put a field that contains a comma in double quotes"
                )
            rows.append(RawRow(f"{path}:{reader.line_num}", f"{path.stem}-{len(rows)}", data))
    except csv.Error as err:
        raise DataError(f"{path}:{reader.line_num}: malformed CSV ({err})") from None
    if reader.fieldnames is None:
        raise DataError(f"{path}: empty CSV file; expected a header row")
    return rows
