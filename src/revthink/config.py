"""Experiment configuration: one frozen dataclass per stage, loaded from YAML.

YAML keys are the field names below; the help text of a key is the comment next to its field.
``revthink CMD config.yaml a.b=c`` overrides any key (values are parsed as YAML). Unknown keys
and wrong types are rejected with a message naming the file, the dotted key and the expected
type, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import reprlib
import sys
import types
import typing
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from revthink.errors import ConfigError
from revthink.method_names import trained

# ---------------------------------------------------------------------------------------------
# Stage configs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataConfig:
    """Which problems a stage reads."""

    dataset: str = "gsm8k"  # a registry name (see `revthink data list`) or a path to a dataset YAML
    split: str = "train"
    limit: int | None = None  # keep this many problems (a seeded sample) for quick runs
    data_dir: str | None = None  # local data folder; default $REVTHINK_DATA, then ../shared/data


@dataclass(frozen=True)
class ModelConfig:
    """Where a transformers model comes from."""

    path: str = "smollm2-135m"  # Hub id, local folder, .gguf file, or a built-in alias
    gguf_file: str | None = None  # file name inside `path` when it is a folder or Hub repo
    revision: str | None = None
    trust_remote_code: bool = False  # allow model code from the Hub; off unless you trust it
    # auto: bfloat16 on CPUs with AMX/AVX512-BF16 and on bf16 GPUs, float32 elsewhere
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    # the Hub id of the model a local folder or .gguf `path` holds (e.g. Qwen/Qwen2.5-0.5B):
    # saved adapters and model cards name it as their base, so they load on other machines
    hub_id: str | None = None

    def __post_init__(self) -> None:
        _require(
            self.hub_id is None or HUB_ID.fullmatch(self.hub_id) is not None,
            "train.student.hub_id", "a Hub model id such as owner/name",
        )


@dataclass(frozen=True)
class TeacherConfig:
    """The LLM that writes forward and backward reasoning."""

    backend: Literal["openai_compat", "hf_local", "vllm", "llamacpp", "program"] = "program"
    model: str = ""  # server model name, Hub id, folder or .gguf path (backend-dependent)
    gguf_file: str | None = None
    base_url: str = "http://127.0.0.1:8000/v1"  # openai_compat: the endpoint's /v1 root
    api_key_env: str = "OPENAI_API_KEY"  # name of the environment variable holding the key
    concurrency: int = 16  # requests in flight (servers)
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    timeout_s: float = 120.0
    max_retries: int = 6
    # openai_compat: seconds an unreachable server is retried before the stage stops with
    # "cannot connect"
    connect_timeout_total_s: float = 30.0
    batch_size: int = 8  # sequences per forward pass (local backends)
    context_length: int = 4096  # llamacpp: n_ctx; vllm: max_model_len (prompt + completion)
    # llamacpp: weights repacked for llama.cpp extra CPU kernels; null: off on CPUs with AMX,
    # where llama-cpp-python 0.3.36 crashes with them, on elsewhere
    llamacpp_repack: bool | None = None
    tensor_parallel_size: int = 1  # vllm: GPUs one model is split over
    trust_remote_code: bool = False
    prompt_price_per_mtok: float = 0.0  # USD per million prompt tokens, for the cost ledger
    completion_price_per_mtok: float = 0.0
    error_rate: float = 0.0  # program backend: share of answers made wrong, to test filters

    def __post_init__(self) -> None:
        # The value is never echoed: a key pasted here by mistake must not reach the terminal.
        _require(
            ENV_NAME.fullmatch(self.api_key_env) is not None, "augment.teacher.api_key_env",
            "the name of an environment variable (letters, digits, _), not the key itself; "
            "this value looks like a key: export it as e.g. OPENAI_API_KEY and name that",
        )
        for key in ("concurrency", "batch_size", "context_length", "tensor_parallel_size"):
            _require(getattr(self, key) >= 1, f"augment.teacher.{key}", "an integer >= 1")
        _require(self.max_retries >= 0, "augment.teacher.max_retries", "an integer >= 0")
        _require(self.timeout_s > 0, "augment.teacher.timeout_s", "a number of seconds > 0")
        _require(
            self.connect_timeout_total_s > 0, "augment.teacher.connect_timeout_total_s",
            "a number of seconds > 0",
        )
        _require(
            _is_http_url(self.base_url), "augment.teacher.base_url",
            "an http:// or https:// address with a host, such as http://127.0.0.1:8000/v1",
        )


# augment.drop_flags: signs that a record's backward half is no reversal (revthink.augment.quality)
QualityFlag = Literal["answer_missing", "repeats_question", "answer_not_in_question"]


@dataclass(frozen=True)
class AugmentConfig:
    """Stage 1: teacher augmentation of (Q, A) into (Q, R_f, Q_b, R_b)."""

    data: DataConfig = field(default_factory=DataConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    k: int = 4  # tries per problem and step: forward samples until one is correct, bad answers
    temperature: float = 0.7
    max_tokens: int = 512
    filter: Literal["correct", "correct+consistent"] = "correct+consistent"
    # rule: mask a number of Q (numbers) or blank the concept of a choice problem whose source
    # names it (CommonsenseQA); hybrid: the rule picks that piece, the teacher words the
    # backward question around it (R_b must reach the piece either way)
    backward: Literal["teacher", "rule", "hybrid"] = "teacher"
    # rule: where the teacher's backward question fails the reversal checks, use the rule's
    # question instead (records say which: backward_origin)
    backward_fallback: Literal["none", "rule"] = "none"
    answer_aug: int = 0  # extra correct forward reasonings kept per problem (answer_aug method)
    rephrase: bool = False  # also ask the teacher to rephrase Q (rephrase method)
    # quality flags (revthink.augment.quality) that drop a record; the others are only counted
    drop_flags: tuple[QualityFlag, ...] = ()
    # share of problems that may meet a teacher error left after the backend's own retries
    # before the stage stops (0: any such error fails the stage; the rerun resumes from cache)
    max_error_share: float = 0.0

    def __post_init__(self) -> None:
        _require(
            self.data.limit is None or self.data.limit >= 1, "augment.data.limit",
            "an integer >= 1 (or null for every problem)",
        )
        _require(self.k >= 1, "augment.k", "an integer >= 1")
        _require(
            self.backward_fallback == "none" or self.backward != "rule",
            "augment.backward_fallback", "none when augment.backward is rule (nothing to fall "
            "back from)",
        )
        _require(self.max_tokens >= 1, "augment.max_tokens", "an integer >= 1")
        _require(self.temperature >= 0, "augment.temperature", "a number >= 0")
        _require(self.answer_aug >= 0, "augment.answer_aug", "an integer >= 0")
        _require(0 <= self.max_error_share <= 1, "augment.max_error_share", "a number in [0, 1]")


@dataclass(frozen=True)
class LoraSettings:
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.0
    # [all-linear]: every linear layer but the output head; empty: peft's choice (q/v attention)
    target_modules: tuple[str, ...] = ("all-linear",)

    def __post_init__(self) -> None:
        _require(self.rank >= 1, "train.lora.rank", "an integer >= 1")
        _require(self.alpha > 0, "train.lora.alpha", "a number > 0")
        _require(0.0 <= self.dropout < 1.0, "train.lora.dropout", "a number in [0, 1)")


@dataclass(frozen=True)
class ObjectiveWeights:
    forward: float = 1.0  # Q -> R_f
    backward_question: float = 1.0  # Q -> Q_b
    backward_reasoning: float = 1.0  # Q_b -> R_b


Logger = Literal["tensorboard", "wandb"]  # train.report_to: transformers' logger names


@dataclass(frozen=True)
class TrainConfig:
    """Stage 2: fine-tune the student on every trained method."""

    student: ModelConfig = field(default_factory=ModelConfig)
    finetune: Literal["lora", "full"] = "lora"
    lora: LoraSettings = field(default_factory=LoraSettings)
    weights: ObjectiveWeights = field(default_factory=ObjectiveWeights)
    step_by_step_alpha: float = 0.5  # weight of Q -> answer in step_by_step
    # mean: sum_o w_o L_o / sum_o w_o (the paper averages its objectives); sum: sum_o w_o L_o
    objective_reduction: Literal["mean", "sum"] = "mean"
    loss_on: Literal["completion", "full"] = "completion"  # full: the paper's published code
    template: Literal["chat", "paper"] = "chat"  # paper: plain instruction format
    train_fraction: float = 1.0  # seeded subset of training problems, same for every method
    validation_fraction: float = 0.0  # seeded held-out problems; per-objective eval loss logged
    learning_rate: float = 2e-4
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = "cosine"
    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 512
    warmup_ratio: float = 0.1  # share of the steps; the lr rises from its first step, never 0
    save_steps: int = 50
    resume: bool = True
    gradient_checkpointing: bool = False
    # the learning curve (train/<method>/curve.jsonl): every eval_steps optimizer steps, and
    # before the first and after the last, the student greedily answers eval_limit problems of
    # the training dataset's eval_split (never a test split; problems trained on are left out)
    # and logs accuracy and no-answer rate; 0: off
    eval_steps: int = 0
    eval_split: str = "validation"
    eval_limit: int = 48
    eval_max_new_tokens: int = 160  # per answer; as evaluate.max_new_tokens, for the curve
    # none: log nowhere (nothing leaves the machine); tensorboard: event files in
    # train/<method>/tensorboard/; wandb: Weights & Biases; or a list of both. Each receives every
    # objective's loss, the learning rate and the throughput (tokens/s), every step
    report_to: Literal["none", "tensorboard", "wandb"] | tuple[Logger, ...] = ()

    def __post_init__(self) -> None:
        # stored as a list of names, so `none`, [] and the default hash alike
        names = (self.report_to,) if isinstance(self.report_to, str) else self.report_to
        loggers = tuple(dict.fromkeys(name for name in names if name != "none"))
        object.__setattr__(self, "report_to", loggers)
        _require(
            set(loggers) <= set(typing.get_args(Logger)), "train.report_to",
            "none, tensorboard, wandb, or a list of tensorboard and wandb",
        )
        _require(0 < self.train_fraction <= 1, "train.train_fraction", "a number in (0, 1]")
        _require(self.batch_size >= 1, "train.batch_size", "an integer >= 1")
        _require(self.grad_accum >= 1, "train.grad_accum", "an integer >= 1")
        _require(self.max_length >= 1, "train.max_length", "an integer >= 1")
        _require(0 < self.epochs < math.inf, "train.epochs", "a number > 0")
        _require(0 < self.learning_rate < math.inf, "train.learning_rate", "a number > 0")
        _require(
            0 <= self.validation_fraction < 1, "train.validation_fraction", "a number in [0, 1)"
        )
        _require(0 <= self.warmup_ratio < 1, "train.warmup_ratio", "a number in [0, 1)")
        _require(self.save_steps >= 1, "train.save_steps", "an integer >= 1")
        _require(self.eval_steps >= 0, "train.eval_steps", "an integer >= 0 (0: no curve)")
        _require(self.eval_limit >= 1, "train.eval_limit", "an integer >= 1")
        _require(self.eval_max_new_tokens >= 1, "train.eval_max_new_tokens", "an integer >= 1")
        _require(
            self.eval_split != "test", "train.eval_split",
            "a split other than test (the curve must not see the problems methods are compared "
            "on), e.g. validation or train",
        )


Decode = Literal["greedy", "self_consistency", "forward_backward"]


@dataclass(frozen=True)
class BenchmarkConfig:
    dataset: str  # registry name
    split: str = "test"
    limit: int | None = None  # seeded subset for quick looks
    # this benchmark's own evaluate.decode / samples / temperature (null: the evaluate section's),
    # e.g. a small set also answered by forward_backward beside the greedy ones; a benchmark
    # with its own decode is a column of its own (``synthetic_arithmetic-forward_backward-n4``)
    decode: Decode | None = None
    samples: int | None = None
    temperature: float | None = None

    @property
    def overrides(self) -> dict[str, Any]:
        """The evaluate settings this benchmark sets for itself."""
        keys = ("decode", "samples", "temperature")
        return {key: getattr(self, key) for key in keys if getattr(self, key) is not None}


@dataclass(frozen=True)
class EvaluateConfig:
    """Stage 3: forward-only answers of each method on each benchmark."""

    benchmarks: tuple[BenchmarkConfig, ...] = (BenchmarkConfig(dataset="gsm8k"),)
    engine: Literal["transformers", "vllm"] = "transformers"
    max_new_tokens: int = 512
    batch_size: int = 32  # prompts per generate call, sorted by length
    bootstrap_samples: int = 1000
    limit: int | None = None  # seeded subset of every benchmark without its own limit
    temperature: float = 0.0  # 0: greedy decoding; sampling is seeded with the run's seed
    # transformers engine: generate with each LoRA merged into the base (restored afterwards)
    merge_lora: bool = True
    stop_after_answer: bool = True  # end an output (and free its batch row) after its answer
    threads: int = 0  # CPU threads for generation; 0: the cores other processes leave free
    # greedy: one answer each; self_consistency: the majority of `samples` sampled reasonings;
    # forward_backward: those votes plus a backward check of each candidate answer (numbers)
    decode: Decode = "greedy"
    samples: int = 1  # n: reasonings sampled per problem by self_consistency/forward_backward
    backward_weight: float = 1.0  # forward_backward: score = votes + weight * backward successes
    # a problem whose prompt is longer is refused before any generation (with the count and
    # the first ids): a runaway record must not allocate gigabytes for its attention
    max_prompt_tokens: int = 8192

    def __post_init__(self) -> None:
        _require(bool(self.benchmarks), "evaluate.benchmarks", "at least one benchmark")
        for i, benchmark in enumerate(self.benchmarks):
            _require(
                benchmark.limit is None or benchmark.limit >= 1,
                f"evaluate.benchmarks[{i}].limit", "an integer >= 1 (or null)",
            )
        _require(self.max_new_tokens >= 1, "evaluate.max_new_tokens", "an integer >= 1")
        _require(self.batch_size >= 1, "evaluate.batch_size", "an integer >= 1")
        _require(self.bootstrap_samples >= 1, "evaluate.bootstrap_samples", "an integer >= 1")
        _require(self.limit is None or self.limit >= 1, "evaluate.limit", "an integer >= 1")
        _require(self.temperature >= 0, "evaluate.temperature", "a number >= 0")
        _require(self.threads >= 0, "evaluate.threads", "an integer >= 0 (0: the free cores)")
        _require(self.samples >= 1, "evaluate.samples", "an integer >= 1")
        _require(self.backward_weight >= 0, "evaluate.backward_weight", "a number >= 0")
        _require(self.max_prompt_tokens >= 1, "evaluate.max_prompt_tokens", "an integer >= 1")
        if self.decode == "greedy":
            _require(
                self.samples == 1, "evaluate.samples",
                "1 with evaluate.decode 'greedy' (self_consistency and forward_backward sample "
                "several reasonings)",
            )
        else:
            _require(
                self.temperature > 0, "evaluate.temperature",
                f"a number > 0 with evaluate.decode '{self.decode}', which samples its "
                "reasonings (e.g. 0.7)",
            )
        for i, benchmark in enumerate(self.benchmarks):  # after the section's own checks
            if benchmark.overrides:
                try:
                    self.for_benchmark(benchmark)
                except ConfigError as err:
                    raise ConfigError(
                        str(err).replace("key 'evaluate.", f"key 'evaluate.benchmarks[{i}].", 1)
                    ) from None

    def for_benchmark(self, benchmark: BenchmarkConfig) -> EvaluateConfig:
        """The settings ``benchmark`` is evaluated with: this section's, with its own on top."""
        plain = dataclasses.replace(benchmark, decode=None, samples=None, temperature=None)
        return dataclasses.replace(self, benchmarks=(plain,), **benchmark.overrides)


