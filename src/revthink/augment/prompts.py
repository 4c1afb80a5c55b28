"""Teacher prompts of the four augmentation steps, one set per task family.

Why each prompt is phrased as it is:

- Forward reasoning uses the student's own forward prompt (``revthink.prompting``): the teacher's
  R_f then ends in exactly the "The answer is X." sentence the extractors read when filtering
  it, and the student is later trained on text in the format it is evaluated on.
- The backward question is the one creative step, so it gets a system instruction naming what
  to hide for the family (a number for maths and tables, a fact of the premise for multiple
  choice, yes/no, NLI and dates) and worked examples as chat turns: the teacher sees the
  answer given as a fact and a question that asks back for a piece of the original. The answer
  is shown with its option text, since a bare letter ("(B)") cannot be reasoned from. The
  teacher first names the piece it hid ("Hidden: 24"), then writes the question: a weak teacher
  otherwise rephrases Q or copies an example's wording, and the named piece lets the pipeline
  check the reversal without a judge (the piece is in Q, not in Q_b; R_b must reach it).
- Backward reasoning asks for step-by-step work ending in "The answer is X.", so the same
  extractors check it (exactly, for rule-made questions). The backward question is quoted
  verbatim: it is the whole problem the reasoning answers.
- The consistency check quotes Q, A, Q_b and R_b verbatim and asks one closed question: does
  the backward reasoning, starting from A, recover what Q stated? A short explanation first
  (judges are more reliable after a reason), then "True" or "False" alone on the last line, which
  ``read_verdict`` takes as the verdict.
- Rephrasing asks for the question stem only with every number and fact kept, so the gold
  answer (and the options, listed separately) stays valid for the rephrased question.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from revthink.prompting import ANSWER_FORMAT, forward_instruction, question_text, student_messages
from revthink.records import Problem
from revthink.teachers.base import Message

FAMILIES: tuple[str, ...] = ("math", "multiple_choice", "yes_no", "nli", "date", "table")

# A "mixed" dataset (the synthetic mix, TabMWP) takes each problem's family from its answer type.
FAMILY_OF_ANSWER_TYPE: dict[str, str] = {
    "number": "math", "math": "math", "choice": "multiple_choice", "yes_no": "yes_no",
    "label": "nli",
}

_REPLY_FORMAT = (
    ' Reply with two lines: "Hidden: " and the piece of the question you hid, then '
    '"Backward question: " and the new question. The new question states the answer and does '
    "not state the hidden piece."
)

BACKWARD_INSTRUCTIONS: dict[str, str] = {
    "math": (
        "You turn a maths word problem around. Pick one number the problem states and hide it. "
        "Write a new problem that gives the original final answer as a known fact, keeps every "
        "other fact, and asks for the hidden number." + _REPLY_FORMAT
    ),
    "multiple_choice": (
        "You turn a multiple-choice question around. Pick a word or fact the question itself "
        "states and hide it. Write a new question that gives the correct option as a known "
        "fact and asks for the hidden word or fact." + _REPLY_FORMAT
    ),
    "yes_no": (
        "You turn a yes/no question around. Pick the thing the question is about and hide it. "
        "Write a new question that states the answer and its reason as known facts and asks "
        "which thing it is." + _REPLY_FORMAT
    ),
    "nli": (
        "You turn a premise/hypothesis question around. Pick a detail the premise states and "
        "hide it. Write a new question that states the relation to the hypothesis as known "
        "and asks for the hidden detail." + _REPLY_FORMAT
    ),
    "date": (
        "You turn a date question around. Hide the date (or the time span) the question gives. "
        "Write a new question that states the answer date as known and asks for the hidden "
        "one." + _REPLY_FORMAT
    ),
    "table": (
        "You turn a question about a table around. Pick one value of the table or question "
        "and hide it. Write a new question that gives the original answer as known and asks "
        "for the hidden value." + _REPLY_FORMAT
    ),
}

# Worked examples per family: (question, answer as shown to the teacher, hidden piece, backward
# question). The maths examples hide numbers in different places and word the given answer
# differently, so no single phrasing is there to be copied.
BACKWARD_EXAMPLES: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "math": (
        (
            "A baker makes 24 rolls and sells 3 bags of 5 rolls each. How many rolls are left?",
            "9",
            "24",
            "A baker makes some rolls and sells 3 bags of 5 rolls each. 9 rolls are left. "
            "How many rolls did the baker make?",
        ),
        (
            "Tickets cost $8 for adults and $5 for children. A family buys 2 adult tickets and "
            "3 child tickets. How much do they pay?",
            "31",
            "3",
            "Tickets cost $8 for adults and $5 for children. A family buys 2 adult tickets and "
            "some child tickets and pays $31. How many child tickets did they buy?",
        ),
        (
            "Lena saves $15 a week. After how many weeks does she have $90?",
            "6",
            "15",
            "Lena saves the same amount each week and has $90 after 6 weeks. How much does she "
            "save a week?",
        ),
    ),
    "multiple_choice": (
        (
            "Where do you keep milk so that it stays cold?\nOptions:\n(A) oven\n"
            "(B) refrigerator\n(C) cupboard",
            "(B) refrigerator",
            "milk",
            "You keep something in the refrigerator so that it stays cold. It is white, comes "
            "from cows and is poured on cereal. What is it?",
        ),
        (
            "Which planet is closest to the sun?\nOptions:\n(A) Venus\n(B) Mercury\n(C) Mars",
            "(B) Mercury",
            "sun",
            "Mercury is the planet closest to one body of our solar system. Which body is it?",
        ),
    ),
    "yes_no": (
        (
            "Can a goldfish live in the Sahara without help?",
            "no",
            "Sahara",
            "A goldfish cannot live without help in a large, hot North African desert with "
            "almost no water. Which desert is it?",
        ),
        (
            "Is a tomato a fruit to a botanist?",
            "yes",
            "tomato",
            "To a botanist, a red food that grows from a flower, holds seeds and is often "
            "used in sauces is a fruit. Which food is it?",
        ),
    ),
    "nli": (
        (
            "Premise: A man is playing a guitar on a stage.\nHypothesis: A man is performing "
            "music.\nWhat is the relation: entailment, neutral or contradiction?",
            "entailment",
            "guitar",
            "A premise about a man on a stage entails the hypothesis \"A man is performing "
            "music.\" Which instrument might the man be playing in the premise?",
        ),
        (
            "Premise: Two children are asleep in a tent.\nHypothesis: The children are playing "
            "football.\nWhat is the relation: entailment, neutral or contradiction?",
            "contradiction",
            "asleep",
            "A premise about two children in a tent contradicts the hypothesis \"The children "
            "are playing football.\" What are the children doing in the premise?",
        ),
    ),
    "date": (
        (
            "Today is 03/15/2021. What was the date 10 days ago in MM/DD/YYYY?",
            "03/05/2021",
            "03/15/2021",
            "Ten days ago it was 03/05/2021. What is the date today in MM/DD/YYYY?",
        ),
        (
            "Jane's birthday was yesterday, 07/01/2019. What is the date tomorrow in "
            "MM/DD/YYYY?",
            "07/03/2019",
            "07/01/2019",
            "Tomorrow is 07/03/2019 and Jane's birthday was yesterday. On what date was her "
            "birthday, in MM/DD/YYYY?",
        ),
    ),
    "table": (
        (
            "Prices:\nitem | price\npen | $2\nnotebook | $5\nHow much do 2 pens and 1 notebook "
            "cost?",
            "9",
            "2",
            "Prices:\nitem | price\npen | unknown\nnotebook | $5\n2 pens and 1 notebook cost $9. "
            "How much does one pen cost?",
        ),
        (
            "Books read:\nname | books\nAli | 4\nBea | 7\nHow many more books did Bea read "
            "than Ali?",
            "3",
            "7",
            "Books read:\nname | books\nAli | 4\nBea | unknown\nBea read 3 more books than Ali. "
            "How many books did Bea read?",
        ),
    ),
}

BACKWARD_REASONING_FORMAT: dict[str, str] = {
    "number": 'End with "The answer is N." where N is a number.',
    "text": 'End with "The answer is X." where X is your short answer.',
}

# backward: hybrid: the rule has chosen the piece to hide; the teacher only words the question
HYBRID_INSTRUCTION = (
    "You turn a maths word problem around. The number to hide is chosen for you, and a plain "
    "draft of the backward problem writes it as x. Rewrite the draft as a natural word problem: "
    "keep every other number and fact, give the original final answer as a known fact, do not "
    "write the hidden number anywhere, and end by asking for the hidden quantity in words. "
    'Reply with one line: "Backward question: " and the new problem.'
)
HYBRID_WORD_INSTRUCTION = (
    "You turn a question around. The word to hide is chosen for you, and a plain draft of the "
    "backward question writes it as ___. Rewrite the draft as one natural question: keep the "
    "other facts, give the original answer as a known fact, do not write the hidden word "
    "anywhere, and end by asking for the thing the hidden word names. "
    'Reply with one line: "Backward question: " and the new question.'
)

CONSISTENCY_INSTRUCTION = (
    "Below are a question with its correct answer, a backward question that takes that answer "
    "as given, and a reasoning that answers the backward question. Decide whether the backward "
    "question is a true inverse of the question and the backward reasoning, starting from the "
    "answer, recovers what the question stated. Explain in one or two sentences, then write "
    "True or False alone on the last line."
)

REPHRASE_INSTRUCTION = (
    "Rewrite the question below in different words. Keep every number, name and fact, so that "
    "its answer stays the same. Reply with the rewritten question only."
)


def family_of(problem: Problem, dataset_family: str) -> str:
    """The prompt family of ``problem``; a mixed dataset decides per answer type."""
    if dataset_family in FAMILIES:
        return dataset_family
    return FAMILY_OF_ANSWER_TYPE[problem.answer_type]


def shown_answer(problem: Problem) -> str:
    """The gold answer as the teacher reads it: an option letter comes with its text."""
    if problem.answer_type != "choice":
        return problem.answer
    return f"({problem.answer}) {problem.answer_option}"


def backward_answer_kind(family: str) -> str:
    """Backward answers of maths and tables are numbers; the others are short texts."""
    return "number" if family in ("math", "table") else "text"


def forward_messages(problem: Problem) -> tuple[Message, ...]:
    return student_messages(question_text(problem), problem.answer_type)


def backward_question_messages(problem: Problem, family: str) -> tuple[Message, ...]:
    turns = [Message("system", BACKWARD_INSTRUCTIONS[family])]
    for question, answer, hidden, backward in BACKWARD_EXAMPLES[family]:
        reply = backward_reply(hidden, backward)
        turns += [Message("user", _qa(question, answer)), Message("assistant", reply)]
    turns.append(Message("user", _qa(question_text(problem), shown_answer(problem))))
    return tuple(turns)


def hybrid_question_messages(problem: Problem, hidden: str, draft: str) -> tuple[Message, ...]:
    """The hybrid mode's request: the problem, its answer, the piece the rule hid, the draft."""
    instruction, piece = ((HYBRID_WORD_INSTRUCTION, "word") if problem.answer_type == "choice"
                          else (HYBRID_INSTRUCTION, "number"))
    body = (f"{instruction}\n\n{_qa(question_text(problem), shown_answer(problem))}\n"
            f"Hidden {piece}: {hidden}\nDraft: {draft}")
    return (Message("user", body),)


