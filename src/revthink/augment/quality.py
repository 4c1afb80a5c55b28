"""Quality flags: signs, checkable without a judge, that a record's backward half is no reversal.

A true reversal takes the original answer as given and asks back for something the original
question stated, and its reasoning recovers that thing. Each flag marks one way a teacher's
record fails that, and each is cheap and exact to check:

- ``answer_missing``: Q_b never states the original answer, so it cannot start from it.
  Numbers are compared by value (digits or words up to ninety-nine), dates by day, whatever
  their format, and option texts by their words. Not checked for yes/no answers (as options
  too) and labels, which a reversal states in its own words ("a goldfish cannot live ...").
  ``reversal_defect``, which knows the hidden piece, also refuses a Q_b whose number answer
  is only there as a premise Q already states.
- ``repeats_question``: Q_b asks what Q asked (its last question is Q's last question) or
  contains Q whole: a student trained on it learns to copy questions.
- ``answer_not_in_question``: R_b's final answer is nowhere in Q, so it recovered no fact Q
  stated. Compared as above: by value, by day, or every word of the answer found in Q.

A backward reasoning cut off at the token limit never reaches a record: the step drops it
(``backward_reasoning:truncated`` in the funnel).

The same comparisons check a teacher's backward question against the piece it says it hid
(``reversal_defect``) and its backward reasoning against that piece (``reaches``): those are
reasons to ask again, not flags, since they judge an answer before it becomes a record.
"""

from __future__ import annotations

import calendar
import re

from revthink.answers import is_correct
from revthink.answers.numbers import numbers_in, parse_number
from revthink.answers.spans import final_answer_spans
from revthink.config import QualityFlag as Flag
from revthink.records import Problem

# Raised whenever a check here or a rule of ``rule_backward`` accepts, refuses or hides
# differently: the augmentation stage's fingerprint carries it, so finished runs are checked
# again (teacher answers come from the cache) instead of keeping records the checks now refuse.
# 1 stands for the checks before the version was recorded.
CHECKS_VERSION = 2

_WORD = re.compile(r"[a-z0-9]+(?:[/.,:-][a-z0-9]+)*")  # "Emma's" -> "emma", "s"
_YES_NO = frozenset({"yes", "no", "true", "false"})
_ARTICLES = frozenset({"the", "a", "an"})
_QUESTION = re.compile(r"[^.!?\n]*\?")
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTH = "(" + "|".join(_MONTHS) + ")"
_DATE_FORMS = (  # each yields (year, month, day) from its groups in this order
    (re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b"), lambda g: (g[2], g[0], g[1])),
    (re.compile(_MONTH + r"\s+(\d{1,2}),?\s+(\d{4})\b", re.I), lambda g: (g[2], g[0], g[1])),
    (re.compile(r"\b(\d{1,2})\s+" + _MONTH + r",?\s+(\d{4})\b", re.I),
     lambda g: (g[2], g[1], g[0])),
    (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"), lambda g: (g[0], g[1], g[2])),
)


def quality_flags(
    problem: Problem, backward_question: str, backward_reasoning: str
) -> tuple[Flag, ...]:
    """The flags a record raises, in the order ``QualityFlag`` lists them.

    Q is the question without its options: a backward question that lists them, or a backward
    answer that names one, has not reached back into what Q itself stated.
    """
    question = problem.question
    flags: list[Flag] = []
    if _misses_answer(problem, backward_question):
        flags.append("answer_missing")
    if _repeats(question, backward_question):
        flags.append("repeats_question")
    spans = final_answer_spans(backward_reasoning)
    if spans and not _mentions(question, spans[0]):
        flags.append("answer_not_in_question")
    return tuple(flags)


def reversal_defect(problem: Problem, hidden: str, backward_question: str) -> str | None:
    """Why a backward question hiding ``hidden`` is no reversal of ``problem``; None if it is.

    The hidden piece must be something Q states; a hidden number must be masked (Q_b states it
    fewer times than Q does, so a value Q repeats may stay elsewhere); Q_b must not repeat Q and
    must state the answer where it can be looked for (see ``answer_missing``; a number answer
    that Q also states as a premise must be in Q_b more often than Q states it outside the
    hidden piece). A name or fact Q states once must be gone from Q_b; one Q states several
    times may stay, as part of a premise Q_b restates (a family tree names each person more
    than once).
    """
    if _plain(backward_question) == _plain(problem.question):
        return "copied_question"
    if not _mentions(problem.question, hidden):
        return "hidden_not_in_question"
    value = _number_value(hidden)
    if value is not None:
        # Q_b states the answer, which may be the hidden value as well
        stated = _number_value(problem.answer) == value
        shown = _numbers(backward_question).count(value) - stated
        if shown >= _numbers(problem.question).count(value):
            return "hidden_in_backward_question"
    elif _times(problem.question, hidden) == 1 and _times(backward_question, hidden):
        return "hidden_in_backward_question"
    if _misses_answer(problem, backward_question) or _answer_only_as_premise(
        problem, hidden, backward_question
    ):
        return "answer_missing"
    return None


def _answer_only_as_premise(problem: Problem, hidden: str, backward_question: str) -> bool:
    """Whether a number answer that Q also states as a premise ("7 towels a wash", answer 7
    days) is in Q_b no more often than Q states it outside the hidden piece: then Q_b may
    keep the premise and never state the answer."""
    answer = _stated_answer(problem)
    value = _number_value(answer) if answer is not None else None
    if value is None:
        return False
    left = _numbers(problem.question).count(value) - (_number_value(hidden) == value)
    return left > 0 and _numbers(backward_question).count(value) <= left


def reaches(backward_reasoning: str, hidden: str, *, whole: bool = False) -> bool:
    """Whether R_b's final answer is the hidden piece: the same number, date or words.

    A final answer in words may be part of the piece ("Sahara" for "the Sahara desert") or the
    piece with at most two words more ("the Sahara desert" for "Sahara"); a sentence that only
    mentions it ("The oven cooled to a lower temperature" for "oven") is not it. With
    ``whole`` (a piece the rule chose, whose words are known exactly) every word of the piece
    must be there: "bed" does not reach "eating breakfast in bed".
    """
    value = _number_value(hidden)
    if value is not None:
        return is_correct(backward_reasoning, value, "number", mode="strict")
    spans = final_answer_spans(backward_reasoning)
    if not spans:
        return False
    answer = spans[0]
    if not whole and _mentions(hidden, answer):
        return True
    return _mentions(answer, hidden) and len(_words(answer)) <= len(_words(hidden)) + 2


def _times(text: str, piece: str) -> int:
    """How often ``text`` states ``piece`` word for word (dates by day)."""
    dates = _dates(piece)
    if dates:
        return sum(date in dates for date in _date_list(text))
    words, wanted = _plain(text).split(), _plain(piece).split()
    if not wanted:
        return 0
    return sum(words[i : i + len(wanted)] == wanted for i in range(len(words)))


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower())) - _ARTICLES


