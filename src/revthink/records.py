"""Frozen typed records passed between stages, stored one JSON object a line.

Every stage reads and writes these and nothing else, so a stage never depends on another
stage's private dict layout. Each line carries ``schema`` so that older files are recognised
rather than misread.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, TypeVar, get_args

from revthink.errors import RecordError
from revthink.files import update_file

SCHEMA_VERSION = 1

_log = logging.getLogger(__name__)

AnswerType = Literal["number", "math", "choice", "yes_no", "label"]
ANSWER_TYPES: tuple[str, ...] = get_args(AnswerType)


@dataclass(frozen=True)
class Problem:
    """One question with its gold answer.

    ``question`` is self-contained (passages and tables included); for ``choice`` problems the
    option texts are in ``options`` in letter order (A, B, ...) and ``answer`` is the letter.
    ``concept`` is the word of the question the source says it is about (CommonsenseQA's
    ``question_concept``): the piece a rule-made backward question of a choice problem hides.
    """

    id: str
    dataset: str
    question: str
    answer: str
    answer_type: AnswerType
    options: tuple[str, ...] = ()
    reference: str = ""  # the source's own rationale when it has one (e.g. GSM8K solutions)
    concept: str = ""

    @property
    def answer_option(self) -> str:
        """The text of the gold option of a choice problem ("" for other problems)."""
        if self.answer_type != "choice":
            return ""
        return self.options[ord(self.answer) - ord("A")]

    def __post_init__(self) -> None:
        if not self.question.strip():
            raise RecordError(f"problem {self.id!r}: field 'question' is empty")
        if not self.answer.strip():
            raise RecordError(f"problem {self.id!r}: field 'answer' is empty")
        if self.answer_type not in ANSWER_TYPES:
            raise RecordError(
                f"problem {self.id!r}: field 'answer_type' is {self.answer_type!r}, "
                f"expected one of {', '.join(ANSWER_TYPES)}"
            )
        if self.answer_type == "choice":
            letters = [chr(ord("A") + i) for i in range(len(self.options))]
            if self.answer not in letters:
                raise RecordError(
                    f"problem {self.id!r}: field 'answer' is {self.answer!r}, expected one of the "
                    f"option letters {letters or '(no options given)'}"
                )


@dataclass(frozen=True)
class AugmentedExample:
    """A problem with the teacher's forward reasoning and its backward counterpart.

    ``backward_answer`` is the piece of Q that Q_b asks back for and R_b reached: the masked
    number of a rule-made question, or what the teacher said it hid (None in records written
    before teachers named it); ``extra_forward`` holds further correct forward reasonings
    (answer augmentation); ``rephrased_question`` is set when the teacher was asked to rephrase
    Q; ``flags`` are the quality flags the record raised (``revthink.augment.quality``);
    ``backward_origin`` says whether the teacher or the rule wrote Q_b (``backward_fallback``).
    """

    problem: Problem
    forward_reasoning: str
    backward_question: str
    backward_reasoning: str
    consistent: bool | None = None
    backward_answer: str | None = None
    extra_forward: tuple[str, ...] = ()
    rephrased_question: str | None = None
    teacher: str = ""
    flags: tuple[str, ...] = ()
    backward_origin: str = ""  # who wrote Q_b: "teacher", "rule", "hybrid" ("" in older records)

    @property
    def id(self) -> str:
        return self.problem.id


@dataclass(frozen=True)
class Prediction:
    """A student's answer to one problem, with its strict and flexible verdicts."""

    problem_id: str
    dataset: str
    method: str
    prompt: str
    output: str
    gold: str
    extracted: str | None
    extracted_flexible: str | None
    correct: bool
    correct_flexible: bool
    generated_tokens: int = 0


@dataclass(frozen=True)
class Score:
    """Accuracy of one method on one benchmark, with a 95% bootstrap interval."""

    method: str
    dataset: str
    n: int
    accuracy: float
    ci_low: float
    ci_high: float
    accuracy_flexible: float
    extraction_failure_rate: float
    mean_generated_tokens: float = 0.0
    tokens_per_second: float = 0.0
    question_rate: float = 0.0  # share of outputs that ask a question instead of answering
    extra: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Comparison:
    """``method`` against ``baseline`` on the same problems of one benchmark (paired).

    ``difference`` is accuracy(method) - accuracy(baseline) with its 95% paired-bootstrap
    interval; ``wins``/``losses`` count problems only the method / only the baseline solved, and
    ``p_value`` is the exact McNemar test on those discordant pairs.
    """

    method: str
    baseline: str
    dataset: str
    n: int
    difference: float
    ci_low: float
    ci_high: float
    wins: int
    losses: int
    p_value: float

    @property
    def excludes_zero(self) -> bool:
        """True when the interval lies wholly above or below 0: a difference, not noise."""
        return self.ci_low > 0 or self.ci_high < 0


Record = Problem | AugmentedExample | Prediction | Score | Comparison
R = TypeVar("R", Problem, AugmentedExample, Prediction, Score, Comparison)


# Fields added after schema 1 that a line leaves out while they are empty: records of sources
# without them stay byte for byte what earlier versions wrote, so the stages reading them
# (training hashes its input files) do not run again for nothing.
_LATER_FIELDS = frozenset({"concept"})


def to_json(record: Record) -> dict[str, Any]:
    """A JSON-ready dict of ``record`` with the schema version."""
    return {"schema": SCHEMA_VERSION, **dataclasses.asdict(record, dict_factory=line_fields)}


