"""What a dataset YAML says: where its problems come from and what kind of answers they have.

One YAML per dataset (``registry/*.yaml``, or a user's own file named as ``data.dataset``)
is parsed into a frozen ``DatasetSpec``; unknown keys, wrong types and inconsistent sources are
rejected with a message naming the file and the key.

A source (``hub`` or ``local``) maps each split name to one or more parts (Hub split names, or
files relative to the data folder): ``splits: {train: gsm8k/train.jsonl}``. A source without an
official split lists its parts under ``pool`` instead; the pooled problems are then divided into
``train`` and ``test`` by a seeded split with ``test_fraction`` and ``split_seed``.

``backward: true`` turns every problem into its backward question (``revthink.data.backward``):
a number of the question hidden by rule for numeric datasets, the generator's exact backward
question for synthetic ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, get_args

from revthink.config import PLAIN_NAME, build, is_plain_name, read_yaml
from revthink.errors import ConfigError

SpecAnswerType = Literal["number", "math", "choice", "yes_no", "label", "mixed"]
Family = Literal["math", "multiple_choice", "yes_no", "nli", "date", "table", "mixed"]
FAMILIES: tuple[str, ...] = get_args(Family)

# Record layouts a source can have (revthink.data.mappers maps each onto Problem).
FORMATS: tuple[str, ...] = (
    "gsm8k", "math", "tabmwp", "bigbench", "csqa", "ai2", "boolq", "nli", "fields", "synthetic",
)
GENERIC_FIELDS: tuple[str, ...] = ("question", "answer", "options", "id", "reference")
SYNTHETIC_FAMILIES: tuple[str, ...] = ("arithmetic", "dates", "relations", "mixed")
POOLED_SPLITS: tuple[str, ...] = ("train", "test")
SPLIT_ORDER: tuple[str, ...] = ("train", "validation", "test")

Parts = str | tuple[str, ...]


@dataclass(frozen=True)
class HubSource:
    """A dataset on the Hugging Face Hub, read with ``datasets.load_dataset(id, config)``."""

    id: str
    format: str
    config: str | None = None
    splits: dict[str, Parts] = field(default_factory=dict)  # our split -> Hub split(s)
    pool: tuple[str, ...] = ()  # Hub splits pooled, then split by the seeded policy
    fields: dict[str, Parts] = field(default_factory=dict)  # format "fields" only

    def __post_init__(self) -> None:
        _check_source(self, "hub")


@dataclass(frozen=True)
class LocalSource:
    """Files under the data folder (or beside a user's dataset YAML)."""

    format: str
    splits: dict[str, Parts] = field(default_factory=dict)  # our split -> file(s)
    pool: tuple[str, ...] = ()  # files pooled, then split by the seeded policy
    fields: dict[str, Parts] = field(default_factory=dict)  # format "fields": our key -> column
    family: str | None = None  # format "synthetic": the generator family
    sizes: dict[str, int] = field(default_factory=dict)  # format "synthetic": problems per split

    def __post_init__(self) -> None:
        if self.format == "synthetic":
            _check_synthetic(self)
        else:
            _check_source(self, "local")


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of the registry (or a user's YAML); ``origin`` is the file it came from.

    ``answer_type`` is ``mixed`` when records differ (TabMWP: free-text numbers and multiple
    choice); every Problem carries its own answer type either way.
    """

    name: str
    answer_type: SpecAnswerType
    family: Family
    description: str = ""
    license: str = ""
    hub: HubSource | None = None
    local: LocalSource | None = None
    test_fraction: float | None = None  # share of a pooled source that goes to `test`
    split_seed: int = 0  # seed of the pooled split (and of synthetic generators)
    backward: bool = False  # each problem becomes its backward question (a backward benchmark)
    origin: str = ""  # set by parse_spec, not a YAML key

    def __post_init__(self) -> None:
        # Evaluation writes under evaluate/<method>/<name>[-<split>]: both must stay one folder.
        if not is_plain_name(self.name):
            raise ConfigError(f"key 'name': {self.name!r} is not a folder name ({PLAIN_NAME})")
        bad = [split for split in self.split_names if not is_plain_name(split)]
        if bad:
            raise ConfigError(f"split {bad[0]!r}: not a folder name ({PLAIN_NAME})")
        if self.hub is None and self.local is None:
            raise ConfigError("expected at least one of the keys 'hub' and 'local'")
        pooled = any(s is not None and s.pool for s in (self.hub, self.local))
        if pooled and not (self.test_fraction is not None and 0 < self.test_fraction < 1):
            raise ConfigError("key 'test_fraction': a pooled source needs a number in (0, 1)")
        if not pooled and self.test_fraction is not None:
            raise ConfigError("key 'test_fraction': only meaningful with a 'pool' source")
        if self.answer_type == "mixed" and any(
            s is not None and s.format == "fields" for s in (self.hub, self.local)
        ):
            raise ConfigError("key 'answer_type': format 'fields' needs one answer type, not mixed")
        if self.split_seed < 0:
            raise ConfigError("key 'split_seed': expected an integer >= 0")
        synthetic = self.local is not None and self.local.format == "synthetic"
        if self.backward and not synthetic and self.answer_type != "number":
            raise ConfigError(
                "key 'backward': rule-made backward questions hide a number and state the "
                f"answer, so they need answer_type 'number' (or a synthetic source), not "
                f"{self.answer_type!r}"
            )

    @property
    def split_names(self) -> tuple[str, ...]:
        """Every split either source offers, in train/validation/test order."""
        names = {*self.local_splits, *self.hub_splits}
        return tuple(sorted(names, key=_split_rank))

    @property
    def local_splits(self) -> tuple[str, ...]:
        return _source_splits(self.local)

    @property
    def hub_splits(self) -> tuple[str, ...]:
        return _source_splits(self.hub)

    @property
    def builtin(self) -> bool:
        """Registry datasets read files from the data folder, user datasets beside their YAML."""
        return Path(self.origin).parent == REGISTRY_DIR


REGISTRY_DIR = (Path(__file__).parent / "registry").resolve()


def parse_spec(path: Path) -> DatasetSpec:
    """Read one dataset YAML; raises ConfigError naming the file and key at fault."""
    raw = read_yaml(path, "dataset file")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    if "origin" in raw:
        raise ConfigError(f"{path}: key 'origin' is reserved (it is set to the file's path)")
    spec = build(DatasetSpec, raw, source=str(path))
    return replace(spec, origin=str(path.resolve()))


def parts(mapping: dict[str, Parts], split: str) -> tuple[str, ...]:
    """The parts of ``split`` as a tuple, whether the YAML gave one string or a list."""
    value = mapping[split]
    return (value,) if isinstance(value, str) else value


def _source_splits(source: HubSource | LocalSource | None) -> tuple[str, ...]:
    if source is None:
        return ()
    if isinstance(source, LocalSource) and source.format == "synthetic":
        return tuple(source.sizes)
    return POOLED_SPLITS if source.pool else tuple(source.splits)


def _split_rank(name: str) -> tuple[int, str]:
    return (SPLIT_ORDER.index(name) if name in SPLIT_ORDER else len(SPLIT_ORDER), name)


def _check_source(source: HubSource | LocalSource, key: str) -> None:
    if source.format not in FORMATS or source.format == "synthetic":
        raise ConfigError(
            f"key '{key}.format': {source.format!r} is not a known format; expected one of "
            f"{', '.join(f for f in FORMATS if f != 'synthetic')}"
        )
    if bool(source.splits) == bool(source.pool):
        raise ConfigError(f"key '{key}': expected exactly one of 'splits' and 'pool'")
    if source.pool and set(source.splits) & set(POOLED_SPLITS):
        raise ConfigError(f"key '{key}.splits': a pooled source defines train/test itself")
    for split in source.splits:
        if not parts(source.splits, split):
            raise ConfigError(f"key '{key}.splits.{split}': expected at least one part")
    _check_fields(source, key)


def _check_fields(source: HubSource | LocalSource, key: str) -> None:
    if source.format != "fields":
        if source.fields:
            raise ConfigError(f"key '{key}.fields': only used with format 'fields'")
        return
    unknown = sorted(set(source.fields) - set(GENERIC_FIELDS))
    if unknown:
        known = ", ".join(GENERIC_FIELDS)
        raise ConfigError(f"key '{key}.fields.{unknown[0]}': unknown; expected some of {known}")
    for required in ("question", "answer"):
        if not isinstance(source.fields.get(required), str):
            raise ConfigError(f"key '{key}.fields.{required}': expected the name of a field")


def _check_synthetic(source: LocalSource) -> None:
    if source.family not in SYNTHETIC_FAMILIES:
        raise ConfigError(
            f"key 'local.family': expected one of {', '.join(SYNTHETIC_FAMILIES)}, "
            f"got {source.family!r}"
        )
    if not source.sizes or any(n < 1 for n in source.sizes.values()):
        raise ConfigError("key 'local.sizes': expected a mapping split -> number of problems >= 1")
    if source.splits or source.pool or source.fields:
        raise ConfigError("key 'local': format 'synthetic' takes only 'family' and 'sizes'")