@dataclass(frozen=True)
class ProbeConfig:
    """`revthink probe reversal`: fictional facts learnt one way, asked both ways."""

    data_dir: str | None = None  # folder holding reversal_curse/; found as data.data_dir is
    people: int = 4  # fictional people, a seeded sample of the 30 told person -> description
    facts_per_person: int = 5  # training sentences per person (of 30)
    tests_per_person: int = 5  # forward and reverse test questions per person (of 10 each)
    epochs: float = 2.0  # passes over the facts, per fine-tuned variant
    learning_rate: float = 1e-3
    batch_size: int = 4  # rows per training step and per scoring batch
    pairs: int = 100  # celebrity parent/child pairs (a seeded sample) scored per student; 0: none
    enabled: bool = False  # true: `revthink run` also runs the probe, after evaluation

    def __post_init__(self) -> None:
        for key in ("people", "facts_per_person", "tests_per_person", "batch_size"):
            _require(getattr(self, key) >= 1, f"probe.{key}", "an integer >= 1")
        _require(0 < self.epochs < math.inf, "probe.epochs", "a number > 0")
        _require(0 < self.learning_rate < math.inf, "probe.learning_rate", "a number > 0")
        _require(self.pairs >= 0, "probe.pairs", "an integer >= 0")


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment: `revthink run` performs every stage, each command performs one."""

    name: str = "experiment"
    output_dir: str = "runs"
    seed: int = 0
    methods: tuple[str, ...] = ("zero_shot", "skd", "revthink")
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)

    def __post_init__(self) -> None:
        # Every stage writes and deletes under run_dir: the name must not lead out of output_dir.
        _require(is_plain_name(self.name), "name", f"a folder name, not a path ({PLAIN_NAME})")
        _require(0 <= self.seed < 2**32, "seed", "an integer in [0, 2**32)")
        _require(bool(self.methods), "methods", "at least one method")
        _require(len(set(self.methods)) == len(self.methods), "methods", "each method once")
        if self.train.eval_steps:
            clash = [
                b for b in self.evaluate.benchmarks
                if (b.dataset, b.split) == (self.augment.data.dataset, self.train.eval_split)
            ]
            _require(
                not clash, "train.eval_split",
                f"a split no benchmark of evaluate.benchmarks is scored on "
                f"({self.train.eval_split!r} of {self.augment.data.dataset!r} is one): the curve "
                "must not see the problems methods are compared on",
            )
        trained(self.methods)

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir).expanduser() / self.name


ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
HUB_ID = re.compile(r"([\w.-]+/)?[\w.-]+")
PLAIN_NAME = ("no '/' or '\\', not starting with '.', no leading or trailing space, no "
              "control character, at most 200 bytes")
MAX_NAME_BYTES = 200  # file systems allow 255 bytes a name; combination labels add to it


def _is_http_url(url: str) -> bool:
    """An address a client can connect to: retrying ``ftp://x`` or ``localhost:8080`` (no
    scheme) for a minute, or failing on ``http://[::1`` with a traceback, helps nobody."""
    try:
        parts = urllib.parse.urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and (
            parts.port is None or parts.port > 0)
    except ValueError:  # an unclosed IPv6 bracket, a port that is not a number
        return False


