"""Backward benchmarks: each problem turned into the question that takes its answer as given.

A dataset YAML with ``backward: true`` is read this way (``gsm8k_backward``,
``synthetic_backward``); its problems keep their forward ids, so a student's forward and
backward answers to the same problem can be paired.

- Numeric datasets: one number that occurs once in Q (and differs from the answer, which a
  model could otherwise copy) is hidden as x by the rule of
  ``revthink.augment.rule_backward``, the original answer is stated and x is asked for; the
  gold answer is the hidden number, exactly. Problems with no number to hide are left out and
  counted in a warning.
- Synthetic datasets: the generator's exact backward question. Its answer is a number (an
  arithmetic amount, a count of days), a date or a name; dates and names are asked as multiple
  choice (the names of the family; the date and four dates next to it, in its own format), so
  the answer extractors and scoring that every benchmark uses read them unchanged.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from revthink.augment.rule_backward import mask_number
from revthink.errors import DataError
from revthink.records import Problem

if TYPE_CHECKING:
    from revthink.synthetic import SyntheticItem

_log = logging.getLogger(__name__)

_INTEGER = re.compile(r"-?\d+")
_NAME_WORD = re.compile(r"\b[A-Z][a-z]+\b")
_DATE_SHIFTS = (-30, -1, 1, 30)  # days: the distractors of a date answer
# How the synthetic dates family writes a date: (strptime pattern, writer)
_DATE_FORMATS: tuple[tuple[str, Callable[[date], str]], ...] = (
    ("%Y-%m-%d", lambda d: d.isoformat()),
    ("%m/%d/%Y", lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}"),
    ("%B %d, %Y", lambda d: f"{d:%B} {d.day}, {d.year}"),
    ("%d %B %Y", lambda d: f"{d.day} {d:%B} {d.year}"),
)


def rule_backward_problems(problems: Sequence[Problem], dataset: str, seed: int) -> list[Problem]:
    """The rule-made backward question of every problem that has a number to hide."""
    kept = []
    for problem in problems:
        rule = mask_number(problem, seed)
        if rule is not None:
            kept.append(Problem(id=problem.id, dataset=dataset, question=rule.question,
                                answer=rule.answer, answer_type="number"))
    skipped = len(problems) - len(kept)
    if skipped:
        _log.warning(
            "dataset %r: %d of %d problems left out: no number to hide (one that occurs once, "
            "is no part of a date or time, and differs from the answer)", dataset, skipped,
            len(problems),
        )
    return kept


def exact_backward_problem(item: SyntheticItem, dataset: str) -> Problem:
    """A synthetic item's backward question as a problem: a number, or a choice of dates/names."""
    question, answer, pid = item.backward_question, item.backward_answer, item.problem.id
    if _INTEGER.fullmatch(answer):
        return Problem(id=pid, dataset=dataset, question=question, answer=answer,
                       answer_type="number")
    options = _date_options(answer) or _name_options(question, answer)
    if answer not in options:
        raise DataError(
            f"synthetic problem {pid}: backward answer {answer!r} is neither a number, a date "
            "nor a name of its question"
        )
    options = _shuffled(options, pid)
    return Problem(id=pid, dataset=dataset, question=question,
                   answer=chr(ord("A") + options.index(answer)), answer_type="choice",
                   options=options)


def _date_options(answer: str) -> tuple[str, ...]:
    """The date and the dates a day and a month either side of it, written alike; () if none."""
    for pattern, write in _DATE_FORMATS:
        try:
            day = datetime.strptime(answer, pattern).date()
        except ValueError:
            continue
        if write(day) == answer:
            return (answer, *(write(day + timedelta(days=shift)) for shift in _DATE_SHIFTS))
    return ()


def _name_options(question: str, answer: str) -> tuple[str, ...]:
    """The people named in the question, in order of first mention."""
    from revthink.synthetic.lexicon import FEMALE_NAMES, MALE_NAMES

    known = {*FEMALE_NAMES, *MALE_NAMES}
    found = [w for w in _NAME_WORD.findall(question) if w in known]
    return tuple(dict.fromkeys(found)) if answer in known else ()


def _shuffled(options: tuple[str, ...], key: str) -> tuple[str, ...]:
    """A fixed order that depends on the problem only, so the answer letter carries no pattern."""
    return tuple(sorted(options, key=lambda o: hashlib.sha256(f"{key}\x00{o}".encode()).digest()))
