"""``revthink validate``: every shipped config and dataset YAML loads, and they agree.

    revthink validate                 the registry and src/revthink/configs/*.yaml
    revthink validate my.yaml dir/    those files (experiment configs or dataset YAMLs)

Each problem is one line naming the file, the key and the reason; nothing is loaded from the
Hub and no dataset files are read, so this runs in a second anywhere.
"""

from __future__ import annotations

from pathlib import Path

from revthink.config import ExperimentConfig, load_config, read_yaml
from revthink.data import load_problems
from revthink.data.registry import get_spec, load_registry_file
from revthink.data.spec import REGISTRY_DIR, DatasetSpec, parse_spec
from revthink.errors import ConfigError, RevthinkError
from revthink.evaluate.names import shared_name
from revthink.method_names import trained
from revthink.sweep import is_sweep, load_sweep

SHIPPED_CONFIGS = Path(__file__).parent / "configs"


def validate_all(paths: list[Path]) -> list[str]:
    """Problems found, as messages for people; empty when everything is valid.

    With no ``paths``: every registry YAML and every shipped experiment config. A folder in
    ``paths`` stands for the YAML files directly inside it.
    """
    if not paths:
        paths = [*sorted(REGISTRY_DIR.glob("*.yaml")), *_yaml_files(SHIPPED_CONFIGS)]
    problems: list[str] = []
    for path in _expand(paths):
        problems += _check_dataset(path) if _is_dataset_yaml(path) else _check_config(path)
    return problems


def _yaml_files(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []


def _expand(paths: list[Path]) -> list[Path]:
    """Folders become their YAML files; one without any stays, to be reported as not a config."""
    return [f for p in paths for f in ((_yaml_files(p) or [p]) if p.is_dir() else [p])]


def _is_dataset_yaml(path: Path) -> bool:
    """Dataset YAMLs say what their answers are; experiment configs never have that key."""
    if path.parent.resolve() == REGISTRY_DIR:
        return True
    try:
        raw = read_yaml(path, "YAML file")
    except ConfigError:
        return False  # reported by the config check, with its reason
    return isinstance(raw, dict) and "answer_type" in raw


def _check_dataset(path: Path) -> list[str]:
    """A registry entry is parsed; a user's dataset of local files only is also read, split
    by split, so a missing file or a bad row is found now, not when a stage loads it."""
    if path.parent.resolve() == REGISTRY_DIR:
        try:
            load_registry_file(path)
        except RevthinkError as err:
            return [str(err)]
        return []
    try:
        spec = parse_spec(path)
        for split in spec.split_names if spec.hub is None else ():
            load_problems(str(path), split)
    except RevthinkError as err:
        return [str(err)]
    return []


def _check_config(path: Path) -> list[str]:
    """One config, or every combination of a sweep (a dataset named in it is checked once)."""
    try:
        configs = _configs(path)
    except RevthinkError as err:
        return [str(err)]
    problems = [f"{path}: {p}" for config in configs for p in _dataset_references(config)]
    if not problems:  # the user's own dataset files are read too, as the stages will
        problems = [p for spec in _user_datasets(configs) for p in _check_dataset(spec)]
    return list(dict.fromkeys(problems))


def _user_datasets(configs: list[ExperimentConfig]) -> list[Path]:
    """The dataset YAML files (not registry names) the configs name, each once."""
    names = {c.augment.data.dataset for c in configs}
    names |= {b.dataset for c in configs for b in c.evaluate.benchmarks}
    return sorted(Path(n) for n in names if n.endswith((".yaml", ".yml")) and Path(n).is_file())


def _configs(path: Path) -> list[ExperimentConfig]:
    if is_sweep(path):
        return [c.config for c in load_sweep(path).combinations]
    return [load_config(path)]


def check_references(config: ExperimentConfig, source: Path, *, augments: bool = False) -> None:
    """Raise ConfigError when a dataset the config names is unknown or lacks the split.

    Run before any stage, so a typo in a benchmark fails in a second, not after training;
    ``augments``: the command augments too, so the teacher must know the dataset.
    """
    problems = _dataset_references(config, augments=augments)
    if problems:
        raise ConfigError("; ".join(f"{source}: {problem}" for problem in problems))


def _program_augments(config: ExperimentConfig) -> bool:
    """The program teacher will augment: `revthink run` augments only for a method to train."""
    return config.augment.teacher.backend == "program" and bool(trained(config.methods))


def _program_teacher(spec: DatasetSpec) -> list[str]:
    """The program teacher knows the synthetic suite only; augment would refuse anything else."""
    from revthink.teachers.program import check_dataset

    try:
        check_dataset(spec)
    except ConfigError as err:
        return [str(err)]
    return []


def _dataset_references(config: ExperimentConfig, *, augments: bool = True) -> list[str]:
    """Every dataset a config names must exist and offer the split the config asks for; with
    ``augments``, the augment stage's own checks too (what `revthink run` would meet)."""
    wanted = [("augment.data", config.augment.data.dataset, config.augment.data.split)]
    if config.train.eval_steps:  # the learning curve's problems
        wanted.append(("train.eval", config.augment.data.dataset, config.train.eval_split))
    wanted += [
        (f"evaluate.benchmarks[{i}]", b.dataset, b.split)
        for i, b in enumerate(config.evaluate.benchmarks)
    ]
    problems = []
    for key, dataset, split in wanted:
        try:
            spec = get_spec(dataset)
        except RevthinkError as err:
            problems.append(f"key '{key}.dataset': {err}")
            continue
        if split not in spec.split_names:
            name = "train.eval_split" if key == "train.eval" else f"{key}.split"
            problems.append(
                f"key '{name}': {split!r} is not a split of {spec.name} "
                f"({', '.join(spec.split_names)})"
            )
        elif key == "augment.data" and augments and _program_augments(config):
            problems += _program_teacher(spec)
    twice = None if problems else shared_name(config.evaluate.benchmarks)
    if twice is not None:
        problems.append(f"key 'evaluate.benchmarks': two benchmarks would both be evaluated "
                        f"under {twice!r}; give one another split or decode settings")
    return problems
