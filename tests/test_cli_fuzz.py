"""Careless input through the real entry point: whatever the config, overrides or data, the
command ends with exit code 0, 1 or 2 and a message, never a traceback.

Stages never run: their ``run`` functions are replaced by stand-ins that record the config they
were given, so a config that loads costs nothing. Examples are derandomized, so CI is stable.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revthink import pipeline
from revthink.cli import main
from revthink.config import ExperimentConfig

FUZZ = settings(
    max_examples=100, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
STAGES = ("augment", "train", "evaluate")

# Keys a user would touch, each with careless values next to the ones that work.
KEYS: dict[str, st.SearchStrategy[Any]] = {
    "name": st.sampled_from(["quick", "../up", "/abs", "a/b", "..", "", ".hidden", "ok-1"]),
    "seed": st.integers(-5, 10**30),
    "methods": st.lists(st.sampled_from(["zero_shot", "skd", "revthink", "nope"]), max_size=3),
    "augment.data.dataset": st.sampled_from(["gsm8k", "gsm9k", "synthetic", "x.yaml", ""]),
    "augment.data.limit": st.one_of(st.none(), st.integers(-2, 3)),
    "augment.teacher.backend": st.sampled_from(["program", "openai_compat", "telepathy"]),
    "augment.teacher.api_key_env": st.sampled_from(["OPENAI_API_KEY", "sk-abc123", "", "A B"]),
    "augment.k": st.integers(-1, 3),
    "train.epochs": st.floats(allow_nan=True, allow_infinity=True),
    "train.learning_rate": st.floats(allow_nan=True, allow_infinity=True),
    "train.grad_accum": st.integers(-1, 2),
    "train.max_length": st.integers(-1, 2),
    "train.lora.rank": st.one_of(st.integers(-1, 8), st.text(max_size=3)),
    "evaluate.benchmarks": st.lists(
        st.fixed_dictionaries(
            {"dataset": st.sampled_from(["gsm8k", "boolq", "nope"])},
            optional={
                "split": st.sampled_from(["test", "train", "validation", "../x"]),
                "limit": st.integers(-1, 3),
            },
        ),
        max_size=2,
    ),
    "evaluate.limit": st.one_of(st.none(), st.integers(-1, 3), st.text(max_size=3)),
}
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)
)
ANY_VALUE = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=6,
)
KEY = st.one_of(st.sampled_from(sorted(KEYS)), st.text(max_size=12))


@st.composite
def settings_(draw: st.DrawFn) -> dict[str, Any]:
    """Dotted key -> value: known keys with careless values, unknown keys, wrong types."""
    keys = draw(st.lists(KEY, max_size=5, unique=True))
    return {k: draw(KEYS[k] if k in KEYS and draw(st.booleans()) else ANY_VALUE) for k in keys}


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, leaf = key.split(".")
        node = nested
        for part in parents:
            child = node.setdefault(part, {})
            node = child if isinstance(child, dict) else {}
        node[leaf] = value
    return nested


CONFIG_TEXT = st.one_of(
    st.builds(lambda s: yaml.safe_dump(_nest(s), allow_unicode=True), settings_()),
    st.text(max_size=60),
    st.sampled_from(["", "- 1\n", "train:\n", "name: [unclosed\n", "a: 2024-13-45\n"]),
)
OVERRIDE_VALUE = st.one_of(
    st.sampled_from(["[1", "{a: 1}", ".nan", "-1", "0", "../x", "[skd]", "[]", "null", "'"]),
    st.text(max_size=10),
)
OVERRIDE = st.one_of(
    st.builds(lambda k, v: f"{k}={v}", KEY, OVERRIDE_VALUE),
    st.text(max_size=12),
)


@contextlib.contextmanager
def stand_in_stages(mp: pytest.MonkeyPatch) -> Iterator[list[ExperimentConfig]]:
    """Every stage's ``run`` records its config instead of working; imports stay cheap."""
    calls: list[ExperimentConfig] = []

    def record(cfg: ExperimentConfig) -> Path:
        calls.append(cfg)
        return Path("stand-in")

    for stage in STAGES:
        module = types.ModuleType(f"revthink.{stage}.stage")
        module.run = record  # type: ignore[attr-defined]
        mp.setitem(sys.modules, module.__name__, module)
    mp.setattr(pipeline, "run", record)
    yield calls


def revthink(*args: str) -> tuple[int, str]:
    """Exit code and stderr of ``revthink ARGS`` through ``main()``; nothing else may escape."""
    err = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "argv", ["revthink", *args])
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                main()
                code = 0
            except SystemExit as exit_:
                code = exit_.code  # type: ignore[assignment]
    return code, err.getvalue()


def _check(code: int, err: str) -> None:
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err, err
    if code == 1:
        assert err.startswith(("error: ", "✗ ")), err


@FUZZ
@given(
    command=st.sampled_from([*STAGES, "run", "validate"]),
    text=st.one_of(CONFIG_TEXT, st.binary(max_size=40)),
    overrides=st.lists(OVERRIDE, max_size=3),
)
def test_configs_and_overrides(command: str, text: str | bytes, overrides: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as mp:
        path = Path(folder) / "config.yaml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        with stand_in_stages(mp) as calls:
            args = [command, str(path)] + ([] if command == "validate" else overrides)
            code, err = revthink(*args)
        _check(code, err)
        if command != "validate":
            assert len(calls) == (1 if code == 0 else 0), err
            assert not list(Path(folder).iterdir())[1:], "nothing may be written"


ROWS = st.lists(
    st.dictionaries(st.sampled_from(["q", "a", "id", "opts", "x"]), ANY_VALUE, max_size=4),
    max_size=3,
)


def _data_file(suffix: str, rows: list[dict[str, Any]]) -> str:
    if suffix == ".jsonl":
        return "".join(json.dumps(r) + "\n" for r in rows)
    if suffix == ".json":
        return json.dumps(rows)
    columns = sorted({k for r in rows for k in r}) or ["q"]
    lines = [",".join(columns)] + [",".join(str(r.get(c, "")) for c in columns) for r in rows]
    return "\n".join(lines)


@FUZZ
@given(
    answer_type=st.sampled_from(["number", "choice", "yes_no", "label", "math", "mixed", "odd"]),
    suffix=st.sampled_from([".jsonl", ".json", ".csv"]),
    rows=ROWS,
    raw=st.one_of(st.none(), st.binary(max_size=30)),
    fields=st.sampled_from([
        "{question: q, answer: a}", "{question: q, answer: a, options: opts, id: id}",
        "{question: q}", "[q, a]",
    ]),
    name=st.sampled_from(["mine", "../mine", "a/b"]),
)
def test_user_datasets(
    answer_type: str, suffix: str, rows: list[dict[str, Any]], raw: bytes | None, fields: str,
    name: str,
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / f"data{suffix}"
        if raw is None:
            data.write_text(_data_file(suffix, rows), encoding="utf-8")
        else:
            data.write_bytes(raw)
        spec = Path(folder) / "mine.yaml"
        spec.write_text(
            f"name: {json.dumps(name)}\nanswer_type: {answer_type}\nfamily: math\nlocal:\n"
            f"  format: fields\n  splits: {{test: {data.name}}}\n  fields: {fields}\n",
            encoding="utf-8",
        )
        _check(*revthink("data", "show", str(spec), "-n", "2"))
        _check(*revthink("validate", str(spec)))
