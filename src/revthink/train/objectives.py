"""Training targets: an AugmentedExample becomes (prompt messages, completion) pairs.

Pure functions, no tokenizer: rendering and label masks live in ``revthink.train.collator``.
The forward prompt is ``revthink.prompting.forward_messages`` of the problem, the very prompt
evaluation sends, so the student is trained on exactly what it is tested with. Every other
objective opens with a task line of its own, before the question: a student that met Q -> Q_b
under a prompt close to the forward one learns to answer test questions with questions.

    forward             Q   -> R_f     the forward (evaluation) prompt -> teacher's reasoning
    backward_question   Q   -> Q_b     "Task: turn the question around" -> teacher's Q_b
    backward_reasoning  Q_b -> R_b     "Task: answer a backward question" -> teacher's R_b
    answer              Q   -> "The answer is X."  the forward prompt (sft_answer), or
                                       "Task: final answer only" (step_by_step's label)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from revthink.augment.prompts import backward_answer_kind, family_of
from revthink.errors import RecordError
from revthink.prompting import ANSWER_FORMAT, forward_messages, question_text
from revthink.records import AugmentedExample, Problem
from revthink.teachers.base import Message

OBJECTIVES: tuple[str, ...] = ("forward", "backward_question", "backward_reasoning", "answer")

BACKWARD_QUESTION_TASK = (
    "Task: turn a question around. Take the answer of the question below as a known fact, "
    "state it, and ask instead for one quantity or fact that the question gives. Reply with "
    "the new question only."
)
BACKWARD_REASONING_TASK = (
    "Task: answer a backward question, one that starts from the answer of an earlier question "
    "and asks back for one of its facts. Think step by step."
)
# Backward answers are numbers for maths and tables, short texts otherwise.
BACKWARD_ANSWER_FORMAT: dict[str, str] = {
    "number": ANSWER_FORMAT["number"],
    "text": 'End with one last sentence: the words "The answer is", then your short answer, '
    "then a full stop.",
}
# Distilling step-by-step trains the label under its own task prefix, apart from the rationale.
LABEL_TASK = "Task: give the final answer only, without any reasoning."

# The final sentence a forward reasoning ends with, per answer type (see prompting.ANSWER_FORMAT).
_ANSWER_SENTENCE: dict[str, str] = {
    "number": "The answer is {}.",
    "math": "The answer is $\\boxed{{{}}}$.",
    "choice": "The answer is ({}).",
    "yes_no": "The answer is {}.",
    "label": "The answer is {}.",
}


@dataclass(frozen=True)
class ObjectiveExample:
    """One supervised pair: the prompt as chat messages and the text the student must write."""

    objective: str
    problem_id: str
    messages: tuple[Message, ...]
    completion: str


def answer_sentence(problem: Problem) -> str:
    """The answer-only target, e.g. ``The answer is 42.`` or ``The answer is (B).``."""
    return _ANSWER_SENTENCE[problem.answer_type].format(problem.answer)


def fingerprint() -> str:
    """Hash of the training-only prompt texts: editing one makes the training stage run again."""
    blob = json.dumps(
        [BACKWARD_QUESTION_TASK, BACKWARD_REASONING_TASK, BACKWARD_ANSWER_FORMAT, LABEL_TASK,
         _ANSWER_SENTENCE], sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _task_prompt(task: str, heading: str, body: str) -> tuple[Message, ...]:
    return (Message("user", f"{task}\n\n{heading}:\n{body}"),)


def forward(example: AugmentedExample, reasoning: str | None = None) -> ObjectiveExample:
    """Q -> R_f; ``reasoning`` replaces R_f (answer augmentation's extra reasonings)."""
    problem = example.problem
    return ObjectiveExample(
        "forward", problem.id, forward_messages(problem),
        reasoning if reasoning is not None else example.forward_reasoning,
    )


def answer(example: AugmentedExample) -> ObjectiveExample:
    """Q -> "The answer is X." under the forward prompt: sft_answer's only target."""
    problem = example.problem
    return ObjectiveExample(
        "answer", problem.id, forward_messages(problem), answer_sentence(problem)
    )


def label(example: AugmentedExample) -> ObjectiveExample:
    """Q -> "The answer is X." under the label task prefix: step_by_step's second target."""
    problem = example.problem
    task = f"{LABEL_TASK} {ANSWER_FORMAT[problem.answer_type]}"
    return ObjectiveExample(
        "answer", problem.id, _task_prompt(task, "Question", question_text(problem)),
        answer_sentence(problem),
    )


def backward_question(example: AugmentedExample) -> ObjectiveExample:
    """Q -> Q_b: the student learns to turn a question around."""
    messages = _task_prompt(BACKWARD_QUESTION_TASK, "Question", question_text(example.problem))
    return ObjectiveExample("backward_question", example.id, messages, example.backward_question)


def backward_reasoning(example: AugmentedExample) -> ObjectiveExample:
    """Q_b -> R_b under the backward-reasoning task line.

    The final-answer format of a backward question depends on the family (a number for maths
    and tables, a short text otherwise), which the answer type decides on its own.
    """
    kind = backward_answer_kind(family_of(example.problem, dataset_family=""))
    task = f"{BACKWARD_REASONING_TASK} {BACKWARD_ANSWER_FORMAT[kind]}"
    messages = _task_prompt(task, "Backward question", example.backward_question)
    return ObjectiveExample("backward_reasoning", example.id, messages, example.backward_reasoning)


def backward_as_forward(example: AugmentedExample) -> ObjectiveExample:
    """Q_b -> R_b as one more forward example (the question-augmentation baseline)."""
    return dataclasses.replace(backward_reasoning(example), objective="forward")


def rephrased_forward(example: AugmentedExample) -> ObjectiveExample:
    """Teacher-rephrased Q -> R_f (the rephrasing baseline); needs ``rephrased_question``."""
    if not example.rephrased_question:
        raise RecordError(
            f"record {example.id!r}: field 'rephrased_question' is empty; method 'rephrase' needs "
            "records augmented with `augment.rephrase: true`"
        )
    problem = dataclasses.replace(example.problem, question=example.rephrased_question)
    return ObjectiveExample(
        "forward", problem.id, forward_messages(problem), example.forward_reasoning
    )
