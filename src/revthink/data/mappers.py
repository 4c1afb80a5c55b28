"""Source records -> Problem, one small function per record layout (the spec's ``format``).

Each mapper accepts both the Hub's schema and the layout of the files in the shared data folder
where they differ (CommonsenseQA nests its question locally; ARC's test file lists options inside
a ``query``), so one format name serves both sources. Mappers raise DataError naming the field;
the loader adds the file and line.

Answers are normalised here, once: ``choice`` -> option letter, ``yes_no`` -> "yes"/"no",
``label`` -> lower-case label, ``number`` -> digits without thousands separators.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from revthink.answers.numbers import numbers_in, parse_number
from revthink.errors import DataError
from revthink.records import AnswerType, Problem

NLI_LABELS: tuple[str, ...] = ("entailment", "neutral", "contradiction")  # Hub label ids 0, 1, 2
_YES_NO = {"yes": "yes", "true": "yes", "no": "no", "false": "no"}
_CALCULATOR_MARKS = re.compile(r"<<[^>]*>>")


@dataclass(frozen=True)
class Context:
    """What a mapper needs from the spec: the dataset name, its answer type, a field mapping."""

    dataset: str
    answer_type: str
    fields: dict[str, Any] = field(default_factory=dict)


Mapper = Callable[[dict[str, Any], str, Context], Problem]


# ------------------------------------------------------------------------------------------
# Field access and normalisation
# ------------------------------------------------------------------------------------------


def get(data: dict[str, Any], key: str) -> Any:
    """``data[key]`` where ``key`` may be dotted (``question.stem``); missing/null -> DataError."""
    value: Any = data
    for part in key.split("."):
        if not isinstance(value, dict) or value.get(part) is None:
            raise DataError(f"missing field '{key}'")
        value = value[part]
    return value


def optional_text(data: dict[str, Any], key: str) -> str:
    """A field that may be missing or null (then ""), else as ``text`` reads it."""
    try:
        get(data, key)
    except DataError:
        return ""
    return text(data, key)


def text(data: dict[str, Any], key: str) -> str:
    """A field as stripped text; numbers are accepted (answers are often stored as numbers)."""
    value = get(data, key)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise DataError(f"field '{key}': expected text, got {type(value).__name__}")
    return str(value).strip()


def is_one_number(answer: str) -> bool:
    """A gold answer scoring can trust: one number (a unit or currency sign may stand beside
    it), not ``4 or 5`` (read as 4) nor ``1e3`` (read as 1)."""
    if _EXPONENT.search(answer):
        return False
    return parse_number(answer) is not None and len(numbers_in(answer)) <= 1


_EXPONENT = re.compile(r"\d[eE][-+]?\d")


def letters(n: int) -> tuple[str, ...]:
    return tuple(chr(ord("A") + i) for i in range(n))


def yes_no(value: Any, key: str) -> str:
    """True/False, "Yes."/"No", "true"/"false" -> "yes"/"no"."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    answer = _YES_NO.get(str(value).strip().rstrip(".").lower())
    if answer is None:
        raise DataError(f"field '{key}': expected yes/no or true/false, got {value!r}")
    return answer


def letter_of_label(labels: list[str], key: str, value: str) -> str:
    """The letter at the position of ``value`` among ``labels`` (ARC uses "1".."4" sometimes)."""
    if value not in labels:
        raise DataError(f"field '{key}': {value!r} is not among the option labels {labels}")
    return letters(len(labels))[labels.index(value)]


def letter_of_answer(options: tuple[str, ...], key: str, value: Any) -> str:
    """An answer given as a letter or as an option's own text -> its letter."""
    if not options:
        raise DataError(f"field '{key}': a choice answer needs options, and this record has none")
    answer = str(value).strip()
    if answer.upper() in letters(len(options)) and len(answer) == 1:
        return answer.upper()
    if answer in options:
        return letters(len(options))[options.index(answer)]
    raise DataError(
        f"field '{key}': {answer!r} is neither an option letter "
        f"({', '.join(letters(len(options)))}) nor the text of an option {list(options)}"
    )