def _misses_answer(problem: Problem, backward_question: str) -> bool:
    """Whether Q_b leaves out the answer, where the answer can be looked for."""
    answer = _stated_answer(problem)
    return answer is not None and not _mentions(backward_question, answer)


def _stated_answer(problem: Problem) -> str | None:
    """The answer as a reversal should state it; None where its own words are expected."""
    if problem.answer_type == "choice":
        option = problem.answer_option
        return None if option.strip().lower() in _YES_NO else option
    if problem.answer_type in ("number", "math"):
        return problem.answer
    return None


def _mentions(text: str, answer: str) -> bool:
    """Whether ``text`` states ``answer``: the same date, the same number, or all its words."""
    dates = _dates(answer)
    if dates:
        return bool(dates & _dates(text))
    value = _number_value(answer)
    if value is not None:
        return value in _numbers(text)
    words = _words(answer)
    return bool(words) and words <= set(_WORD.findall(text.lower()))


def _number_value(piece: str) -> str | None:
    """The value of a piece that is a number ("$12", "ten"), not a date or a phrase."""
    if _dates(piece) or not _is_numeric(piece):
        return None
    return parse_number(piece)


def _is_numeric(answer: str) -> bool:
    """A number with little around it ("$12", "x = 12", "12 apples", "ten"), not a phrase."""
    value = answer.rpartition("=")[2].strip().lower()
    return len(value.split()) <= 2 and bool(re.search(r"\d|^[a-z]+(?:-[a-z]+)?$", value))


def _numbers(text: str) -> list[str]:
    """Every number ``text`` states, in digits or words, one entry per occurrence; a date's
    parts are no numbers of their own."""
    for pattern, _ in _DATE_FORMS:
        text = pattern.sub(" ", text)
    found = list(numbers_in(text))
    for word in re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)?", text):
        value = parse_number(word)
        if value is not None:
            found.append(value)
    return found


def _dates(text: str) -> set[tuple[int, int, int]]:
    return set(_date_list(text))


def _date_list(text: str) -> list[tuple[int, int, int]]:
    """Every date ``text`` states as (year, month, day), one entry per occurrence."""
    found = []
    for pattern, order in _DATE_FORMS:
        for match in pattern.finditer(text):
            year, month, day = order(match.groups())
            month = _MONTHS.get(month.lower(), 0) if month.isalpha() else int(month)
            found.append((int(year), month, int(day)))
    return found


def _repeats(question: str, backward_question: str) -> bool:
    if _plain(question) in _plain(backward_question):
        return True
    asked, asked_back = _QUESTION.findall(question), _QUESTION.findall(backward_question)
    return bool(asked and asked_back) and _plain(asked[-1]) == _plain(asked_back[-1])


def _plain(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))
