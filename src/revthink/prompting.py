"""Student-side prompt rendering, shared by training and evaluation.

Training and evaluation build the student's prompt through these functions only, so what the
student sees at test time is exactly what it was trained on; ``template_fingerprint`` goes into
both stages' manifests so that drift would show.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Literal

from revthink.records import AnswerType, Problem
from revthink.teachers.base import Message

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

Template = Literal["chat", "paper"]

# How the final answer must be stated, per answer type. The extractors in revthink.answers look
# for "The answer is ..." first, so teacher and student are both asked for that sentence. The
# format is described in words, never shown as a filled-in sentence: an under-trained student
# copies a template such as "The answer is (X)." literally, and "(X)" is not an answer.
_LAST_SENTENCE = 'End with one last sentence: the words "The answer is", then '
ANSWER_FORMAT: dict[str, str] = {
    "number": _LAST_SENTENCE + "the final number alone, then a full stop.",
    "math": _LAST_SENTENCE + "the final result inside $\\boxed{}$, then a full stop.",
    "choice": _LAST_SENTENCE + "the letter of the correct option in parentheses, then a full stop.",
    "yes_no": _LAST_SENTENCE + "one word, yes or no, then a full stop.",
    "label": _LAST_SENTENCE + "the label alone, then a full stop.",
}


def question_text(problem: Problem) -> str:
    """The question as the model reads it: options, when there are any, listed with letters."""
    if not problem.options:
        return problem.question
    lines = [f"({chr(ord('A') + i)}) {text}" for i, text in enumerate(problem.options)]
    return problem.question + "\nOptions:\n" + "\n".join(lines)


def forward_instruction(answer_type: AnswerType) -> str:
    return "Answer the question. Think step by step. " + ANSWER_FORMAT[answer_type]


def student_messages(question: str, answer_type: AnswerType) -> tuple[Message, ...]:
    """The forward prompt: a question to answer by reasoning step by step."""
    return (Message("user", f"{question}\n\n{forward_instruction(answer_type)}"),)


def forward_messages(problem: Problem) -> tuple[Message, ...]:
    """The forward prompt of ``problem``: what evaluation sends and skd-style training uses."""
    return student_messages(question_text(problem), problem.answer_type)


def forward_prompt(
    tokenizer: PreTrainedTokenizerBase, problem: Problem, template: Template = "chat"
) -> str:
    """The rendered forward prompt of ``problem``: the one text training and evaluation share."""
    return render_prompt(tokenizer, forward_messages(problem), template)


def render_prompt(
    tokenizer: PreTrainedTokenizerBase, messages: tuple[Message, ...], template: Template = "chat"
) -> str:
    """The prompt text up to where the model's answer starts."""
    if template == "paper":
        body = "\n\n".join(m.content for m in messages)
        return f"### Instruction:\n{body}\n\n### Response:\n"
    chat = [{"role": m.role, "content": m.content} for m in messages]
    return tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)


def encode_prompt(tokenizer: PreTrainedTokenizerBase, prompt: str, template: Template) -> list[int]:
    """Token ids of a rendered prompt, identical in training and evaluation.

    A chat-rendered prompt already holds the template's special tokens, so none are added; the
    paper format gets the tokenizer's own (a BOS where the model uses one).
    """
    return tokenizer(prompt, add_special_tokens=template == "paper").input_ids


def completion_suffix(tokenizer: PreTrainedTokenizerBase, template: Template = "chat") -> str:
    """What ends an answer in training targets: the end-of-turn marker of the template."""
    if template == "paper":
        return tokenizer.eos_token or ""
    probe = tokenizer.apply_chat_template(
        [{"role": "user", "content": "x"}, {"role": "assistant", "content": "\x00"}],
        tokenize=False,
    )
    tail = probe.split("\x00", 1)[1]
    return tail.rstrip("\n") if tail.strip() else (tokenizer.eos_token or "")


def template_fingerprint(tokenizer: PreTrainedTokenizerBase, template: Template = "chat") -> str:
    """Hash of probe prompts, one per answer type: equal when train and eval render alike.

    Template, instruction and answer-format wording all go into it, so editing any of them
    makes both stages run again.
    """
    probe = "".join(
        render_prompt(tokenizer, student_messages("Q?", kind), template)  # type: ignore[arg-type]
        for kind in ANSWER_FORMAT
    )
    probe += completion_suffix(tokenizer, template)
    return hashlib.sha256(probe.encode()).hexdigest()[:16]
