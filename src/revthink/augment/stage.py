"""``revthink augment CONFIG``: turn (question, answer) pairs into RevThink records.

Writes under ``runs/<name>/augment/``: ``records.jsonl`` (one AugmentedExample a line, in the
order of the problems), ``funnel.json``, ``ledger.json``, ``cache.jsonl`` (every teacher
result, appended as it arrives) and ``manifest.json`` last, with the hashes of the first three.
A finished stage with the same settings and intact outputs is skipped; an interrupted one
resumes from its cache without repeating a call.

A stage that fails writes records, funnel and ledger for inspection but no manifest, and
raises an error naming the cause, so the rerun resumes from the cache. It fails when it keeps
no problem, when more problems meet teacher errors than ``augment.max_error_share`` allows
(by default any error left after the backend's own retries; the stage stops at once), or when
the teacher cannot go on at all (a server that cannot be reached, a bad key). Teacher errors
are summed up on stderr by kind, with the first text of each, whether the stage failed or not.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from revthink.augment import prompts, quality
from revthink.augment.cache import ResultCache
from revthink.augment.calls import TeacherCalls
from revthink.augment.pipeline import augment
from revthink.augment.reporting import Funnel, Ledger, progress_bar, write_json
from revthink.augment.rule_backward import rule_backward
from revthink.config import AugmentConfig, ExperimentConfig
from revthink.data import get_spec, load_problems
from revthink.errors import ConfigError, RevthinkError
from revthink.manifest import fingerprint, invalidate, is_complete, write_manifest
from revthink.records import AugmentedExample, Problem, write_jsonl
from revthink.teachers import program
from revthink.teachers.registry import create_teacher

RECORDS, FUNNEL, LEDGER, CACHE = "records.jsonl", "funnel.json", "ledger.json", "cache.jsonl"

console = Console(stderr=True)


NO_REVERSALS = (
    "the teacher's backward questions failed the reversal checks (docs/teacher_audit.md): try "
    "a stronger teacher, a larger augment.k, or, where answers are numbers or the source names "
    "each question's concept (CommonsenseQA), augment.backward: hybrid or rule (or "
    "augment.backward_fallback: rule)"
)


class AugmentFailed(RevthinkError):
    """The stage ended without records worth training on; its outputs say why."""


def decisive_code() -> dict[str, Any]:
    """What besides the config decides the records: the prompt texts and the checks' version."""
    return {"prompts": prompts.fingerprint(), "checks": quality.CHECKS_VERSION}


def run(cfg: ExperimentConfig) -> Path:
    """Run (or skip, or resume) the augmentation stage; return its output folder."""
    out = cfg.run_dir / "augment"
    expected = fingerprint(cfg.augment, seed=cfg.seed, extra=decisive_code())
    if is_complete(out, expected):
        return out
    invalidate(out)
    family, problems = stage_problems(cfg)
    teacher_cfg = cfg.augment.teacher
    ledger = Ledger(teacher_cfg.prompt_price_per_mtok, teacher_cfg.completion_price_per_mtok)
    funnel = Funnel(problems_in=len(problems))
    records = augment_into(cfg, out, problems, family, funnel, ledger)
    write_manifest(
        out, expected, outputs=(RECORDS, FUNNEL, LEDGER), teacher=records[0].teacher,
        problems=len(problems), records=len(records),
    )
    return out


def stage_problems(cfg: ExperimentConfig) -> tuple[str, list[Problem]]:
    """The dataset's task family and the problems the stage augments; a program teacher is
    checked against the dataset before any problem is loaded."""
    data = cfg.augment.data
    spec = get_spec(data.dataset)
    if cfg.augment.teacher.backend == "program":
        program.check_dataset(spec)
    problems = load_problems(
        data.dataset, data.split, data_dir=data.data_dir, limit=data.limit, seed=cfg.seed
    )
    if cfg.augment.backward != "teacher" and not any(
        rule_backward(p, cfg.seed) for p in problems
    ):
        raise ConfigError(
            f"augment.backward: {cfg.augment.backward} needs problems with a piece the rule can "
            f"hide (a number answer whose question states a number once, or a multiple-choice "
            f"question whose source names its concept, as CommonsenseQA does); none of the "
            f"{len(problems)} problems of {data.dataset} ({data.split}) has one: use "
            "augment.backward: teacher"
        )
    return spec.family, problems


def augment_into(
    cfg: ExperimentConfig, out: Path, problems: list[Problem], family: str, funnel: Funnel,
    ledger: Ledger,
) -> list[AugmentedExample]:
    """The records of ``problems``, augmented under ``out``; records, funnel and ledger are
    written there whether this succeeds or fails (the estimate runs it in a scratch folder)."""
    started = time.monotonic()
    teacher = create_teacher(cfg.augment.teacher)
    ledger.teacher_load_s = time.monotonic() - started
    cache = ResultCache(out / CACHE)
    records: list[AugmentedExample] = []
    try:
        with progress_bar() as progress:
            calls = TeacherCalls(
                teacher, cache, ledger, progress, _error_limit(cfg.augment, len(problems))
            )
            records, _ = augment(
                problems, calls, cfg.augment, seed=cfg.seed, family=family, funnel=funnel
            )
        if not records:
            raise AugmentFailed(_nothing_kept(funnel, ledger))
    except RevthinkError as err:
        funnel.failure = str(err)
        raise AugmentFailed(_resumable(err, out)) from err
    except BaseException as err:  # Ctrl-C or a bug: what was seen is still written below
        funnel.failure = str(err) or type(err).__name__
        raise
    finally:
        cache.close()
        teacher.close()
        ledger.wall_time_s = time.monotonic() - started
        write_jsonl(out / RECORDS, records)
        write_json(out / FUNNEL, funnel.to_json())
        write_json(out / LEDGER, ledger.to_json())
        _report_errors(ledger)
    return records


def _error_limit(cfg: AugmentConfig, problems: int) -> int:
    """How many problems may meet teacher errors: the share, rounded down."""
    return math.floor(cfg.max_error_share * problems + 1e-9)


def _nothing_kept(funnel: Funnel, ledger: Ledger) -> str:
    reasons = ", ".join(f"{reason} {n}" for reason, n in funnel.dropped.most_common(3))
    message = f"kept 0 of {funnel.problems_in} problems (dropped: {reasons or 'none'})"
    first = ledger.errors.first_error()
    if first:
        return f"{message}; first teacher error: {first}"
    if funnel.dropped and funnel.dropped.most_common(1)[0][0].startswith("backward_question:"):
        return f"{message}; {NO_REVERSALS}"
    return message


def _resumable(err: RevthinkError, out: Path) -> str:
    """The message of ``err`` with where to look and what a rerun does."""
    return (
        f"augment stopped: {err}. See {out / FUNNEL} and {out / LEDGER}; no manifest was "
        f"written, so the next run resumes from {out / CACHE} and asks only what is missing"
    )


def _report_errors(ledger: Ledger) -> None:
    """Teacher errors by kind on stderr: the count and the first text of each."""
    lines = ledger.errors.lines()
    if lines:
        console.print(f"augment: teacher errors by kind ({len(ledger.errors.problems)} "
                      "problem(s) met one):", highlight=False, markup=False)
        for line in lines:
            console.print(f"  {line}", highlight=False, markup=False)