def is_plain_name(name: str) -> bool:
    """A name that stays one folder when joined to a path (no separators, not hidden, not
    ``..``) and that every file system can hold and every shell shows as it is."""
    return (
        bool(name.strip()) and name == name.strip() and not name.startswith(".")
        and not any(c in name for c in "/\\") and name.isprintable()
        and len(name.encode("utf-8")) <= MAX_NAME_BYTES
    )


def _require(ok: bool, key: str, expected: str) -> None:
    if not ok:
        raise ConfigError(f"key '{key}': expected {expected}")


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


SWEEP = "sweep"  # the section `revthink run` expands into one run per combination


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read an experiment YAML and apply ``a.b=c`` overrides."""
    raw = load_raw(path, overrides)
    if SWEEP in raw:
        raise ConfigError(
            f"{path}: key '{SWEEP}': this config is a sweep; `revthink run {path}` runs every "
            "combination, each stage command takes one run's config (runs/<name>/<combination>/"
            "config.json)"
        )
    return build(ExperimentConfig, raw, source=str(path))


def load_raw(path: str | Path, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The YAML mapping of ``path`` with ``a.b=c`` overrides applied, not yet checked."""
    path = Path(path)
    raw = read_yaml(path, "config file")
    raw = {} if raw is None else raw  # an empty file: every default
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    for item in overrides:
        _apply_override(raw, item)
    return raw