def backward_reasoning_messages(backward_question: str, family: str) -> tuple[Message, ...]:
    fmt = BACKWARD_REASONING_FORMAT[backward_answer_kind(family)]
    return (Message("user", f"{backward_question}\n\nThink step by step. {fmt}"),)


def consistency_messages(
    problem: Problem, backward_question: str, backward_reasoning: str
) -> tuple[Message, ...]:
    body = (
        f"{CONSISTENCY_INSTRUCTION}\n\nQuestion: {question_text(problem)}\n"
        f"Answer: {shown_answer(problem)}\n\nBackward question: {backward_question}\n"
        f"Backward reasoning: {backward_reasoning}"
    )
    return (Message("user", body),)


def rephrase_messages(problem: Problem) -> tuple[Message, ...]:
    return (Message("user", f"{REPHRASE_INSTRUCTION}\n\nQuestion: {problem.question}"),)


_VERDICT = re.compile(r"\b(true|false)\b", re.IGNORECASE)


def read_verdict(text: str) -> bool | None:
    """The last standalone True/False of a consistency answer; None when it states neither."""
    found = _VERDICT.findall(text)
    return found[-1].lower() == "true" if found else None


_LABEL = re.compile(r"^\s*(?:\*\*)?(?:backward question|question)\s*:\s*(?:\*\*)?\s*", re.I)
_HIDDEN = re.compile(r"^[\s*_]*hidden[\s*_]*:[\s*_]*(?P<hidden>.*?)[\s*_]*$", re.I | re.M)


