"""The RevThink augmentation: (Q, A) -> (Q, R_f, Q_b, R_b), checked and filtered.

Steps, each sent for all its problems together (see ``steps``):

1. forward: R_f sampled in rounds until its extracted answer equals the gold answer
   (``1 + answer_aug`` distinct correct ones are collected when answer augmentation is on);
2. rephrase (optional): a reworded Q, kept when there is one, never a reason to drop;
3. backward question: Q_b from the teacher, who names the piece of Q it hid and is asked again
   when Q does not state that piece, Q_b does, or Q_b leaves out the answer
   (``quality.reversal_defect``); or made by rule (a number of Q masked as x, or a choice
   problem's concept blanked, ``rule_backward``); with ``backward_fallback: rule``, by rule
   where every teacher try failed those checks; or, with ``backward: hybrid``, worded by the
   teacher around the piece the rule chose to hide;
4. backward reasoning: R_b answering Q_b, which must reach the hidden piece (for rule-made
   and hybrid questions the rule's piece, every word of it);
5. consistency: the teacher's True/False verdict on (Q, A, Q_b, R_b). Rule-made and hybrid
   records skip it: their R_b was checked exactly, which is the stronger test.

``filter: correct+consistent`` drops records the verdict rejects; ``correct`` keeps them with
the verdict recorded. Every record then gets its quality flags (``quality``), counted in the
funnel; ``drop_flags`` drops the records raising any of the flags it names. Records come back
in the order of the input problems.

Answers are checked with the strict extractors, the ones students are scored with: a trace that
never states its final answer the strict way ("The answer is X.") is not kept, so students do
not learn to leave that sentence out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from revthink.answers import extract, is_correct
from revthink.answers.spans import final_answer_spans
from revthink.augment import prompts
from revthink.augment.calls import TeacherCalls
from revthink.augment.quality import quality_flags, reaches, reversal_defect
from revthink.augment.reporting import Funnel
from revthink.augment.rule_backward import RuleBackward, rule_backward
from revthink.augment.steps import Sampling, Step, StepOutcome, run_step
from revthink.config import AugmentConfig
from revthink.errors import DataError
from revthink.records import AugmentedExample, Problem
from revthink.teachers.base import Message


@dataclass(frozen=True)
class Backward:
    """The backward half of a record."""

    question: str
    reasoning: str
    answer: str  # the hidden piece: the rule's, or what the teacher says it hid
    consistent: bool | None  # the verdict; None when the teacher gave none
    origin: str  # who wrote the question: "teacher", "rule" or "hybrid" (rule's piece)


@dataclass(frozen=True)
class _Runner:
    """Runs steps with the run's teacher, sampling settings and funnel."""

    calls: TeacherCalls
    sampling: Sampling
    funnel: Funnel

    def run(self, step: Step, problems: Sequence[Problem]) -> StepOutcome:
        return run_step(step, problems, self.sampling, self.calls, self.funnel)

    def keep(self, step: Step, problems: Sequence[Problem]) -> dict[str, list[str]]:
        """Usable answers by problem id; problems without one are dropped from the funnel."""
        outcome = self.run(step, problems)
        for reason in outcome.failed.values():
            self.funnel.drop(step.purpose, reason)
        return outcome.texts


def augment(
    problems: Sequence[Problem], calls: TeacherCalls, cfg: AugmentConfig, *, seed: int,
    family: str, funnel: Funnel | None = None,
) -> tuple[list[AugmentedExample], Funnel]:
    """Augmented records of ``problems`` and the funnel that says what was dropped and why.

    ``family`` is the dataset's prompt family ("mixed": decided per problem). Pass ``funnel``
    to keep what it counted when the run stops with an error.
    """
    _check_unique(problems)
    funnel = Funnel() if funnel is None else funnel
    funnel.problems_in = len(problems)
    # Greedy decoding gives the same answer every time: one attempt is all it can offer.
    attempts = cfg.k if cfg.temperature > 0 else 1
    runner = _Runner(calls, Sampling(seed, cfg.temperature, cfg.max_tokens, attempts), funnel)
    forward = runner.keep(forward_step(cfg.answer_aug), problems)
    correct = [p for p in problems if p.id in forward]
    funnel.forward_correct = len(correct)
    rephrased = runner.run(REPHRASE_STEP, correct).texts if cfg.rephrase else {}
    backward = _backward(runner, correct, cfg, seed, family)
    funnel.consistent = sum(b.consistent is True for b in backward.values())
    records = []
    for p in (p for p in correct if p.id in backward):
        half = backward[p.id]
        if cfg.filter == "correct+consistent" and half.consistent is not True:
            funnel.drop("consistency", "no_verdict" if half.consistent is None else "inconsistent")
            continue
        flags = quality_flags(p, half.question, half.reasoning)
        funnel.flagged.update(flags)
        if dropping := [flag for flag in flags if flag in cfg.drop_flags]:
            funnel.drop("quality", dropping[0])
            continue
        records.append(
            AugmentedExample(
                problem=p, forward_reasoning=forward[p.id][0], backward_question=half.question,
                backward_reasoning=half.reasoning, consistent=half.consistent,
                backward_answer=half.answer, extra_forward=tuple(forward[p.id][1:]),
                rephrased_question=rephrased.get(p.id, [None])[0], teacher=calls.teacher.name,
                flags=flags, backward_origin=half.origin,
            )
        )
    funnel.kept = len(records)
    funnel.extra_forward = sum(len(r.extra_forward) for r in records)
    funnel.rephrased = sum(r.rephrased_question is not None for r in records)
    return records, funnel


