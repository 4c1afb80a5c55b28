"""Sweeps: one config, one run per combination of the values its ``sweep:`` section lists.

    revthink run configs/synthetic_study.yaml [a.b=c ...]
    revthink report runs/synthetic_study

A config with a ``sweep:`` section, e.g. ``sweep: {seed: [0, 1, 2], train.train_fraction:
[0.1, 1.0]}``, stands for every combination of those values (the product, keys in the order
written). Keys are dotted config keys, written flat or nested (``train: {train_fraction: [...]}``);
each value is a non-empty list of scalars. Combination ``seed0-train_fraction0.1`` is the config
with those values set, run as a normal run in ``runs/<name>/seed0-train_fraction0.1/`` (its
``name``); ``runs/<name>/sweep.json`` lists the combinations for ``revthink report``.

Combinations run in order. One whose manifest matches (its config, its stages' manifests and
prompts) is skipped without loading anything; an interrupted one resumes stage by stage as any
run does. Work that does not depend on the swept value is done once: a combination starts with
a copy of the finished augmentation (and zero-shot evaluation) of an earlier one with the same
settings for that stage, which the stage then checks against its own manifest as usual.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
import json
import re
import shutil
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from revthink.config import SWEEP, ExperimentConfig, build, load_raw, to_dict
from revthink.errors import ConfigError
from revthink.files import update_file
from revthink.layout import SWEEP_FILE
from revthink.manifest import MANIFEST, fingerprint, is_complete, write_manifest
from revthink.terminal import table_console

FIXED = ("name", "output_dir", SWEEP)  # they decide where runs go: never swept
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")

console = Console(stderr=True)


@dataclass(frozen=True)
class Combination:
    """One run of a sweep: its folder name, the swept values and the full config."""

    label: str
    settings: dict[str, Any]  # dotted key -> value
    config: ExperimentConfig


@dataclass(frozen=True)
class Sweep:
    name: str
    folder: Path  # runs/<name>/
    combinations: tuple[Combination, ...]


def is_sweep(path: Path, overrides: Sequence[str] = ()) -> bool:
    return SWEEP in load_raw(path, overrides)


def load_sweep(path: Path, overrides: Sequence[str] = ()) -> Sweep:
    """Every combination of the sweep config ``path``; ConfigError naming the key at fault."""
    raw = load_raw(path, overrides)
    values = sweep_values(raw.pop(SWEEP), path)
    base = build(ExperimentConfig, raw, source=str(path))  # the config's own errors first
    folder = base.run_dir
    combinations = []
    for chosen in itertools.product(*values.values()):
        settings = dict(zip(values, chosen, strict=True))
        label = combination_label(settings)
        data = copy.deepcopy(raw)
        for key, value in settings.items():
            _set(data, key, value)
        data.update(name=label, output_dir=str(folder))
        config = build(ExperimentConfig, data, source=f"{path} (sweep combination {label})")
        combinations.append(Combination(label, settings, config))
    _check_distinct_settings(combinations, path)
    labels = [c.label for c in combinations]
    if len(set(labels)) < len(labels):
        raise ConfigError(f"{path}: key '{SWEEP}': two combinations get the same folder name; "
                          "make the values differ in more than punctuation")
    return Sweep(base.name, folder, tuple(combinations))


def _check_distinct_settings(combinations: Sequence[Combination], path: Path) -> None:
    """Two values of one key that the config reads as the same setting ("1e-3" and 0.001)
    would train the same run twice under two names."""
    seen: dict[tuple[str, str], Any] = {}
    for combination in combinations:
        for key, value in combination.settings.items():
            read = functools.reduce(getattr, key.split("."), combination.config)
            first = seen.setdefault((key, repr(read)), value)
            if json.dumps(first, default=str) != json.dumps(value, default=str):  # 1 and 1.0
                raise ConfigError(f"{path}: key '{SWEEP}.{key}': the values {first!r} and "
                                  f"{value!r} are the same setting ({read!r}); give it once")


def sweep_values(section: Any, path: Path) -> dict[str, list[Any]]:
    """Dotted key -> values of a ``sweep:`` section (nested mappings are flattened)."""
    if not isinstance(section, dict) or not section:
        raise ConfigError(f"{path}: key '{SWEEP}': expected a mapping of config keys to lists "
                          "of values, e.g. {seed: [0, 1, 2]}")
    found = dict(_flatten(section, "", path))
    for dotted in found:
        _check_key(dotted, path)
    return found


def _flatten(section: dict[Any, Any], prefix: str, path: Path) -> list[tuple[str, list[Any]]]:
    pairs: list[tuple[str, list[Any]]] = []
    for key, value in section.items():
        dotted = f"{prefix}{key}"
        where = f"{path}: key '{SWEEP}.{dotted}'"
        if isinstance(value, dict) and value:
            pairs += _flatten(value, f"{dotted}.", path)
            continue
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{where}: expected a non-empty list of values, got {value!r}")
        if any(isinstance(v, dict | list) for v in value):
            raise ConfigError(f"{where}: expected single values (numbers, strings, true/false)")
        if len({json.dumps(v, default=str) for v in value}) < len(value):
            raise ConfigError(f"{where}: each value once, got {value!r}")
        pairs.append((dotted, value))
    return pairs


def _check_key(dotted: str, path: Path) -> None:
    """The dotted key names a setting of ExperimentConfig (not a section, not a folder)."""
    where = f"{path}: key '{SWEEP}.{dotted}'"
    cls: Any = ExperimentConfig
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if part not in fields:
            raise ConfigError(f"{where}: unknown key '{part}'; valid keys here: "
                              f"{', '.join(sorted(fields))}")
        if i == 0 and part in FIXED:
            raise ConfigError(f"{where}: '{part}' cannot be swept (it decides where runs go)")
        cls = _dataclass_type(cls, part)
        if cls is None and i < len(parts) - 1:
            raise ConfigError(f"{where}: '{part}' is a setting, not a section")
    if cls is not None:
        raise ConfigError(f"{where}: '{dotted}' is a section; sweep one of its keys")


def _dataclass_type(cls: Any, name: str) -> Any:
    hint = typing.get_type_hints(cls)[name]
    return hint if dataclasses.is_dataclass(hint) else None


def combination_label(settings: dict[str, Any]) -> str:
    """``seed0-train_fraction0.1``: each key's last part (all of it if two share one) and value."""
    leaves = [key.rsplit(".", 1)[-1] for key in settings]
    parts = []
    for key, leaf, value in zip(settings, leaves, settings.values(), strict=True):
        name = leaf if leaves.count(leaf) == 1 else key
        parts.append(_UNSAFE.sub("_", f"{name}{_text(value)}"))
    return "-".join(parts)


