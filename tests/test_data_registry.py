"""The dataset registry: the dict matches the YAML folder, and bad YAML is rejected by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from revthink.data import dataset_names, get_spec, load_problems, parse_spec, registry
from revthink.data.mappers import MAPPERS
from revthink.data.registry import load_registry_file
from revthink.data.spec import FORMATS, REGISTRY_DIR
from revthink.errors import ConfigError, DataError

PAPER_DATASETS = {
    "gsm8k", "math", "tabmwp", "strategyqa", "commonsenseqa", "arc_challenge", "openbookqa",
    "date_understanding", "logical_deduction", "boolq", "anli", "esnli",
}
SYNTHETIC = {"synthetic", "synthetic_arithmetic", "synthetic_dates", "synthetic_relations"}
BACKWARD = {"gsm8k_backward", "synthetic_backward"}


def test_registry_holds_exactly_the_yaml_files():
    files = {path.stem for path in REGISTRY_DIR.glob("*.yaml")}
    assert set(registry()) == files
    assert set(dataset_names()) == PAPER_DATASETS | SYNTHETIC | BACKWARD


def test_every_format_has_a_mapper():
    assert set(FORMATS) - {"synthetic"} == set(MAPPERS)


@pytest.mark.parametrize("name", sorted(PAPER_DATASETS | SYNTHETIC | BACKWARD))
def test_every_entry_is_complete(name):
    spec = get_spec(name)
    assert spec.description and spec.license
    assert spec.builtin
    assert spec.split_names
    assert "test" in spec.split_names


def test_hub_only_and_pooled_entries():
    for name in ("anli", "esnli"):
        spec = get_spec(name)
        assert spec.local is None and spec.hub is not None
        assert spec.hub.format == "nli"
    for name in ("strategyqa", "date_understanding", "logical_deduction"):
        spec = get_spec(name)
        assert spec.local is not None and spec.local.pool
        assert 0 < spec.test_fraction < 1
        assert spec.split_names == ("train", "test")


def test_synthetic_entries_name_their_generator():
    families = {get_spec(name).local.family for name in SYNTHETIC}
    assert families == {"arithmetic", "dates", "relations", "mixed"}
    assert get_spec("synthetic").answer_type == "mixed"


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(DataError, match="unknown dataset 'gsm9k'.*gsm8k"):
        get_spec("gsm9k")


def _write(tmp_path: Path, text: str, name: str = "mine.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
name: mine
answer_type: number
family: math
local:
  format: fields
  splits: {test: data.jsonl}
  fields: {question: q, answer: a}
"""


def test_user_yaml_parses_and_remembers_its_origin(tmp_path):
    spec = get_spec(str(_write(tmp_path, GOOD)))
    assert spec.name == "mine" and not spec.builtin
    assert Path(spec.origin) == (tmp_path / "mine.yaml").resolve()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("family: math", "family: math\ncolour: red"), "unknown key 'colour'"),
        (("format: fields", "format: fieldz"), "key 'local.format': 'fieldz' is not a known"),
        (("answer_type: number", "answer_type: numeric"), "key 'answer_type'"),
        (("{question: q, answer: a}", "{question: q}"), "key 'local.fields.answer'"),
        (("{question: q, answer: a}", "{question: q, answer: a, hint: h}"), "fields.hint"),
        (("splits: {test: data.jsonl}", "pool: [data.jsonl]"), "key 'test_fraction'"),
        (("splits: {test: data.jsonl}", "splits: {}"), "exactly one of 'splits' and 'pool'"),
        (("family: math", "family: math\norigin: /x"), "key 'origin' is reserved"),
        (("answer_type: number", "answer_type: mixed"), "format 'fields' needs one answer type"),
    ],
)
def test_bad_yaml_names_file_and_key(tmp_path, change, message):
    path = _write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError, match=message) as info:
        parse_spec(path)
    assert str(path) in str(info.value)


def test_bad_synthetic_family_is_rejected(tmp_path):
    text = "name: s\nanswer_type: number\nfamily: math\nlocal: {format: synthetic, family: x,\n"
    path = _write(tmp_path, text + "  sizes: {test: 5}}\n")
    with pytest.raises(ConfigError, match="local.family"):
        parse_spec(path)


def test_registry_file_name_must_match(tmp_path):
    path = _write(tmp_path, GOOD, name="other.yaml")
    with pytest.raises(ConfigError, match="must equal the file name"):
        load_registry_file(path)


def test_missing_and_invalid_yaml(tmp_path):
    with pytest.raises(ConfigError, match="dataset file not found"):
        get_spec(str(tmp_path / "absent.yaml"))
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_spec(_write(tmp_path, "name: [unclosed"))


@pytest.mark.parametrize(
    ("name", "answer_types"),
    [("synthetic_arithmetic", {"number"}), ("synthetic_dates", {"choice"}),
     ("synthetic_relations", {"choice"}), ("synthetic", {"number", "choice"})],
)
def test_synthetic_datasets_generate_their_declared_sizes(name, answer_types):
    problems = load_problems(name, "test")
    assert len(problems) == get_spec(name).local.sizes["test"] == 500
    assert {p.dataset for p in problems} == {name}
    assert {p.answer_type for p in problems} == answer_types
    assert problems == load_problems(name, "test")
    train_ids = {p.id for p in load_problems(name, "train", limit=50)}
    assert not train_ids & {p.id for p in problems}