def _backward(
    runner: _Runner, problems: Sequence[Problem], cfg: AugmentConfig, seed: int, family: str
) -> dict[str, Backward]:
    """Q_b, R_b and the verdict of each problem that got all three (rule-made: two)."""
    if cfg.backward == "rule":
        rules = _rule_questions(problems, seed, runner.funnel)
        questions = {pid: rule.question for pid, rule in rules.items()}
        hidden = {pid: rule.answer for pid, rule in rules.items()}
        origin = dict.fromkeys(questions, "rule")
    elif cfg.backward == "hybrid":
        questions, hidden, origin = _hybrid_questions(runner, problems, cfg, seed)
    else:
        questions, hidden, origin = _teacher_questions(runner, problems, cfg, seed, family)
    asked = [p for p in problems if p.id in questions]
    rule_pieces = {pid for pid, who in origin.items() if who in ("rule", "hybrid")}
    step = backward_reasoning_step(questions, hidden, family, rule_pieces)
    reasonings = _first(runner.keep(step, asked))
    reasoned = [p for p in asked if p.id in reasonings]
    runner.funnel.backward_generated = len(reasoned)
    # a rule-made R_b reached the rule's hidden piece: a stronger test than any verdict
    verdicts: dict[str, bool | None] = {p.id: True for p in reasoned if p.id in rule_pieces}
    judged = [p for p in reasoned if origin[p.id] == "teacher"]
    if judged:
        outcome = runner.run(consistency_step(questions, reasonings), judged)
        verdicts |= {pid: prompts.read_verdict(texts[0]) for pid, texts in outcome.texts.items()}
    return {
        p.id: Backward(questions[p.id], reasonings[p.id], hidden[p.id], verdicts.get(p.id),
                       origin[p.id])
        for p in reasoned
    }