def _text(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = data
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[leaf] = value


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------

# Stage folders that combinations may share: folder -> what its results depend on (None: the
# run has no such folder). Equal keys let a later combination start from an earlier one's copy.
SHARED: dict[str, Callable[[ExperimentConfig], Any]] = {
    "augment": lambda c: (to_dict(c.augment), c.seed),
    "evaluate/zero_shot": lambda c: (
        (to_dict(c.evaluate), to_dict(c.train.student), c.train.template,
         c.augment.data.data_dir, c.seed)
        if "zero_shot" in c.methods else None
    ),
}


def run(sweep: Sweep, run_one: Callable[[ExperimentConfig], Path] | None = None) -> Path:
    """Run every combination not yet finished, then the sweep's report; returns report.html.

    ``run_one`` runs one combination (default: every stage of ``revthink run``).
    """
    from revthink.pipeline import run as pipeline_run
    from revthink.report.stage import run as report
    from revthink.report.stage import sweep_table

    run_one = run_one or pipeline_run
    sweep.folder.mkdir(parents=True, exist_ok=True)
    write_sweep_file(sweep)
    total = len(sweep.combinations)
    for number, combination in enumerate(sweep.combinations, start=1):
        head = f"combination {number}/{total}: {combination.label}"
        expected = combination_fingerprint(combination.config)
        if is_complete(combination.config.run_dir, expected):
            console.print(f"{head}: complete, skipped")
            continue
        console.rule(f"[bold]{head}")
        share_finished(combination.config, [c.config for c in sweep.combinations[: number - 1]])
        run_one(combination.config)
        write_manifest(combination.config.run_dir, combination_fingerprint(combination.config),
                       settings=combination.settings)
    html = report([sweep.folder], None)
    table_console().print(sweep_table([sweep.folder]))
    return html


def write_sweep_file(sweep: Sweep) -> Path:
    path = sweep.folder / SWEEP_FILE
    body = {
        "name": sweep.name,
        "combinations": [{"label": c.label, "settings": c.settings} for c in sweep.combinations],
    }
    update_file(path, json.dumps(body, indent=2) + "\n")
    return path


def combination_fingerprint(cfg: ExperimentConfig) -> dict[str, Any]:
    """A combination is finished when its config, its stages' manifests, the augmentation's
    prompts and checks and the training objectives match."""
    from revthink.augment import stage as augment_stage
    from revthink.train import objectives

    stages = sorted(cfg.run_dir.glob(f"*/**/{MANIFEST}"))  # augment/, train/*/, evaluate/*/*/
    extra = {**augment_stage.decisive_code(), "objectives": objectives.fingerprint()}
    return fingerprint(cfg, stages, cfg.seed, extra, root=cfg.run_dir)


def share_finished(cfg: ExperimentConfig, earlier: Sequence[ExperimentConfig]) -> list[Path]:
    """Copy into ``cfg``'s run the finished stage folders of an earlier run with equal inputs.

    Only folders with a manifest are copied, and only where ``cfg``'s run has none: the stage
    itself still compares the copy's manifest with what it would write, so a copy that does not
    fit is simply redone. Returns the folders copied.
    """
    copied = []
    for folder, key in SHARED.items():
        wanted = key(cfg)
        donors = [e for e in earlier if wanted is not None and key(e) == wanted]
        for donor in donors[:1]:
            for manifest in sorted((donor.run_dir / folder).rglob(MANIFEST)):
                source = manifest.parent
                target = cfg.run_dir / source.relative_to(donor.run_dir)
                if not (target / MANIFEST).is_file():
                    shutil.rmtree(target, ignore_errors=True)
                    shutil.copytree(source, target)
                    copied.append(target)
    for target in copied:
        console.print(f"{target}: copied from an earlier combination with the same inputs",
                      soft_wrap=True, highlight=False)
    return copied
