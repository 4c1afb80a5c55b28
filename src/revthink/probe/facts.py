"""The reversal-curse files, read into typed items, and the seeded subset a probe uses.

``reversal_curse/`` holds fictional facts told person -> description (``p2d_prompts_train``),
held-out rewordings in the same direction (``p2d_prompts_test``) and the reverse questions,
description -> person (``p2d_reverse_prompts_test``), all ``{prompt, completion}`` JSONL; and
``parent_child_pairs.csv``: real celebrities and a parent each, with ``can_reverse`` telling
whether GPT-4, which named the parent from the child, also named a child from the parent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from revthink.data.loading import find_data_dir
from revthink.data.readers import RawRow, read_rows
from revthink.data.splits import rank_key
from revthink.errors import DataError

FOLDER = "reversal_curse"
TRAIN, FORWARD_TEST, REVERSE_TEST = (
    "p2d_prompts_train.jsonl", "p2d_prompts_test.jsonl", "p2d_reverse_prompts_test.jsonl",
)
PAIRS = "parent_child_pairs.csv"


@dataclass(frozen=True)
class Fact:
    """One prompt/completion about ``person``; ``where`` names its file and line."""

    where: str
    person: str
    prompt: str
    completion: str


@dataclass(frozen=True)
class CelebrityPair:
    child: str
    parent: str
    parent_type: str  # mother | father
    can_reverse: bool


@dataclass(frozen=True)
class FactSample:
    """The facts a probe trains on and the tests it asks, for the same seeded people."""

    people: tuple[str, ...]
    train: tuple[Fact, ...]
    forward: tuple[Fact, ...]
    reverse: tuple[Fact, ...]
    wrong: dict[str, tuple[str, ...]]  # test's ``where`` -> the other people's answers to it


def data_folder(data_dir: str | None) -> Path:
    """``<data dir>/reversal_curse``, the data dir found as for every dataset."""
    root = find_data_dir(data_dir)
    folder = root / FOLDER if root is not None else None
    if folder is None or not folder.is_dir():
        raise DataError(
            f"no {FOLDER}/ folder in {root or 'any local data folder'}; set probe.data_dir or "
            "$REVTHINK_DATA to the folder that holds it"
        )
    return folder


def read_facts(path: Path, people: tuple[str, ...], person_in: str) -> list[Fact]:
    """Every row of ``path``, each tied to the one known person its ``person_in`` field names."""
    facts = []
    for row in read_rows(path):
        prompt, completion = _text(row, "prompt"), _text(row, "completion")
        text = prompt if person_in == "prompt" else completion
        named = [p for p in people if p in text]
        if len(named) != 1:
            raise DataError(
                f"{row.where}: field {person_in!r} names {len(named)} of the known people "
                f"({', '.join(named) or 'none'}); expected exactly one"
            )
        facts.append(Fact(row.where, named[0], prompt, completion))
    return facts


def people_of(reverse_test: Path) -> tuple[str, ...]:
    """The fictional people: the answers of the description -> person questions."""
    return tuple(sorted({_text(row, "completion").strip() for row in read_rows(reverse_test)}))


def sample_facts(
    folder: Path, *, people: int, facts_per_person: int, tests_per_person: int, seed: int
) -> FactSample:
    """A seeded choice of people, then of each one's training facts and test questions."""
    everyone = people_of(folder / REVERSE_TEST)
    chosen = tuple(sorted(_pick(list(everyone), people, seed, key=str)))

    pools = {
        name: [f for f in read_facts(folder / name, everyone, person_in) if f.person in chosen]
        for name, person_in in ((TRAIN, "prompt"), (FORWARD_TEST, "prompt"),
                                (REVERSE_TEST, "completion"))
    }

    def per_person(name: str, limit: int) -> tuple[Fact, ...]:
        return tuple(
            f for person in chosen
            for f in _pick([f for f in pools[name] if f.person == person], limit, seed, _fact_key)
        )

    forward = per_person(FORWARD_TEST, tests_per_person)
    reverse = per_person(REVERSE_TEST, tests_per_person)
    wrong = {t.where: wrong_answers(t, pools[FORWARD_TEST], chosen) for t in (*forward, *reverse)}
    return FactSample(chosen, per_person(TRAIN, facts_per_person), forward, reverse, wrong)


def wrong_answers(test: Fact, pool: list[Fact], people: tuple[str, ...]) -> tuple[str, ...]:
    """The answers the same question has for the other people: the alternatives to rank.

    A question answered by the name (reverse) takes each other person's name; a question about
    the person (forward) takes each other person's answer to the same wording, from ``pool``.
    """
    if test.person in test.completion:
        return tuple(test.completion.replace(test.person, p) for p in people if p != test.person)
    wording = test.prompt.replace(test.person, "\0")
    return tuple(
        f.completion for f in pool
        if f.person != test.person and f.prompt.replace(f.person, "\0") == wording
    )


def read_pairs(path: Path) -> list[CelebrityPair]:
    """Every parent/child pair of the CSV; ``can_reverse`` must read True or False."""
    pairs = []
    for row in read_rows(path):
        flag = _text(row, "can_reverse").strip()
        if flag not in ("True", "False"):
            raise DataError(f"{row.where}: field 'can_reverse' is {flag!r}; expected True or False")
        pairs.append(CelebrityPair(
            _text(row, "child").strip(), _text(row, "parent").strip(),
            _text(row, "parent_type").strip(), flag == "True",
        ))
    return pairs


def sample_pairs(pairs: list[CelebrityPair], limit: int, seed: int) -> list[CelebrityPair]:
    return _pick(pairs, limit, seed, key=lambda p: f"{p.child}\x1f{p.parent}")


def _pick(items: list, limit: int, seed: int, key) -> list:
    """``limit`` items chosen by hash of (seed, key), in their original order."""
    chosen = sorted(range(len(items)), key=lambda i: rank_key(seed, key(items[i])))[:limit]
    return [items[i] for i in sorted(chosen)]


def _fact_key(fact: Fact) -> str:
    return fact.prompt + "\x1f" + fact.completion


def _text(row: RawRow, field: str) -> str:
    value = row.data.get(field)
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{row.where}: field {field!r} must be a non-empty string, got {value!r}")
    return value