def _teacher_questions(
    runner: _Runner, problems: Sequence[Problem], cfg: AugmentConfig, seed: int, family: str
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The teacher's Q_b and hidden piece per problem, and who wrote each; with
    ``backward_fallback: rule`` a problem whose every try failed the checks gets the rule's
    question where it has a piece to hide (counted in the funnel by the teacher's failure)."""
    outcome = runner.run(backward_question_step(family), problems)
    read = {pid: prompts.read_backward_reply(texts[0]) for pid, texts in outcome.texts.items()}
    questions = {pid: reply.question for pid, reply in read.items() if reply}
    hidden = {pid: reply.hidden for pid, reply in read.items() if reply}
    origin = dict.fromkeys(questions, "teacher")
    for problem in (p for p in problems if p.id in outcome.failed):
        reason = outcome.failed[problem.id]
        rule = rule_backward(problem, seed) if cfg.backward_fallback == "rule" else None
        if rule is None:
            runner.funnel.drop("backward_question", reason)
            continue
        questions[problem.id], hidden[problem.id] = rule.question, rule.answer
        origin[problem.id] = "rule"
        runner.funnel.fallback[reason] += 1
    return questions, hidden, origin


def _hybrid_questions(
    runner: _Runner, problems: Sequence[Problem], cfg: AugmentConfig, seed: int
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The rule picks the piece to hide; the teacher words Q_b around it, checked like its own
    questions; with ``backward_fallback: rule`` the rule's draft stands in where every try
    failed."""
    rules = _rule_questions(problems, seed, runner.funnel)
    outcome = runner.run(hybrid_question_step(rules), [p for p in problems if p.id in rules])
    questions = {pid: texts[0] for pid, texts in outcome.texts.items()}
    origin = dict.fromkeys(questions, "hybrid")
    for pid, reason in outcome.failed.items():
        if cfg.backward_fallback == "rule":
            questions[pid], origin[pid] = rules[pid].question, "rule"
            runner.funnel.fallback[reason] += 1
        else:
            runner.funnel.drop("backward_question", reason)
    return questions, {pid: rules[pid].answer for pid in questions}, origin


# ---------------------------------------------------------------------------------------------
# Steps: what each asks and how its answers are judged
# ---------------------------------------------------------------------------------------------


def forward_step(answer_aug: int) -> Step:
    return Step("forward", prompts.forward_messages, _check_forward, want=1 + answer_aug)


def _check_forward(problem: Problem, text: str) -> str | None:
    if extract(text, problem.answer_type, problem.options, mode="strict") is None:
        return "no_final_answer"
    if not is_correct(text, problem.answer, problem.answer_type, problem.options, mode="strict"):
        return "wrong_answer"
    return None


def backward_question_step(family: str) -> Step:
    def messages(problem: Problem) -> tuple[Message, ...]:
        return prompts.backward_question_messages(problem, prompts.family_of(problem, family))

    def check(problem: Problem, text: str) -> str | None:
        reply = prompts.read_backward_reply(text)
        if reply is None:
            return "no_hidden_piece"
        return reversal_defect(problem, reply.hidden, reply.question)

    return Step("backward_question", messages, check, clean=prompts.clean_backward_reply)


def hybrid_question_step(rules: dict[str, RuleBackward]) -> Step:
    """Q_b worded by the teacher around the piece the rule hid, checked as a reversal of it."""

    def messages(problem: Problem) -> tuple[Message, ...]:
        rule = rules[problem.id]
        return prompts.hybrid_question_messages(problem, rule.answer, rule.question)

    def check(problem: Problem, text: str) -> str | None:
        if not text:
            return "empty"
        return reversal_defect(problem, rules[problem.id].answer, text)

    return Step("backward_question", messages, check, clean=_first_paragraph)


def _first_paragraph(text: str) -> str:
    """The question of a reply: its first paragraph, without a "Backward question:" label (or
    the question of a two-line "Hidden: ... / Backward question: ..." reply)."""
    reply = prompts.read_backward_reply(text)
    if reply is not None:
        return reply.question
    return prompts.clean_question(prompts.clean_question(text).split("\n\n", 1)[0])


def backward_reasoning_step(
    questions: dict[str, str], hidden: dict[str, str], family: str,
    rule_pieces: Collection[str] = (),
) -> Step:
    """R_b answering each problem's Q_b, which must reach the piece Q_b hid: all of it where
    the rule chose the piece (problem ids in ``rule_pieces``), whose words are known exactly."""

    def messages(problem: Problem) -> tuple[Message, ...]:
        kind = prompts.family_of(problem, family)
        return prompts.backward_reasoning_messages(questions[problem.id], kind)

    def check(problem: Problem, text: str) -> str | None:
        kind = prompts.backward_answer_kind(prompts.family_of(problem, family))
        if kind == "number" and extract(text, "number", mode="strict") is None:
            return "no_final_answer"
        if kind == "text" and not final_answer_spans(text):
            return "no_final_answer"
        whole = problem.id in rule_pieces
        return None if reaches(text, hidden[problem.id], whole=whole) else "wrong_answer"

    return Step("backward_reasoning", messages, check)


def consistency_step(questions: dict[str, str], reasonings: dict[str, str]) -> Step:
    def messages(problem: Problem) -> tuple[Message, ...]:
        pid = problem.id
        return prompts.consistency_messages(problem, questions[pid], reasonings[pid])

    def check(problem: Problem, text: str) -> str | None:
        return "unparseable" if prompts.read_verdict(text) is None else None

    return Step("consistency", messages, check)


REPHRASE_STEP = Step("rephrase", prompts.rephrase_messages, lambda problem, text: None,
                     clean=prompts.clean_question)


# why the rule hid nothing, by answer type: no number stands once, no concept stated once, or
# no rule for the type at all (yes/no, labels, maths expressions)
_NOTHING_TO_HIDE = {"number": "no_maskable_number", "choice": "no_concept"}


def _rule_questions(
    problems: Sequence[Problem], seed: int, funnel: Funnel
) -> dict[str, RuleBackward]:
    rules = {}
    for problem in problems:
        rule = rule_backward(problem, seed)
        if rule is None:
            funnel.drop("backward_question", _NOTHING_TO_HIDE.get(problem.answer_type, "no_rule"))
        else:
            rules[problem.id] = rule
    return rules


def _first(texts: dict[str, list[str]]) -> dict[str, str]:
    return {pid: answers[0] for pid, answers in texts.items()}


def _check_unique(problems: Sequence[Problem]) -> None:
    """Results are keyed by problem id, so two problems may not share one."""
    seen: set[str] = set()
    for problem in problems:
        if problem.id in seen:
            raise DataError(
                f"problem id {problem.id!r} occurs twice in the dataset ({problem.dataset}); "
                "augmentation needs unique ids"
            )
        seen.add(problem.id)
