"""The program teacher serves the synthetic suite's exact texts through the Teacher protocol."""

from __future__ import annotations

import re

import pytest

from revthink.augment.prompts import backward_reply
from revthink.config import TeacherConfig
from revthink.data import get_spec, registry
from revthink.errors import ConfigError
from revthink.synthetic import SyntheticItem, generate_items
from revthink.teachers.base import GenerationRequest, GenerationResult, Message
from revthink.teachers.program import ProgramTeacher, check_dataset

FINAL = re.compile(r"The answer is \(?([^()]+?)\)?\.$")


def _request(item: SyntheticItem, purpose: str, content: str = "", n: int = 1,
             seed: int | None = None) -> GenerationRequest:
    text = content or item.problem.question
    return GenerationRequest((Message("user", text),), n=n, seed=seed, purpose=purpose,
                             problem_id=item.problem.id)


@pytest.fixture(scope="module")
def mixed() -> list[SyntheticItem]:
    return generate_items("mixed", "train", 6, seed=0)


def test_it_answers_every_purpose_with_the_items_own_texts(mixed: list[SyntheticItem]) -> None:
    teacher = ProgramTeacher(TeacherConfig(backend="program"))
    assert teacher.name == "program:synthetic"
    for item in mixed:
        review = "\n".join(
            (item.problem.question, item.backward_question, item.backward_reasoning))
        requests = [
            _request(item, "forward"), _request(item, "backward_question"),
            _request(item, "backward_reasoning", item.backward_question),
            _request(item, "consistency", review), _request(item, "rephrase"),
        ]
        results = teacher.generate(requests)
        assert all(r.error is None and r.finish_reasons == ("stop",) for r in results)
        forward, back_q, back_r, verdict, rephrase = results
        assert forward.texts == (item.forward_reasoning,)
        assert FINAL.search(forward.texts[0]).group(1) == item.problem.answer
        assert back_q.texts == (backward_reply(item.backward_answer, item.backward_question),)
        assert back_r.texts == (item.backward_reasoning,)
        assert verdict.texts[0].splitlines()[-1] == "True"
        assert rephrase.texts[0] != item.problem.question


def test_consistency_is_false_for_reasoning_that_misses_the_backward_answer(
    mixed: list[SyntheticItem],
) -> None:
    item = mixed[0]
    wrong = item.backward_reasoning.rsplit("The answer is", 1)[0] + "The answer is 99999."
    [result] = ProgramTeacher(TeacherConfig()).generate([_request(item, "consistency", wrong)])
    assert result.texts[0].endswith("\nFalse")


def test_n_samples_reword_the_reasoning_but_keep_the_answer(mixed: list[SyntheticItem]) -> None:
    teacher = ProgramTeacher(TeacherConfig())
    for item in mixed:
        [result] = teacher.generate([_request(item, "forward", n=4)])
        assert len(result.texts) == 4 and result.texts[0] == item.forward_reasoning
        assert {FINAL.search(t).group(1) for t in result.texts} == {item.problem.answer}
    requests = [_request(i, "forward", n=4) for i in generate_items("arithmetic", "train", 5, 0)]
    worded = {text for result in teacher.generate(requests) for text in result.texts}
    assert len(worded) > 5


def test_token_counts_are_whitespace_words_and_callbacks_come_per_request(
    mixed: list[SyntheticItem],
) -> None:
    seen: list[tuple[int, GenerationResult]] = []
    requests = [_request(item, "backward_question", n=2) for item in mixed[:3]]
    results = ProgramTeacher(TeacherConfig()).generate(
        requests, on_result=lambda index, result: seen.append((index, result)))
    assert seen == list(enumerate(results))
    for item, result in zip(mixed[:3], results, strict=True):
        assert result.prompt_tokens == len(item.problem.question.split())
        reply = backward_reply(item.backward_answer, item.backward_question)
        assert result.completion_tokens == 2 * len(reply.split())


def test_unknown_ids_purposes_and_foreign_backward_questions_are_errors(
    mixed: list[SyntheticItem],
) -> None:
    item = mixed[0]
    foreign = GenerationRequest((Message("user", "Q"),), purpose="forward", problem_id="gsm8k-12")
    unknown = _request(item, "summarise")
    rule_made = _request(item, "backward_reasoning", "Ann has x apples. What is x?")
    results = ProgramTeacher(TeacherConfig()).generate([foreign, unknown, rule_made])
    assert all(r.texts == () and r.error for r in results)
    assert "only knows the synthetic suite" in results[0].error
    assert "unknown purpose 'summarise'" in results[1].error
    assert "own backward question" in results[2].error
    assert [r.error_kind for r in results] == [
        "not_synthetic", "unknown_purpose", "foreign_backward_question"]


@pytest.mark.parametrize("dataset", ["gsm8k", "strategyqa", "math"])
def test_another_dataset_is_refused_before_any_work(dataset: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_dataset(get_spec(dataset))
    message = str(info.value)
    assert "augment.teacher.backend" in message and repr(dataset) in message
    assert "synthetic_arithmetic" in message and "openai_compat" in message


def test_every_synthetic_suite_dataset_is_accepted() -> None:
    names = [name for name in registry() if name.startswith("synthetic")]
    assert len(names) == 5
    for name in names:
        if name != "synthetic_backward":
            check_dataset(get_spec(name))


def test_the_synthetic_backward_benchmark_is_refused() -> None:
    with pytest.raises(ConfigError, match="'synthetic_backward'"):
        check_dataset(get_spec("synthetic_backward"))


def test_error_rate_spoils_a_seeded_share_of_answers() -> None:
    items = generate_items("arithmetic", "train", 200, seed=0)
    teacher = ProgramTeacher(TeacherConfig(error_rate=0.3))
    assert teacher.name == "program:synthetic:error_rate=0.3"
    results = teacher.generate([_request(item, "forward") for item in items])
    wrong = [FINAL.search(r.texts[0]).group(1) != item.problem.answer
             for item, r in zip(items, results, strict=True)]
    assert 30 <= sum(wrong) <= 90
    assert teacher.generate([_request(item, "forward") for item in items]) == results
    retried = teacher.generate([_request(item, "forward", n=6) for item in items])
    assert all(item.problem.answer in {FINAL.search(t).group(1) for t in r.texts}
               for item, r in zip(items, retried, strict=True))
    with pytest.raises(ConfigError, match="augment.teacher.error_rate"):
        ProgramTeacher(TeacherConfig(error_rate=1.5))
