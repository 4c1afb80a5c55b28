"""Objective examples, the methods registry and label masks (real SmolLM2 tokenizer)."""

from __future__ import annotations

import logging

import pytest

from revthink import method_names
from revthink.config import ModelConfig, TrainConfig
from revthink.errors import ConfigError, RecordError
from revthink.models import load_tokenizer
from revthink.prompting import (
    encode_prompt,
    forward_instruction,
    forward_messages,
    forward_prompt,
    render_prompt,
)
from revthink.records import AugmentedExample, Problem
from revthink.train import methods, objectives
from revthink.train.collator import IGNORE, Encoder, ObjectiveCollator, encode_units

# Every method of the paper's comparison (DESIGN.md "The method"); zero_shot is evaluated only.
PAPER_METHODS = {
    "zero_shot", "sft_answer", "skd", "step_by_step", "question_aug", "answer_aug", "rephrase",
    "revthink", "revthink_no_bq", "revthink_no_br",
}


def record(**changes) -> AugmentedExample:
    question = "Ana has 3 pens and buys 4 more. How many pens?"
    problem = Problem("p1", "synthetic", question, "7", "number")
    fields = dict(
        problem=problem,
        forward_reasoning="3 + 4 = 7. The answer is 7.",
        backward_question="Ana buys 4 pens and then has 7. How many pens did she have first?",
        backward_reasoning="7 - 4 = 3. The answer is 3.",
        extra_forward=("4 + 3 = 7. The answer is 7.",),
        rephrased_question="After buying 4 pens, how many pens does Ana, who had 3, own?",
    )
    return AugmentedExample(**{**fields, **changes})


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(ModelConfig())


def test_forward_prompt_is_the_evaluation_prompt():
    ex = record()
    fwd = objectives.forward(ex)
    assert fwd.messages == forward_messages(ex.problem)
    assert fwd.completion == ex.forward_reasoning
    assert objectives.answer(ex).messages == fwd.messages  # sft_answer is tested on it too
    assert objectives.answer(ex).completion == "The answer is 7."


@pytest.mark.slow
def test_train_and_evaluation_send_the_same_forward_prompt_tokens(tokenizer):
    ex = record()
    encoded = Encoder(tokenizer).encode(objectives.forward(ex))
    evaluation_ids = encode_prompt(tokenizer, forward_prompt(tokenizer, ex.problem), "chat")
    n = len(evaluation_ids)
    assert encoded.input_ids[:n] == evaluation_ids
    assert encoded.labels[:n] == [IGNORE] * n and encoded.labels[n] != IGNORE


def test_backward_objectives():
    ex = record()
    bq = objectives.backward_question(ex)
    assert ex.problem.question in bq.messages[0].content
    assert bq.completion == ex.backward_question
    br = objectives.backward_reasoning(ex)
    assert ex.backward_question in br.messages[0].content
    assert "Think step by step." in br.messages[0].content
    assert br.completion == ex.backward_reasoning


def _around(example: objectives.ObjectiveExample, text: str) -> tuple[str, str]:
    """The prompt text before and after ``text``, the question the prompt is about."""
    (message,) = example.messages
    before, found, after = message.content.partition(text)
    assert found, message.content
    return before, after


def test_every_objective_prompt_differs_from_the_forward_prompt_before_the_question():
    """A student tells the tasks apart from the first token on, not from a closing sentence."""
    ex = record()
    question = ex.problem.question
    forward_head, forward_tail = _around(objectives.forward(ex), question)
    heads = {
        "backward_question": _around(objectives.backward_question(ex), question)[0],
        "backward_reasoning": _around(objectives.backward_reasoning(ex), ex.backward_question)[0],
        "label": _around(objectives.label(ex), question)[0],
    }
    assert forward_head == ""  # the forward prompt is the question, then its instruction
    for name, head in heads.items():
        assert head.startswith("Task: "), name
        assert "Think step by step" not in head or name == "backward_reasoning", name
    assert len(set(heads.values())) == len(heads)
    assert "Answer the question" not in "".join(heads.values())
    assert forward_tail.strip() == forward_instruction("number")