def labelled_choices(value: Any, key: str) -> tuple[list[str], tuple[str, ...]]:
    """Labels and texts from ``[{label, text}, ...]`` or the Hub's ``{label: [..], text: [..]}``."""
    if isinstance(value, dict) and isinstance(value.get("label"), list):
        labels, texts = value["label"], value.get("text")
    elif isinstance(value, list) and all(isinstance(c, dict) for c in value):
        labels = [c.get("label") for c in value]
        texts = [c.get("text") for c in value]
    else:
        raise DataError(f"field '{key}': expected a list of {{label, text}} objects")
    if not isinstance(texts, list) or len(texts) != len(labels) or None in labels + texts:
        raise DataError(f"field '{key}': every option needs a label and a text")
    return [str(label) for label in labels], tuple(str(t).strip() for t in texts)


def own_id(data: dict[str, Any], key: str, fallback: str) -> str:
    value = data.get(key)
    return fallback if value in (None, "") else str(value)


def _problem(
    ctx: Context, row_id: str, question: str, answer: str, answer_type: AnswerType,
    options: tuple[str, ...] = (), reference: str = "", concept: str = "",
) -> Problem:
    return Problem(
        id=row_id, dataset=ctx.dataset, question=question, answer=answer,
        answer_type=answer_type, options=options, reference=reference, concept=concept,
    )


# ------------------------------------------------------------------------------------------
# Mappers
# ------------------------------------------------------------------------------------------


def gsm8k(data: dict[str, Any], row_id: str, ctx: Context) -> Problem:
    """``{question, answer}``; the answer is a solution ending ``#### N`` (calculator marks go)."""
    solution = text(data, "answer")
    body, sep, final = solution.rpartition("####")
    if not sep or not final.strip():
        raise DataError("field 'answer': expected a solution ending with '#### N'")
    reference = _CALCULATOR_MARKS.sub("", body).strip()
    return _problem(ctx, row_id, text(data, "question"), final.strip().replace(",", ""),
                    "number", reference=reference)


def last_boxed(solution: str) -> str | None:
    """Content of the last ``\\boxed{...}`` (braces balanced), as MATH solutions mark answers."""
    start = solution.rfind("\\boxed")
    opening = solution.find("{", start) if start >= 0 else -1
    if opening < 0:
        return None
    depth = 0
    for i in range(opening, len(solution)):
        depth += {"{": 1, "}": -1}.get(solution[i], 0)
        if depth == 0:
            return solution[opening + 1 : i].strip() or None
    return None


def math(data: dict[str, Any], row_id: str, ctx: Context) -> Problem:
    """``{problem, solution, answer?}``: the solution's last ``\\boxed{}`` is the gold answer.

    The boxed answer is preferred over an ``answer`` field because some redistributed copies
    mangle LaTeX in that field (``\\infty`` -> ``\\iny``, list commas dropped) while the solution
    text is intact; ``answer`` is the fallback for rows whose solution has no box.
    """
    solution = text(data, "solution")
    answer = last_boxed(solution)
    if answer is None and data.get("answer") not in (None, ""):
        answer = text(data, "answer")
    if answer is None:
        raise DataError("missing field 'answer', and field 'solution' has no \\boxed{} answer")
    return _problem(ctx, own_id(data, "unique_id", row_id), text(data, "problem"), answer,
                    "math", reference=solution)


def tabmwp(data: dict[str, Any], row_id: str, ctx: Context) -> Problem:
    """TabMWP: the table goes into the question; ``multi_choice`` rows become choice problems."""
    title = data.get("table_title")
    question = text(data, "question")
    if data.get("unit"):
        question += f" (Unit: {data['unit']})"
    full = f"{'Table: ' + title if title else 'Table:'}\n{text(data, 'table')}\n\n{question}"
    answer = text(data, "answer")
    reference = str(data.get("solution") or "")
    kind = text(data, "ques_type")
    if kind == "multi_choice":
        choices = get(data, "choices")
        if not isinstance(choices, list):
            raise DataError(f"field 'choices': expected a list, got {type(choices).__name__}")
        options = tuple(str(c).strip() for c in choices)
        return _problem(ctx, row_id, full, letter_of_answer(options, "answer", answer), "choice",
                        options, reference)
    if kind != "free_text":
        raise DataError(f"field 'ques_type': expected free_text or multi_choice, got {kind!r}")
    return _problem(ctx, row_id, full, answer.replace(",", ""), "number", reference=reference)