def _apply_override(raw: dict[str, Any], item: str) -> None:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {item!r}: expected the form a.b=c")
    if "[" in key:
        raise ConfigError(
            f"override {item!r}: one item of a list cannot be set; give the whole list, e.g. "
            "evaluate.benchmarks=\"[{dataset: synthetic, split: test, limit: 100}]\""
        )
    *parents, leaf = key.split(".")
    node = raw
    for part in parents:
        if node.get(part) is None:  # absent, or an empty section such as "train:" in the YAML
            node[part] = {}
        node = node[part]
        if not isinstance(node, dict):
            raise ConfigError(f"override {item!r}: '{part}' is not a section")
    try:
        node[leaf] = _parse_yaml(value)
    except ConfigError as err:
        raise ConfigError(f"override {item!r}: the value is {err}") from None


def read_yaml(path: Path, what: str) -> Any:
    """The YAML data of ``path`` (a byte-order mark is allowed); ConfigError naming the file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder; expected a {what} (.yaml)") from None
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {err.start}); re-save the file as UTF-8"
        ) from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the {what} ({err.strerror})") from None
    try:
        return _parse_yaml(text)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, but a key given twice in one mapping is an error, not a silent
    overwrite (a second ``train:`` section would drop the first without a word)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            line = key_node.start_mark.line + 1
            if isinstance(key, str | int | float | bool) and key in seen:
                raise ConfigError(
                    f"key {key!r} appears twice in one mapping (lines {seen[key]} and {line}); "
                    "keep one"
                )
            if isinstance(key, str | int | float | bool):
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except (yaml.YAMLError, ValueError) as err:  # ValueError: an impossible date such as 2024-13-01
        raise ConfigError(f"not valid YAML ({' '.join(str(err).split())})") from None
    except RecursionError:
        raise ConfigError("not a config: its lists or mappings are nested too deeply") from None


def build(cls: type, data: Any, *, source: str = "<config>", prefix: str = "") -> Any:
    """Build dataclass ``cls`` from plain YAML data, checking every key and type."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: key '{prefix or cls.__name__}' must be a mapping")
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - fields, key=str)
    if unknown:
        where = f"{prefix}." if prefix else ""
        raise ConfigError(
            f"{source}: unknown key '{where}{unknown[0]}'; "
            f"valid keys here: {', '.join(sorted(fields))}"
        )
    kwargs = {
        name: _coerce(hints[name], value, source, f"{prefix}.{name}" if prefix else name)
        for name, value in data.items()
    }
    try:
        return cls(**kwargs)
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from None
    except TypeError as err:  # a required field without default is missing
        raise ConfigError(f"{source}: section '{prefix or cls.__name__}': {err}") from None