def line_fields(items: list[tuple[str, Any]]) -> dict[str, Any]:
    """The fields a line keeps: ``dataclasses.asdict``'s items without empty later fields."""
    return {name: value for name, value in items if not (name in _LATER_FIELDS and value == "")}


def from_json(cls: type[R], data: dict[str, Any]) -> R:
    """Rebuild a record of type ``cls``; raises RecordError naming the missing/unknown field."""
    if not isinstance(data, dict):
        raise RecordError(f"expected a JSON object for {cls.__name__}, got {type(data).__name__}")
    data = dict(data)
    schema = data.pop("schema", SCHEMA_VERSION)
    if schema != SCHEMA_VERSION:
        raise RecordError(f"schema version {schema}, this revthink reads {SCHEMA_VERSION}")
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise RecordError(f"unknown field(s) {unknown} for {cls.__name__}")
    missing = [
        n for n, f in names.items()
        if n not in data and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise RecordError(f"missing field(s) {missing} for {cls.__name__}")
    for name, value in data.items():
        _check_json_type(cls, name, str(names[name].type), value)
    if cls is AugmentedExample:
        data["problem"] = from_json(Problem, data["problem"])
        data["extra_forward"] = tuple(data.get("extra_forward", ()))
        data["flags"] = tuple(data.get("flags", ()))
    if cls is Problem:
        data["options"] = tuple(data.get("options", ()))
    return cls(**data)


# JSON types of the record fields' annotations (strings under `from __future__ import annotations`)
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,), "AnswerType": (str,), "str | None": (str, type(None)),
    "int": (int,), "float": (int, float), "bool": (bool,), "bool | None": (bool, type(None)),
    "tuple[str, ...]": (list, tuple), "dict[str, float]": (dict,), "Problem": (dict,),
}


def _check_json_type(cls: type, name: str, annotation: str, value: Any) -> None:
    """A field of the wrong JSON type is named, rather than failing later in a bare traceback."""
    expected = _JSON_TYPES.get(annotation)
    if expected is None:
        return
    wrong_bool = isinstance(value, bool) and bool not in expected
    if wrong_bool or not isinstance(value, expected):
        raise RecordError(f"{cls.__name__} field '{name}' is {value!r:.60}, expected {annotation}")
    if annotation == "tuple[str, ...]" and not all(isinstance(v, str) for v in value):
        raise RecordError(f"{cls.__name__} field '{name}' must be a list of strings")


def write_jsonl(path: Path, records: Iterable[Record]) -> None:
    """Write ``records`` atomically (a crash leaves the old file or the new one, never half),
    and not at all when the file already holds them."""
    update_file(path, "".join(json.dumps(to_json(r), ensure_ascii=False) + "\n" for r in records))


def append_jsonl(path: Path, records: Iterable[Record]) -> None:
    """Append and flush to disk, so that work finished before a crash is kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(to_json(record), ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())


def repair_jsonl(path: Path) -> int:
    """Make an appended JSONL file end on a complete line again; return the bytes dropped.

    A process killed in the middle of an append leaves a last line without its newline. Stages
    call this where they resume, before appending: the torn line is cut off with a warning
    naming the file (its work is redone), or, when it is a whole JSON object that only lacks
    the newline, the newline is added. A missing file needs no repair.
    """
    if not path.is_file():
        return 0
    with path.open("r+b") as f:
        size = f.seek(0, os.SEEK_END)
        end = _complete_length(f, size)
        f.seek(end)
        tail = f.read()
        if not tail:
            return 0
        if _is_json_object(tail):
            f.write(b"\n")
            return 0
        f.truncate(end)
        os.fsync(f.fileno())
    _log.warning(
        "%s: dropped a torn last line (%d bytes) left by an interrupted write; "
        "its work is done again", path, len(tail),
    )
    return len(tail)


def _complete_length(f: IO[bytes], size: int, chunk: int = 1 << 16) -> int:
    """Length of the prefix of ``f`` that ends with a newline, read backwards in chunks."""
    end = size
    while end > 0:
        start = max(0, end - chunk)
        f.seek(start)
        newline = f.read(end - start).rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        end = start
    return 0


def _is_json_object(data: bytes) -> bool:
    """True for one whole JSON object: every line we append is one."""
    try:
        return isinstance(json.loads(data), dict)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
        return False


def iter_jsonl(path: Path, cls: type[R], *, tolerate_torn_tail: bool = False) -> Iterator[R]:
    """Yield records from ``path``; errors name the file and line.

    ``tolerate_torn_tail`` skips an unterminated last line, which is what a process killed in
    the middle of an append leaves behind (the work it held is redone on resume).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecordError(f"{path}: file not found") from None
    except UnicodeDecodeError as err:
        raise RecordError(f"{path}: not UTF-8 text (byte {err.start})") from None
    lines = text.split("\n")
    torn = lines[-1] != ""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if torn and number == len(lines) and tolerate_torn_tail:
            return
        try:
            yield from_json(cls, json.loads(line))
        except json.JSONDecodeError as err:
            raise RecordError(f"{path}:{number}: malformed JSON ({err.msg})") from None
        except (RecordError, TypeError) as err:
            raise RecordError(f"{path}:{number}: {err}") from None


def read_jsonl(path: Path, cls: type[R], *, tolerate_torn_tail: bool = False) -> list[R]:
    return list(iter_jsonl(path, cls, tolerate_torn_tail=tolerate_torn_tail))