def bigbench(data: dict[str, Any], row_id: str, ctx: Context) -> Problem:
    """BIG-bench multiple choice: a task.json example or a row of the Hub's BIG-bench copy.

    The option scored 1 is the answer; for yes/no tasks (StrategyQA) the options are Yes/No and
    the rest of the target ("Yes. Frost is ...") is kept as the reference rationale.
    """
    if "target_scores" in data:
        scores_map = get(data, "target_scores")
        if not isinstance(scores_map, dict):
            raise DataError("field 'target_scores': expected a mapping option -> score")
        question, options, scores = text(data, "input"), list(scores_map), list(scores_map.values())
        target, key = data.get("target"), "target_scores"
    else:
        question, key = text(data, "inputs"), "multiple_choice_scores"
        options, scores = get(data, "multiple_choice_targets"), get(data, key)
        target = data.get("targets")
    best = [i for i, score in enumerate(scores) if score == 1]
    if len(best) != 1 or len(options) != len(scores):
        raise DataError(f"field '{key}': expected exactly one option scored 1, found {len(best)}")
    target = target[0] if isinstance(target, list) and target else target
    correct = str(options[best[0]])
    if ctx.answer_type == "yes_no":
        return _problem(ctx, row_id, question, yes_no(correct, key), "yes_no",
                        reference=_rationale(target, correct))
    return _problem(ctx, row_id, question, letters(len(options))[best[0]], "choice",
                    tuple(str(o).strip() for o in options), str(target or "").strip())


def _rationale(target: Any, answer: str) -> str:
    """"Yes. Frost is common in December." -> "Frost is common in December."."""
    rest = str(target or "").strip()
    if rest.lower().startswith(answer.lower()):
        rest = rest[len(answer) :].lstrip(" .")
    return rest


def csqa(data: dict[str, Any], row_id: str, ctx: Context) -> Problem:
    """CommonsenseQA: ``question: {stem, choices}`` in the original files, flat on the Hub; the
    optional ``question_concept`` beside the stem is kept as the problem's concept."""
    nested = isinstance(data.get("question"), dict)
    prefix = "question." if nested else ""
    stem = text(data, "question.stem" if nested else "question")
    labels, options = labelled_choices(get(data, f"{prefix}choices"), "choices")
    answer = letter_of_label(labels, "answerKey", text(data, "answerKey"))
    concept = optional_text(data, f"{prefix}question_concept")
    return _problem(ctx, own_id(data, "id", row_id), stem, answer, "choice", options,
                    concept=concept)


def ai2(data: dict[str, Any], row_id: str, ctx: Context) -> Problem:
    """ARC and OpenBookQA: the Hub schema, or ``{query, choices, gold}`` (options in the query)."""
    if "query" in data:
        return _ai2_query(data, row_id, ctx)
    stem = text(data, "question_stem" if "question_stem" in data else "question")
    labels, options = labelled_choices(get(data, "choices"), "choices")
    answer = letter_of_label(labels, "answerKey", text(data, "answerKey"))
    return _problem(ctx, own_id(data, "id", row_id), stem, answer, "choice", options)


def _ai2_query(data: dict[str, Any], row_id: str, ctx: Context) -> Problem:
    labels = get(data, "choices")
    gold = get(data, "gold")
    if not isinstance(labels, list) or not labels:
        raise DataError("field 'choices': expected the list of option labels")
    if isinstance(gold, bool) or not isinstance(gold, int) or not 0 <= gold < len(labels):
        raise DataError(
            f"field 'gold': expected an index 0..{len(labels) - 1} into 'choices', got {gold!r}"
        )
    stem, options = split_query(text(data, "query"), [str(label) for label in labels])
    return _problem(ctx, own_id(data, "id", row_id), stem, letters(len(options))[gold], "choice",
                    options)