def _coerce(tp: Any, value: Any, source: str, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return build(tp, value, source=source, prefix=key)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, source, key)
            except ConfigError as err:
                errors.append(err)
        raise errors[0]
    if origin is Literal:
        if value not in args:
            _type_error(source, key, "one of " + ", ".join(map(str, args)), value)
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            _type_error(source, key, "a list", value)
        item_tp = args[0]
        return tuple(_coerce(item_tp, v, source, f"{key}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            _type_error(source, key, "a mapping", value)
        return {str(k): _coerce(args[1], v, source, f"{key}.{k}") for k, v in value.items()}
    if tp is Any:
        return value
    if tp is float and isinstance(value, str) and _EXPONENT.fullmatch(value):
        value = float(value)
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        if not abs(value) <= sys.float_info.max:  # NaN, inf, or an int too large for a float
            _type_error(source, key, "a finite number", value)
        return float(value)
    if tp is bool and not isinstance(value, bool):
        _type_error(source, key, "true or false", value)
    if tp is int and isinstance(value, bool):
        _type_error(source, key, "an integer", value)
    if not isinstance(value, tp):
        _type_error(source, key, _describe(tp), value)
    return value


# YAML 1.1 reads 2e-4 (no dot) as a string; as a number is what anyone writing it means.
_EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _describe(tp: Any) -> str:
    names = {int: "an integer", float: "a number", str: "a string"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def _type_error(source: str, key: str, expected: str, value: Any) -> typing.NoReturn:
    raise ConfigError(f"{source}: key '{key}': expected {expected}, got {_SHORT.repr(value)}")


def _short_repr() -> reprlib.Repr:
    """Values in messages stay short: a YAML alias bomb must not print megabytes."""
    short = reprlib.Repr()
    short.maxstring = short.maxother = 80
    short.maxlist = short.maxdict = short.maxtuple = 4
    short.maxlevel = 2
    return short


_SHORT = _short_repr()


def to_dict(config: Any) -> dict[str, Any]:
    """Plain data of a config (tuples as lists), as it would be written to YAML."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def config_hash(config: Any) -> str:
    """Stable hash of a config section: equal settings give equal hashes across runs.

    Only settings that differ from their defaults are hashed (``changed_settings``), so a key
    added to a section later, at its default, leaves finished stages finished.
    """
    blob = json.dumps(changed_settings(config), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def changed_settings(config: Any) -> Any:
    """The fields of a config that differ from their defaults, sections and lists alike.

    A field without a default (a benchmark's dataset) is always kept; a section left at its
    defaults disappears. Plain values come out as ``to_dict`` writes them.
    """
    if isinstance(config, tuple | list):
        return [changed_settings(item) for item in config]
    if not dataclasses.is_dataclass(config):
        return json.loads(json.dumps(config))
    changed = {}
    for f in dataclasses.fields(config):
        value = changed_settings(getattr(config, f.name))
        if f.default is not dataclasses.MISSING:
            default = changed_settings(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = changed_settings(f.default_factory())
        else:
            changed[f.name] = value
            continue
        if isinstance(value, dict) and isinstance(default, dict):
            value = {k: v for k, v in value.items() if default.get(k, _ABSENT) != v}
            if value:
                changed[f.name] = value
        elif value != default:
            changed[f.name] = value
    return changed


_ABSENT = object()
