"""``load_problems``: a dataset name and a split in, a list of Problems out.

A split is read from the local data folder when its files are there, else from the Hub when
the registry names a Hub source for it. The data folder is ``data_dir`` when given, else
``$REVTHINK_DATA``, else the first ``shared/data`` found beside the project or above the
current directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import revthink
from revthink.data.backward import exact_backward_problem, rule_backward_problems
from revthink.data.hub import hub_rows
from revthink.data.mappers import MAPPERS, Context
from revthink.data.readers import RawRow, read_rows
from revthink.data.registry import get_spec
from revthink.data.spec import DatasetSpec, HubSource, LocalSource, parts
from revthink.data.splits import seeded_sample, seeded_split
from revthink.errors import DataError, RecordError
from revthink.records import Problem

Source = HubSource | LocalSource


def load_problems(
    dataset: str,
    split: str,
    *,
    data_dir: str | Path | None = None,
    limit: int | None = None,
    seed: int = 0,
) -> list[Problem]:
    """The problems of ``split``, in source order; ``limit`` keeps a seeded sample of that size.

    ``dataset`` is a registry name or the path of a dataset YAML. Raises DataError naming the
    file, record and field when the source is missing or malformed; nothing is dropped, except
    by a backward dataset's rule (``revthink.data.backward``), which counts what it leaves out.
    """
    spec = get_spec(dataset)
    if split not in spec.split_names:
        available = ", ".join(spec.split_names)
        raise DataError(f"dataset {spec.name!r} has no split {split!r}; available: {available}")
    problems = _load_split(spec, split, data_dir)
    return problems if limit is None else seeded_sample(problems, limit, seed)


def find_data_dir(explicit: str | Path | None = None) -> Path | None:
    """The local benchmark folder: ``explicit``, $REVTHINK_DATA, or ``shared/data`` nearby."""
    choices = ((explicit, "data_dir"), (os.environ.get("REVTHINK_DATA"), "$REVTHINK_DATA"))
    for value, what in choices:
        if value:
            path = Path(value).expanduser()
            if not path.is_dir():
                raise DataError(f"{what} is {str(path)!r}, which is not a folder")
            return path
    return next((path for path in _default_data_dirs() if path.is_dir()), None)


def _default_data_dirs() -> Iterator[Path]:
    """``shared/data`` beside the project (a clone with ``shared/`` next to it), then above cwd."""
    project_root = Path(revthink.__file__).resolve().parents[2]
    yield project_root.parent / "shared" / "data"
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        yield folder / "shared" / "data"


def local_sizes(spec: DatasetSpec, data_dir: str | Path | None = None) -> dict[str, int]:
    """Problems per split available without the Hub; splits whose files are absent are left out."""
    local = spec.local
    if local is None:
        return {}
    if local.format == "synthetic":
        return dict(local.sizes)
    root = _local_root(spec, data_dir)
    if root is None:
        return {}
    sizes = {}
    for split in spec.local_splits:
        problems = _read_local(spec, split, root)
        if problems is not None:
            sizes[split] = len(problems)
    return sizes


def _load_split(spec: DatasetSpec, split: str, data_dir: str | Path | None) -> list[Problem]:
    local, hub = spec.local, spec.hub
    if local is not None and local.format == "synthetic":
        return _synthetic(spec, split)
    root = _local_root(spec, data_dir)
    has_local = local is not None and split in spec.local_splits
    if has_local and root is not None:
        problems = _read_local(spec, split, root)
        if problems is not None:
            return problems
    no_local = _why_not_local(spec, split, root) if has_local else ""
    if hub is not None and split in spec.hub_splits:
        try:
            pooled = _map_rows(spec, hub, hub_rows(hub, hub.pool or parts(hub.splits, split)))
        except DataError as err:
            raise DataError(f"{err}; local copy: {no_local}" if no_local else str(err)) from None
        return _as_backward(spec, _select(spec, hub, pooled, split))
    raise DataError(f"dataset {spec.name!r} split {split!r}: {no_local}")


def _why_not_local(spec: DatasetSpec, split: str, root: Path | None) -> str:
    if root is None:
        return "no local data folder found (set REVTHINK_DATA or data.data_dir)"
    missing = next(p for p in _local_paths(spec, split, root) if not p.is_file())
    if missing.is_dir():
        return f"{missing}: is a folder, expected a data file"
    return f"{missing}: file not found"


def _local_root(spec: DatasetSpec, data_dir: str | Path | None) -> Path | None:
    """Registry datasets live in the data folder; a user's dataset beside its own YAML."""
    return find_data_dir(data_dir) if spec.builtin else Path(spec.origin).parent