def clean_question(text: str) -> str:
    """A generated question without a leading "Backward question:" label or quotes."""
    return _LABEL.sub("", text.strip()).strip().strip('"').strip()


@dataclass(frozen=True)
class BackwardReply:
    """A backward question and the piece of the original question it asks back for."""

    hidden: str
    question: str


def backward_reply(hidden: str, question: str) -> str:
    """The two-line reply the backward-question prompt asks for."""
    return f"Hidden: {hidden}\nBackward question: {question}"


def read_backward_reply(text: str) -> BackwardReply | None:
    """The hidden piece and the question of a reply; None when either is missing.

    The question ends at the first blank line: what a teacher adds after it (an explanation,
    a note) is not part of it.
    """
    match = _HIDDEN.search(text)
    if match is None:
        return None
    hidden = match["hidden"].strip().strip('"').rstrip(".").strip()
    rest = clean_question(text[: match.start()] + text[match.end() :])
    question = clean_question(re.split(r"\n\s*\n", rest, maxsplit=1)[0])
    return BackwardReply(hidden, question) if hidden and question else None


def clean_backward_reply(text: str) -> str:
    """A reply in the canonical two lines when it can be read, else as it came."""
    reply = read_backward_reply(text)
    return text.strip() if reply is None else backward_reply(reply.hidden, reply.question)


def fingerprint() -> str:
    """Hash of every prompt text: editing a prompt makes the augmentation stage run again."""
    blob = json.dumps(
        [BACKWARD_INSTRUCTIONS, BACKWARD_EXAMPLES, BACKWARD_REASONING_FORMAT,
         CONSISTENCY_INSTRUCTION, REPHRASE_INSTRUCTION, HYBRID_INSTRUCTION, HYBRID_WORD_INSTRUCTION,
         [forward_instruction(kind) for kind in ANSWER_FORMAT]],  # type: ignore[arg-type]
        sort_keys=True, default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _qa(question: str, answer: str) -> str:
    return f"Question: {question}\nAnswer: {answer}"