def split_query(query: str, labels: list[str]) -> tuple[str, tuple[str, ...]]:
    """"Question: Q\\n A. x\\n B. y\\nAnswer:" -> ("Q", ("x", "y"))."""
    body = query.strip().removeprefix("Question:").removesuffix("Answer:").strip()
    body = "\n" + body  # so that every option line, the first included, starts with "\n"
    starts = []
    for label in labels:
        start = body.find(f"\n {label}. ", starts[-1] + 1 if starts else 0)
        if start < 0:
            raise DataError(f"field 'query': no option line ' {label}. ...' after the question")
        starts.append(start)
    ends = [*starts[1:], len(body)]
    options = tuple(
        body[start + len(label) + 4 : end].strip()
        for label, start, end in zip(labels, starts, ends, strict=True)
    )
    return body[: starts[0]].strip(), options


def boolq(data: dict[str, Any], row_id: str, ctx: Context) -> Problem:
    """BoolQ: the passage goes into the question; answers are booleans (or "True"/"False")."""
    question = text(data, "question")
    question = question[:1].upper() + question[1:] + ("" if question.endswith("?") else "?")
    full = f"Passage: {text(data, 'passage')}\nQuestion: {question}"
    return _problem(ctx, own_id(data, "id", row_id), full, yes_no(get(data, "answer"), "answer"),
                    "yes_no")


def nli(data: dict[str, Any], row_id: str, ctx: Context) -> Problem:
    """ANLI / e-SNLI: premise and hypothesis in the question; label 0/1/2 -> NLI_LABELS."""
    label = get(data, "label")
    if isinstance(label, int) and not isinstance(label, bool) and 0 <= label < len(NLI_LABELS):
        answer = NLI_LABELS[label]
    elif isinstance(label, str) and label.strip().lower() in NLI_LABELS:
        answer = label.strip().lower()
    else:
        raise DataError(
            f"field 'label': expected 0, 1, 2 or a label ({', '.join(NLI_LABELS)}), got {label!r}"
        )
    question = (
        f"Premise: {text(data, 'premise')}\nHypothesis: {text(data, 'hypothesis')}\n"
        "Does the premise entail the hypothesis, contradict it, or neither? "
        f"Answer with one label: {', '.join(NLI_LABELS)}."
    )
    reference = str(data.get("reason") or data.get("explanation_1") or "").strip()
    return _problem(ctx, own_id(data, "uid", row_id), question, answer, "label",
                    reference=reference)


def fields(data: dict[str, Any], row_id: str, ctx: Context) -> Problem:
    """A user's records, read through the spec's field mapping (dotted keys reach nested ones)."""
    mapping = ctx.fields
    options = _generic_options(data, mapping.get("options"))
    raw_answer = get(data, mapping["answer"])
    answer_type: AnswerType = ctx.answer_type  # type: ignore[assignment]  # checked by the spec
    if answer_type == "choice":
        answer = letter_of_answer(options, mapping["answer"], raw_answer)
    elif answer_type == "yes_no":
        answer = yes_no(raw_answer, mapping["answer"])
    else:
        answer = text(data, mapping["answer"])
        answer = answer.lower() if answer_type == "label" else answer
    if answer_type == "number" and not is_one_number(answer):
        field_name = mapping["answer"]
        raise DataError(f"field '{field_name}': expected one number written plainly (dataset "
                        f"answer_type 'number'; 1000, not 1e3), got {answer!r}")
    problem_id = text(data, mapping["id"]) if "id" in mapping else row_id
    if not problem_id:
        raise DataError(f"field '{mapping['id']}': empty; every problem needs an id")
    reference = text(data, mapping["reference"]) if "reference" in mapping else ""
    return _problem(ctx, problem_id, text(data, mapping["question"]), answer, answer_type,
                    options, reference)


def _generic_options(data: dict[str, Any], key: str | tuple[str, ...] | None) -> tuple[str, ...]:
    """Options from one field holding a list, or from several fields holding one option each."""
    if key is None:
        return ()
    if isinstance(key, str):
        value = get(data, key)
        if not isinstance(value, list):
            kind = type(value).__name__
            raise DataError(f"field '{key}': expected a list of options, got {kind}")
        return tuple(str(v).strip() for v in value)
    return tuple(text(data, k) for k in key)


MAPPERS: dict[str, Mapper] = {
    "gsm8k": gsm8k, "math": math, "tabmwp": tabmwp, "bigbench": bigbench, "csqa": csqa,
    "ai2": ai2, "boolq": boolq, "nli": nli, "fields": fields,
}