def test_step_by_step_trains_rationale_and_label_under_different_task_prefixes():
    (unit,) = methods.build_units("step_by_step", [record()])
    rationale, label = unit["forward"], unit["answer"]
    assert rationale.messages == forward_messages(record().problem)  # what evaluation sends
    assert label.messages != rationale.messages
    assert label.messages[0].content.startswith(objectives.LABEL_TASK)
    assert label.completion == "The answer is 7."
    (sft,) = methods.build_units("sft_answer", [record()])
    assert sft["answer"].messages == rationale.messages


def test_training_prompts_are_part_of_the_fingerprint(monkeypatch):
    before = objectives.fingerprint()
    monkeypatch.setattr(objectives, "LABEL_TASK", "Task: answer.")
    assert objectives.fingerprint() != before


def test_answer_sentence_per_type():
    choice = Problem("c", "d", "Pick one.", "B", "choice", options=("x", "y"))
    assert objectives.answer_sentence(choice) == "The answer is (B)."
    assert objectives.answer_sentence(
        Problem("m", "d", "Simplify.", "\\frac12", "math")
    ) == "The answer is $\\boxed{\\frac12}$."


def test_registry_covers_the_paper_methods_and_names_each_once():
    # and one of ours: skd at revthink's compute
    assert set(method_names.TRAINED) | method_names.UNTRAINED == PAPER_METHODS | {
        "skd_equal_compute"}
    assert set(methods.METHODS) == set(method_names.TRAINED)  # every named method is built
    assert method_names.trained(("zero_shot", "skd", "revthink")) == ["skd", "revthink"]
    with pytest.raises(ConfigError, match="unknown method 'sdk'"):
        method_names.trained(("sdk",))
    with pytest.raises(ConfigError, match="unknown method 'sdk'"):
        methods.get("sdk")


@pytest.mark.parametrize("name", sorted(methods.METHODS))
def test_every_method_weighs_exactly_its_objectives(name):
    units = methods.build_units(name, [record(), record()])
    keys = {frozenset(unit) for unit in units}
    assert len(keys) == 1, "every unit of a method must hold the same objectives"
    assert set(methods.weights(name, TrainConfig())) == set(next(iter(keys)))
    assert set(next(iter(keys))) <= set(objectives.OBJECTIVES)


def test_method_units():
    ex = record()
    assert len(methods.build_units("answer_aug", [ex])) == 2
    q_aug = methods.build_units("question_aug", [ex])
    assert q_aug[1]["forward"].completion == ex.backward_reasoning
    revthink = methods.build_units("revthink", [ex])
    assert set(revthink[0]) == {"forward", "backward_question", "backward_reasoning"}
    assert methods.weights("step_by_step", TrainConfig(step_by_step_alpha=0.3)) == {
        "forward": 1.0, "answer": 0.3,
    }
    with pytest.raises(RecordError, match="'rephrased_question'"):
        methods.build_units("rephrase", [record(rephrased_question=None)])


@pytest.mark.slow
def test_completion_mask_keeps_only_the_answer_and_its_end_of_turn(tokenizer):
    example = objectives.forward(record())
    enc = Encoder(tokenizer, "chat", "completion", 512).encode(example)
    prompt = render_prompt(tokenizer, example.messages)
    prompt_ids = tokenizer(prompt, add_special_tokens=False).input_ids
    n = len(prompt_ids)
    end_of_turn = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert enc.input_ids[:n] == prompt_ids
    assert enc.labels[:n] == [IGNORE] * n
    assert enc.labels[n:] == enc.input_ids[n:]
    assert enc.labels[-1] == end_of_turn
    # the prompt's own end-of-turn tokens (system and user turns) are not trained
    assert enc.input_ids[:n].count(end_of_turn) == 2
    assert [t for t in enc.labels if t != IGNORE].count(end_of_turn) == 1
    assert tokenizer.decode(enc.labels[n:]) == example.completion + "<|im_end|>"


@pytest.mark.slow
def test_full_loss_and_paper_template(tokenizer):
    example = objectives.forward(record())
    full = Encoder(tokenizer, "chat", "full", 512).encode(example)
    assert full.labels == full.input_ids
    paper = Encoder(tokenizer, "paper", "completion", 512).encode(example)
    text = tokenizer.decode(paper.input_ids)
    assert text.startswith("### Instruction:\n") and "### Response:\n" in text
    assert tokenizer.decode([t for t in paper.labels if t != IGNORE]) == (
        example.completion + tokenizer.eos_token
    )


