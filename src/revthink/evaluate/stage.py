"""`revthink evaluate CONFIG`: forward-only answers of every method on every benchmark, scored.

    revthink evaluate config.yaml [evaluate.limit=50 evaluate.engine=vllm ...]

For each method of ``methods:`` (``zero_shot``: the untouched student; any other: the weights in
``runs/<name>/train/<method>/``) and each benchmark of ``evaluate.benchmarks`` (out-of-domain
pairs such as StrategyQA -> BoolQ are simply more benchmarks), writes
``runs/<name>/evaluate/<method>/<benchmark>/``: ``predictions.jsonl`` (prompt, output,
extracted answers, verdicts; appended a batch at a time), ``scores.json`` and ``manifest.json``
(last, naming the decode and samples); with ``evaluate.decode`` self_consistency or
forward_backward also ``decodings.jsonl`` (each problem's sampled answers, votes and backward
checks: ``revthink.evaluate.sampled``). A benchmark may set its own decode, samples and
temperature (``BenchmarkConfig``), so one run answers a small set both greedily and by
forward_backward; the engine is reopened once per distinct setting.
``runs/<name>/evaluate/scores.jsonl`` collects the scores of the whole config for the
report, and ``comparisons.jsonl`` the paired differences between its methods
(``revthink.evaluate.paired``).

The student is loaded once; adapters are switched per method. A finished pair whose manifest
matches (evaluate settings, benchmark problems, method, weights' hash, prompt template, seed)
is skipped. An interrupted pair resumes: problems already predicted with the same generation
settings (``generation.json``) are kept, also when only the subset size (``limit``) or the
scoring changed, so rescoring a finished pair loads no model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from revthink.config import BenchmarkConfig, EvaluateConfig, ExperimentConfig, to_dict
from revthink.data import load_problems
from revthink.errors import DataError, ModelError, RecordError
from revthink.evaluate import sampled
from revthink.evaluate.engine_choice import open_engine
from revthink.evaluate.engines import Engine, weight_files
from revthink.evaluate.names import benchmark_name
from revthink.evaluate.paired import compare_all
from revthink.evaluate.scoring import (
    TIMING,
    add_seconds,
    answer_check,
    judge,
    rejudge,
    rescore,
)
from revthink.evaluate.voting import keep_decodings, read_decodings, summary
from revthink.manifest import file_hash, fingerprint, invalidate, is_complete, write_manifest
from revthink.method_names import ZERO_SHOT
from revthink.models import load_tokenizer
from revthink.prompting import encode_prompt, forward_prompt, template_fingerprint
from revthink.records import (
    Comparison,
    Prediction,
    Problem,
    Score,
    append_jsonl,
    from_json,
    read_jsonl,
    repair_jsonl,
    to_json,
    write_jsonl,
)

console = Console(stderr=True)

PREDICTIONS = "predictions.jsonl"
SCORES = "scores.json"
COMPARISONS = "comparisons.jsonl"  # beside scores.jsonl: every method against the others
GENERATION = "generation.json"  # the generation settings the saved predictions were made with


@dataclass(frozen=True)
class Job:
    """One method on one benchmark, and what decides whether its results are still valid."""

    method: str
    benchmark: str
    weights: Path | None
    problems: tuple[Problem, ...]
    folder: Path
    expected: dict[str, Any]  # the manifest's fingerprint once finished
    generation: dict[str, Any]  # what the saved predictions depend on (no subset, no scoring)
    settings: EvaluateConfig  # the evaluate section with the benchmark's own settings on top


def run(cfg: ExperimentConfig) -> Path:
    """Evaluate every method on every benchmark of ``cfg``; returns the evaluate folder."""
    out = cfg.run_dir / "evaluate"
    tokenizer = load_tokenizer(cfg.train.student)
    jobs = plan(cfg, tokenizer)
    student = Student(cfg, tokenizer, [j.weights for j in jobs if j.weights is not None])
    try:
        with _progress() as progress:
            scores = [
                evaluate_job(dataclasses.replace(cfg, evaluate=job.settings), job, tokenizer,
                             student, progress)
                for job in jobs
            ]
    finally:
        student.close()
    write_jsonl(out / "scores.jsonl", scores)
    write_jsonl(out / COMPARISONS, compare_jobs(cfg, jobs))
    return out


def compare_jobs(cfg: ExperimentConfig, jobs: Sequence[Job]) -> list[Comparison]:
    """Paired comparisons of the methods on each benchmark, from the saved predictions."""
    predictions = {
        (job.method, job.benchmark): read_jsonl(job.folder / PREDICTIONS, Prediction)
        for job in jobs
    }
    return compare_all(predictions, samples=cfg.evaluate.bootstrap_samples, seed=cfg.seed)


def plan(cfg: ExperimentConfig, tokenizer: Any) -> list[Job]:
    """Every (method, benchmark) pair: benchmarks grouped by their generation settings (one
    engine each), and within a group method by method, so weights are switched once each."""
    template = template_fingerprint(tokenizer, cfg.train.template)
    benchmarks = [(b, _problems(cfg, b)) for b in cfg.evaluate.benchmarks]
    for benchmark, problems in benchmarks:  # once per benchmark, before any method is run
        refuse_long_prompts(cfg, benchmark_name(benchmark), problems, tokenizer)
    groups: dict[str, list[tuple[BenchmarkConfig, tuple[Problem, ...]]]] = {}
    for benchmark, problems in benchmarks:
        groups.setdefault(engine_key(cfg.evaluate.for_benchmark(benchmark)), []).append(
            (benchmark, problems))
    weights = {m: None if m == ZERO_SHOT else trained_weights(cfg.run_dir, m) for m in cfg.methods}
    common = {
        m: {"method": m, "student": to_dict(cfg.train.student), "template": template,
            "weights": {p.name: file_hash(p) for p in weight_files(w)}}
        for m, w in weights.items()
    }
    return [
        _job(cfg, method, weights[method], b, problems, common[method])
        for group in groups.values() for method in cfg.methods for b, problems in group
    ]


def _job(
    cfg: ExperimentConfig, method: str, weights: Path | None, benchmark: BenchmarkConfig,
    problems: tuple[Problem, ...], common: dict[str, Any],
) -> Job:
    settings = cfg.evaluate.for_benchmark(benchmark)
    unlimited = dataclasses.replace(settings.benchmarks[0], limit=None)
    generation = fingerprint(
        dataclasses.replace(settings, benchmarks=(unlimited,), limit=None, bootstrap_samples=1),
        seed=cfg.seed, extra=common,
    )
    expected = fingerprint(settings, seed=cfg.seed, extra={**common, "problems": _digest(problems)})
    name = benchmark_name(benchmark)
    folder = cfg.run_dir / "evaluate" / method / name
    return Job(method, name, weights, problems, folder, expected, generation, settings)


def engine_key(settings: EvaluateConfig) -> str:
    """Settings that need an engine of their own (all but the benchmark list)."""
    data = {k: v for k, v in to_dict(settings).items() if k != "benchmarks"}
    return json.dumps(data, sort_keys=True)


def trained_weights(run_dir: Path, method: str) -> Path:
    """The finished ``train/<method>/`` folder; raises ModelError naming it otherwise."""
    folder = run_dir / "train" / method
    if not (folder / "manifest.json").is_file():
        state = "has not finished" if folder.is_dir() else "is missing"
        raise ModelError(
            f"{folder}: the trained weights of method {method!r} {state}; "
            "run `revthink train` first"
        )
    return folder


class Student:
    """The engine, opened on first use (a fully finished run never loads a model), and opened
    again when a benchmark needs other generation settings (only one is open at a time: a
    vLLM engine claims most of the GPU's memory)."""

    _UNSET: Any = object()  # differs from every folder and from None (the base student)

    def __init__(self, cfg: ExperimentConfig, tokenizer: Any, folders: Sequence[Path]) -> None:
        self.cfg, self.tokenizer, self.folders = cfg, tokenizer, list(folders)
        self.engine: Engine | None = None
        self.settings = ""  # engine_key of the open engine
        self.current: Any = self._UNSET

    def with_weights(self, folder: Path | None, settings: EvaluateConfig) -> Engine:
        if self.engine is not None and engine_key(settings) != self.settings:
            self.close()
        if self.engine is None:
            self.engine = open_engine(
                settings, self.cfg.train.student, self.tokenizer, self.cfg.seed, self.folders
            )
            self.settings, self.current = engine_key(settings), self._UNSET
        if folder != self.current:
            self.engine.use_weights(folder)
            self.current = folder
        return self.engine

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()
            self.engine = None


def evaluate_job(
    cfg: ExperimentConfig, job: Job, tokenizer: Any, student: Student, progress: Progress
) -> Score:
    """Predict what is missing, rescore everything, write scores and manifest (last).

    ``cfg.evaluate`` is the job's own settings (``Job.settings``).
    """
    label = f"{job.method} / {job.benchmark}"
    task = progress.add_task(label, total=len(job.problems))
    if is_complete(job.folder, job.expected):
        progress.update(task, completed=len(job.problems), description=f"{label} (done)")
        manifest = job.folder / "manifest.json"
        return from_json(Score, _saved_json(job.folder / SCORES, f"delete {manifest} to rescore"))
    done = resume(job)
    progress.update(task, completed=len(done))
    todo = [p for p in job.problems if p.id not in done]
    if todo:
        engine = student.with_weights(job.weights, job.settings)
        predict(cfg, job, todo, tokenizer, engine, progress, task)
    score = finish(cfg, job)
    progress.update(task, description=f"{label}: {score.accuracy:.1%}")
    return score


def refuse_long_prompts(
    cfg: ExperimentConfig, benchmark: str, problems: Sequence[Problem], tokenizer: Any
) -> None:
    """DataError naming the problems whose prompt exceeds ``evaluate.max_prompt_tokens``."""
    limit, template = cfg.evaluate.max_prompt_tokens, cfg.train.template
    lengths = {
        p.id: len(encode_prompt(tokenizer, forward_prompt(tokenizer, p, template), template))
        for p in problems
    }
    long = [(pid, n) for pid, n in lengths.items() if n > limit]
    if long:
        shown = ", ".join(f"{pid} ({n:,} tokens)" for pid, n in long[:3])
        raise DataError(
            f"benchmark {benchmark}: {len(long)} of {len(problems)} prompts are longer than "
            f"evaluate.max_prompt_tokens={limit}: {shown}; fix or drop those records, or raise "
            "the limit if the student's context holds them"
        )


def resume(job: Job) -> set[str]:
    """Ids already predicted with the same generation settings; anything else is cleared."""
    path, stamp = job.folder / PREDICTIONS, job.folder / GENERATION
    invalidate(job.folder)
    job.folder.mkdir(parents=True, exist_ok=True)
    same = stamp.is_file() and _saved_json(stamp, "delete it to predict again") == json.loads(
        json.dumps(job.generation)
    )
    wanted = {p.id for p in job.problems}
    kept: list[Prediction] = []
    if same and path.is_file():
        repair_jsonl(path)  # a line torn by a kill: cut off, with a warning
        saved = read_jsonl(path, Prediction)
        kept = [p for p in saved if p.problem_id in wanted]
    else:
        (job.folder / TIMING).unlink(missing_ok=True)
        stamp.write_text(json.dumps(job.generation, sort_keys=True), encoding="utf-8")
    write_jsonl(path, kept)  # also drops a line torn by a kill, before anything is appended
    keep_decodings(job.folder, [p.problem_id for p in kept])
    return {p.problem_id for p in kept}


def predict(
    cfg: ExperimentConfig, job: Job, todo: list[Problem], tokenizer: Any, engine: Engine,
    progress: Progress, task: Any,
) -> None:
    """Generate answers for ``todo``, appending each batch's predictions as it ends."""
    if cfg.evaluate.decode != "greedy":
        for predictions in sampled.predict(cfg, job.method, job.folder, todo, tokenizer, engine):
            append_jsonl(job.folder / PREDICTIONS, predictions)
            progress.advance(task, len(predictions))
        return
    template = cfg.train.template
    prompts = [forward_prompt(tokenizer, p, template) for p in todo]  # training's, exactly
    ids = [encode_prompt(tokenizer, prompt, template) for prompt in prompts]
    for batch in engine.generate(ids, [answer_check(p) for p in todo]):
        predictions = [
            judge(todo[i], g.text, method=job.method, prompt=prompts[i], tokens=g.tokens)
            for i, g in zip(batch.indices, batch.generations, strict=True)
        ]
        append_jsonl(job.folder / PREDICTIONS, predictions)
        add_seconds(job.folder, batch.seconds)
        progress.advance(task, len(predictions))


def finish(cfg: ExperimentConfig, job: Job) -> Score:
    """Judge every prediction with the current extractors, in problem order, then score."""
    path = job.folder / PREDICTIONS
    by_id = {p.problem_id: p for p in read_jsonl(path, Prediction)}
    write_jsonl(path, [rejudge(by_id[p.id], p) for p in job.problems])
    score = rescore(path, samples=cfg.evaluate.bootstrap_samples, seed=cfg.seed)
    score = dataclasses.replace(score, method=job.method, dataset=job.benchmark)
    if cfg.evaluate.decode != "greedy":  # tokens per problem split forward/backward, fallbacks
        decodings = read_decodings(job.folder)
        figures = summary([decodings[p.id] for p in job.problems if p.id in decodings])
        score = dataclasses.replace(score, extra={**score.extra, **figures})
    scores_text = json.dumps(to_json(score), indent=2)
    (job.folder / SCORES).write_text(scores_text, encoding="utf-8")
    write_manifest(
        job.folder, job.expected, method=job.method, benchmark=job.benchmark, n=score.n,
        weights=str(job.weights) if job.weights else None, engine=cfg.evaluate.engine,
        decode=cfg.evaluate.decode, samples=cfg.evaluate.samples,
        base_benchmark=benchmark_name(job.settings.benchmarks[0]),
    )
    return score


def _problems(cfg: ExperimentConfig, benchmark: BenchmarkConfig) -> tuple[Problem, ...]:
    limit = benchmark.limit if benchmark.limit is not None else cfg.evaluate.limit
    problems = load_problems(
        benchmark.dataset, benchmark.split, data_dir=cfg.augment.data.data_dir, limit=limit,
        seed=cfg.seed,
    )
    if not problems:
        raise DataError(
            f"benchmark {benchmark.dataset!r}: split {benchmark.split!r} has no problems"
        )
    return tuple(problems)


def _saved_json(path: Path, fix: str) -> Any:
    """A JSON object this stage wrote; RecordError naming the file when a crash or edit broke it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RecordError(f"{path}: unreadable ({err}); {fix}") from None
    if not isinstance(data, dict):
        raise RecordError(f"{path}: expected a JSON object, got {type(data).__name__}; {fix}")
    return data


def _digest(problems: Sequence[Problem]) -> str:
    """Hash of the problem ids and gold answers: another subset or changed data shows up."""
    blob = json.dumps([(p.id, p.answer) for p in problems]).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _progress() -> Progress:
    return Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=console, transient=False,
    )