def _local_paths(spec: DatasetSpec, split: str, root: Path) -> list[Path]:
    assert spec.local is not None
    names = spec.local.pool or parts(spec.local.splits, split)
    return [root / name for name in names]  # an absolute name replaces root


def _read_local(spec: DatasetSpec, split: str, root: Path) -> list[Problem] | None:
    """The split from local files, or None when any of its files is absent."""
    assert spec.local is not None
    paths = _local_paths(spec, split, root)
    if not all(path.is_file() for path in paths):
        return None
    rows = (row for path in paths for row in read_rows(path))
    problems = _map_rows(spec, spec.local, rows)
    if not problems:
        raise DataError(f"dataset {spec.name!r}: no records in {', '.join(map(str, paths))}")
    return _as_backward(spec, _select(spec, spec.local, problems, split))


def _as_backward(spec: DatasetSpec, problems: list[Problem]) -> list[Problem]:
    """A ``backward`` dataset's rule-made backward questions; other datasets unchanged."""
    if not spec.backward:
        return problems
    return rule_backward_problems(problems, spec.name, spec.split_seed)


def _select(
    spec: DatasetSpec, source: Source, problems: list[Problem], split: str
) -> list[Problem]:
    if not source.pool:
        return problems
    assert spec.test_fraction is not None  # checked by DatasetSpec
    return seeded_split(problems, spec.test_fraction, spec.split_seed)[split]


def _map_rows(spec: DatasetSpec, source: Source, rows: Iterable[RawRow]) -> list[Problem]:
    """Map every row; the first bad one raises DataError with its file, line and field."""
    mapper = MAPPERS[source.format]
    ctx = Context(spec.name, spec.answer_type, dict(source.fields))
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for row in rows:
        try:
            problem = mapper(row.data, row.fallback_id, ctx)
        except (DataError, RecordError) as err:
            raise DataError(f"{row.where}: {err}") from None
        _check_answer_type(spec, problem, row.where)
        if problem.id in seen:
            raise DataError(f"{row.where}: id {problem.id!r} already used at {seen[problem.id]}")
        seen[problem.id] = row.where
        problems.append(problem)
    return problems


def _check_answer_type(spec: DatasetSpec, problem: Problem, where: str) -> None:
    """A spec that promises one answer type must get it, or prompts and scoring would differ."""
    if spec.answer_type not in ("mixed", problem.answer_type):
        raise DataError(
            f"{where}: answer type {problem.answer_type!r}, but dataset {spec.name!r} "
            f"declares {spec.answer_type!r}"
        )


def _synthetic(spec: DatasetSpec, split: str) -> list[Problem]:
    """Generated problems; the spec's split_seed fixes them, so test sets never drift."""
    assert spec.local is not None and spec.local.family is not None
    try:
        from revthink.synthetic.generate import generate_items, generate_problems
    except ImportError as err:
        raise DataError(f"dataset {spec.name!r}: no synthetic generators ({err})") from None
    if spec.backward:
        items = generate_items(spec.local.family, split, spec.local.sizes[split], spec.split_seed)
        return [exact_backward_problem(item, spec.name) for item in items]
    generated = generate_problems(
        spec.local.family, split, spec.local.sizes[split], spec.split_seed
    )
    for problem in generated:
        _check_answer_type(spec, problem, f"synthetic problem {problem.id}")
    return [p if p.dataset == spec.name else replace(p, dataset=spec.name) for p in generated]
