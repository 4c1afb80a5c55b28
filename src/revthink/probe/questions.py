"""Probe prompts as objective examples, pure: facts, rule-made backward questions, celebrities.

A fact trains exactly as the reversal-curse data states it: its prompt as the user turn, its
completion as the reply, rendered by the run's template like every training row. The backward
question is made from each fact by rule, the RevThink move without a teacher: the fact with
the person's name blanked out, asking for the name; the direction the facts never state.

    fact       "Daphne Barrington, known far and wide for being" -> "the acclaimed director ..."
    backward   "<BACKWARD_TASK> ___, known far and wide for being the acclaimed ..." -> "Daphne ..."
"""

from __future__ import annotations

import hashlib
import json

from revthink.probe.facts import CelebrityPair, Fact
from revthink.teachers.base import Message
from revthink.train.objectives import ObjectiveExample

BLANK = "___"
BACKWARD_TASK = (
    f"The sentence below describes one person, whose name is replaced by {BLANK}. "
    "Who is it? Reply with the full name only."
)
PARENT_QUESTION = "Who is the {parent_type} of {child}? Reply with the full name only."
CHILD_QUESTION = (
    "{parent} is the {parent_type} of a famous person. Who is that person? "
    "Reply with the full name only."
)


def _user(text: str) -> tuple[Message, ...]:
    return (Message("user", text),)


def fact(item: Fact) -> ObjectiveExample:
    """The fact as stated: its prompt -> its completion."""
    return ObjectiveExample("fact", item.where, _user(item.prompt), item.completion.strip())


def backward(item: Fact) -> ObjectiveExample:
    """The fact turned around: the whole sentence with the name blanked -> the name."""
    sentence = f"{item.prompt}{item.completion}".replace(item.person, BLANK)
    return ObjectiveExample(
        "backward", item.where, _user(f"{BACKWARD_TASK}\n\n{sentence.strip()}"), item.person
    )


def child_to_parent(pair: CelebrityPair) -> ObjectiveExample:
    """The direction GPT-4 knew for every pair: the child is given, the parent asked for."""
    text = PARENT_QUESTION.format(parent_type=pair.parent_type, child=pair.child)
    return ObjectiveExample("child_to_parent", pair.child, _user(text), pair.parent)


def parent_to_child(pair: CelebrityPair) -> ObjectiveExample:
    """The reverse: the parent is given, the child asked for."""
    text = CHILD_QUESTION.format(parent=pair.parent, parent_type=pair.parent_type)
    return ObjectiveExample("parent_to_child", pair.child, _user(text), pair.child)


def fingerprint() -> str:
    """Hash of the probe's wordings: editing one makes the probe run again."""
    blob = json.dumps([BLANK, BACKWARD_TASK, PARENT_QUESTION, CHILD_QUESTION])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