@pytest.mark.slow
def test_collator_masks_padding_even_when_pad_is_end_of_turn(tokenizer):
    assert tokenizer.pad_token_id == tokenizer.convert_tokens_to_ids("<|im_end|>")
    longer = record(forward_reasoning="Ana has 3. She buys 4. 3 + 4 = 7. The answer is 7.")
    units = methods.build_units("step_by_step", [record(), longer])
    rows, _ = encode_units(Encoder(tokenizer), units)
    batch = ObjectiveCollator(tokenizer.pad_token_id, ("forward", "answer"))(rows)
    assert batch["answer"]["input_ids"].shape[1] < batch["forward"]["input_ids"].shape[1]
    forward = batch["forward"]
    n, width = len(rows[0]["forward"]["input_ids"]), forward["input_ids"].shape[1]
    assert n < width
    assert forward["attention_mask"][0].tolist() == [1] * n + [0] * (width - n)
    assert forward["labels"][0, n - 1] == tokenizer.pad_token_id  # the real end-of-turn is trained
    assert (forward["input_ids"][0, n:] == tokenizer.pad_token_id).all()
    assert (forward["labels"][0, n:] == IGNORE).all()  # ...the padding after it is not


@pytest.mark.slow
def test_rows_longer_than_max_length_are_dropped_whole_and_counted_per_objective(
    tokenizer, caplog
):
    short = record()
    # only the forward target is long: its answer sentence would be cut, not the question
    long_forward = record(
        problem=Problem("long", "synthetic", short.problem.question, "7", "number"),
        forward_reasoning="Ana counts her pens one by one. " * 30 + "The answer is 7.",
    )
    encoder = Encoder(tokenizer, max_length=200)
    sizes = {
        name: len(encoder.encode(example).input_ids)
        for name, example in methods.build_units("revthink", [long_forward])[0].items()
    }
    assert sizes["forward"] > 200 >= max(sizes["backward_question"], sizes["backward_reasoning"])
    units = methods.build_units("revthink", [short, long_forward])
    with caplog.at_level(logging.WARNING):
        rows, report = encode_units(encoder, units)
    assert report.kept == len(rows) == 1
    assert report.dropped_ids == ["long"]
    assert report.cut == {"forward": 1}
    assert report.longest["forward"] == sizes["forward"]
    assert "raise train.max_length" in caplog.text and "forward 1" in caplog.text
    summary = report.to_json()
    assert summary["dropped_rows"] == 1 and summary["cut_by_objective"] == {"forward": 1}
    # a kept row is whole: its target still ends with the answer and the end-of-turn token
    end_of_turn = tokenizer.convert_tokens_to_ids("<|im_end|>")
    for name in ("forward", "backward_question", "backward_reasoning"):
        labels = [t for t in rows[0][name]["labels"] if t != IGNORE]
        assert labels[-1] == end_of_turn
        assert tokenizer.decode(labels).endswith(units[0][name].completion + "<|im_end|>")


@pytest.mark.slow
def test_a_fitting_row_is_never_truncated(tokenizer):
    example = objectives.forward(record())
    full = Encoder(tokenizer, max_length=4096).encode(example)
    exact = Encoder(tokenizer, max_length=len(full.input_ids)).encode(example)
    assert exact == full
    rows, report = encode_units(
        Encoder(tokenizer, max_length=len(full.input_ids) - 1), [{"forward": example}]
    )
    assert rows == [] and report.cut == {"forward": 1}


def test_skd_at_equal_compute_trains_each_problem_three_times_on_the_forward_objective():
    ex = record()
    units = methods.build_units("skd_equal_compute", [ex])
    assert units == methods.build_units("skd", [ex]) * 3
    assert dict(methods.weights("skd_equal_compute", TrainConfig())) == {"forward": 1.0}
    revthink = methods.build_units("revthink", [ex])
    assert sum(len(u) for u in units) == sum(len(u) for u in revthink)  # as many passes
