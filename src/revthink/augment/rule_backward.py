"""Rule-made backward questions: hide one number of Q as x (maths) or the word Q is about as a
blank (choice problems whose source names it, CommonsenseQA), and ask for it.

Given the answer, the hidden number is the one unknown, so the backward question needs no
teacher call and its answer is known exactly: the backward reasoning is checked with the same
extractor as the forward one (FOBAR and MetaMath build their backward questions this way). The
same rule makes the ``gsm8k_backward`` benchmark and the test-time backward checks of
``evaluate.decode: forward_backward``.

    mask_number(Problem(question="Tom has 5 apples and buys 3. How many...", answer="8"), 0)
    -> RuleBackward(question="Tom has x apples and buys 3. How many...\\nWe know that ...",
                    answer="5")

A number qualifies when it stands on its own (not "COVID19", "3rd"), occurs once in Q (a
repeated value would stay visible), and is no part of a time, date, ratio, fraction or range
("3:30", "5 pm", "1/4", "2021-05-01", "March 3", "in 2021"): hiding those asks for something
the answer does not determine, or reads as nonsense.

A choice problem's concept ("punishing" in "... were a punishing blow, and they seemed to what
the efforts ...?", answer "ignore") is what the question was written around: the answer was
chosen for it, so stating the answer leaves it the piece to find. It qualifies when Q states it
once, word for word (a hyphenated word counts as one), the answer shares no content word with
it, and the finished question does not state it elsewhere.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass

from revthink.answers import normalize
from revthink.records import Problem

# A number standing on its own: "5", "1,200", "3.5", "$40" (the "$" stays), not "3rd" or "x2".
_NUMBER = re.compile(r"(?<![\w.])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w])")
# Every written number, also inside words, times and dates: what "occurs once" counts.
_ANY_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
)
_JOINED_BEFORE = re.compile(r"\d[:/-]$")  # "3:30", "1/4", "2021-05-01", "3-4" (second part)
_JOINED_AFTER = re.compile(r"^[:/-]\d")  # (first part)
_CLOCK_AFTER = re.compile(r"^\s*(?:[ap]\.?m\b\.?|o'clock)", re.IGNORECASE)
_MONTH_BEFORE = re.compile(rf"\b{_MONTH}\s+(?:the\s+)?(?:\d{{1,2}},\s*)?$")
_MONTH_AFTER = re.compile(rf"^\s+(?:of\s+)?{_MONTH}(?!\w)")
_YEAR_WORD_BEFORE = re.compile(
    r"\b(?:in|since|until|till|by|from|to|of|year|during|before|after|between|and)\s+$",
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?:19|20)\d\d")
_VARIABLE = re.compile(r"(?<![\w.])x(?!\w)")
_ASK = "We know that the answer to this question is {answer}. What number does x stand for?"
_BLANK = "___"
_FUNCTION_WORDS = frozenset(
    {"a", "an", "the", "to", "of", "in", "on", "at", "for", "and", "or", "with", "by", "from"})
_ASK_WORD = 'We know that the answer to this question is "{answer}". What does ___ stand for?'


@dataclass(frozen=True)
class RuleBackward:
    """A backward question and its exact answer (the masked number without commas, or the
    blanked words as Q writes them)."""

    question: str
    answer: str


def rule_backward(problem: Problem, seed: int) -> RuleBackward | None:
    """The rule's backward question for ``problem``: a masked number for a number answer, the
    blanked concept for a choice problem; None when it has nothing to hide."""
    if problem.answer_type == "choice":
        return mask_concept(problem)
    return mask_number(problem, seed)


def mask_concept(problem: Problem) -> RuleBackward | None:
    """The backward question blanking the concept of a choice problem (see the module
    docstring); None without a concept that Q states exactly once or with a blank already."""
    concept = problem.concept.strip()
    if problem.answer_type != "choice" or not concept or _BLANK in problem.question:
        return None
    found = _whole_words(concept, problem.question)
    if len(found) != 1:
        return None
    where = found[0]
    answer = problem.answer_option
    if _content_words(answer) & _content_words(concept):
        return None  # stating the answer would give the hidden word away
    blanked = problem.question[: where.start()] + _BLANK + problem.question[where.end() :]
    question = f"{blanked.rstrip()}\n{_ASK_WORD.format(answer=answer)}"
    if _whole_words(concept, question):
        return None  # the question's other words state it ("We know ..." for "know")
    return RuleBackward(question=question, answer=where.group())


def _whole_words(words: str, text: str) -> list[re.Match[str]]:
    """Where ``text`` states ``words`` as whole words, in any case; a hyphenated word is one
    word ("shirt" is not in "t-shirt")."""
    return list(re.finditer(rf"(?<![\w-]){re.escape(words)}(?![\w-])", text, re.IGNORECASE))


def _content_words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower())) - _FUNCTION_WORDS


def maskable_numbers(question: str, avoid: Collection[str] = ()) -> list[re.Match[str]]:
    """The numbers of ``question`` that may be hidden, in order (see the module docstring).

    Numbers equal to a value of ``avoid`` are left out too: a backward question that states its
    answer as 12 and hides a 12 is solved by copying the stated answer.
    """
    written = [m.group().replace(",", "") for m in _ANY_NUMBER.finditer(question)]
    avoided = {normalize(a, "number") for a in avoid}
    return [
        m for m in _NUMBER.finditer(question)
        if written.count(m.group().replace(",", "")) == 1 and not in_date_or_time(question, m)
        and normalize(m.group(), "number") not in avoided
    ]


def in_date_or_time(text: str, number: re.Match[str]) -> bool:
    """True when ``number`` is part of a time, a date, a year, a ratio, a fraction or a range."""
    before, after = text[: number.start()], text[number.end() :]
    if _JOINED_BEFORE.search(before) or _JOINED_AFTER.match(after) or _CLOCK_AFTER.match(after):
        return True
    if _MONTH_BEFORE.search(before) or _MONTH_AFTER.match(after):
        return True
    is_year = _YEAR.fullmatch(number.group()) is not None and not before.endswith("$")
    return is_year and _YEAR_WORD_BEFORE.search(before) is not None


def mask_number(
    problem: Problem, seed: int, avoid: Collection[str] | None = None
) -> RuleBackward | None:
    """The backward question hiding a seeded choice of number; None when Q has none to hide.

    Only problems with a numeric answer qualify: the answer is stated as a number in Q_b. A
    question that already uses x as a name has no free letter for the unknown and is skipped.
    No number equal to a value of ``avoid`` is hidden (default: the answer itself). The choice
    depends on the seed, the problem's id and ``avoid``, not on the answer, so candidate answers
    of one problem checked with the same ``avoid`` all hide the same number.
    """
    if problem.answer_type != "number" or _VARIABLE.search(problem.question):
        return None
    candidates = maskable_numbers(problem.question, (problem.answer,) if avoid is None else avoid)
    if not candidates:
        return None
    digest = hashlib.sha256(f"{seed}\x00{problem.id}".encode()).digest()
    chosen = candidates[int.from_bytes(digest[:8], "big") % len(candidates)]
    masked = problem.question[: chosen.start()] + "x" + problem.question[chosen.end() :]
    question = f"{masked.rstrip()}\n{_ASK.format(answer=problem.answer)}"
    return RuleBackward(question=question, answer=chosen.group().replace(",", ""))
