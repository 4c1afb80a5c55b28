"""Model and dataset cards: README.md files with Hugging Face metadata, built from a run folder.

The model card of ``train/<method>/`` replaces peft's empty template when the method finishes
training and is written again after every evaluation; ``revthink export`` writes the same card
(and the dataset card) into its folder. A score appears on a card only when it was computed
with the weights beside the card: the evaluate manifest's hashes of the weight files must match
the files now in ``train/<method>/``, so a retrained method never shows its old scores.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import yaml

from revthink.config import ExperimentConfig, load_config
from revthink.errors import RevthinkError
from revthink.evaluate.engines import weight_files
from revthink.files import update_file
from revthink.manifest import file_hash, read_manifest
from revthink.method_names import ZERO_SHOT, describe
from revthink.models import BaseModel, base_model
from revthink.report.collect import Run, load_run
from revthink.report.render import Section, Text, render_markdown
from revthink.report.stage import PAIRED_NOTE, augmentation_section, combined_results
from revthink.report.tables import Grid, key_values, paired_grid, results_grid

CARD = "README.md"
BACKWARD_SOURCES = {
    "teacher": "teacher", "rule": "rule that masks a number of Q",
    "hybrid": "teacher, worded around the number a rule chose to hide",
}
TRAIN_SUMMARY_KEYS = ("rows", "steps", "dtype", "train_seconds", "losses")


def write_model_cards(run_dir: Path) -> list[Path]:
    """The card of every ``train/<method>/`` the train stage finished, (re)written in place.

    Folders without the stage's resolved ``config.yaml`` (weights put there by hand) are left
    as they are: there is nothing to describe them with.
    """
    written = []
    for config in sorted((run_dir / "train").glob("*/config.yaml")):
        folder = config.parent
        if not (folder / "manifest.json").is_file():
            continue
        card = model_card(run_dir, folder.name)
        update_file(folder / CARD, card)
        written.append(folder / CARD)
    return written


def model_card(
    run_dir: Path, method: str, *, merged: bool = False, config_file: str = "config.yaml"
) -> str:
    """The card of ``method``'s weights: adapter (or full fine-tune) or, ``merged``, the merge.

    ``config_file`` is the name the resolved config has beside the card (the reproduce command).
    """
    cfg = load_config(run_dir / "train" / method / "config.yaml")
    base = base_model(cfg.train.student)
    run = _current(load_run(run_dir))
    adapter = cfg.train.finetune == "lora" and not merged
    meta: dict[str, Any] = {
        "base_model": base.name if base.on_hub else None,
        "library_name": "peft" if adapter else "transformers",
        "license": base.license.lower() if base.license else None,
        "pipeline_tag": "text-generation",
        "tags": list(dict.fromkeys(["revthink", method, cfg.train.finetune])),
    }
    sections = [
        _teacher_section(cfg, run), _training_section(cfg, run_dir / "train" / method),
        _evaluation_section(run, method),
        _reproduce_section(run, method, config_file), _use_section(adapter),
        _license_section(base),
    ]
    intro = Text(
        f"`{method}`: {describe(method)}. The student {_named(base)} was "
        f"fine-tuned ({_finetune(cfg)}) with revthink (Reverse-Enhanced Thinking) in run "
        f"`{cfg.name}`." + _base_note(base)
    )
    title = f"{cfg.name} / {method}" + (" (merged)" if merged else "")
    return _front_matter(meta) + render_markdown(title, [Section("Model", (intro,)), *sections])


def dataset_card(cfg: ExperimentConfig, run_dir: Path, records: int, data_files: str) -> str:
    """The card of the augmented records exported as parquet (``data_files``: their glob)."""
    data = cfg.augment.data
    spec = _dataset_spec(data.dataset)
    source = spec.hub.id if spec is not None and spec.hub is not None else data.dataset
    meta = {
        "license": spec.license.lower() if spec is not None and spec.license else None,
        "tags": ["revthink", "reasoning", "backward-reasoning", "synthetic"],
        "task_categories": ["text-generation"],
        "configs": [{"config_name": "default",
                     "data_files": [{"split": "train", "path": data_files}]}],
    }
    intro = Text(
        f"{records} problems of `{data.dataset}` (split `{data.split}`"
        + (f", a seeded sample of {data.limit}" if data.limit else "")
        + f"; source: {source}), each augmented by the teacher {_teacher(cfg)} with a forward "
        "reasoning, a backward question and a backward reasoning (RevThink). Records were "
        f"kept when {_filter(cfg.augment.filter)}; backward questions came from the "
        f"{BACKWARD_SOURCES[cfg.augment.backward]}"
        + (" (the rule's where the teacher's failed the checks)"
           if cfg.augment.backward_fallback == "rule" else "") + "."
    )
    columns = Grid(("column", "meaning"), tuple(COLUMNS.items()))
    license_text = Text(
        f"The source dataset's licence: {spec.license}." if spec is not None and spec.license
        else "The source dataset's licence is not recorded in the registry: check its source."
    )
    sections = [
        Section("Dataset", (intro, columns)), augmentation_section(load_run(run_dir), ""),
        Section("Licence", (license_text,)),
    ]
    return _front_matter(meta) + render_markdown(f"{cfg.name}: augmented records", sections)


COLUMNS = {
    "id": "problem id (unique)",
    "dataset": "source dataset",
    "question": "Q, the original question",
    "answer": "A, the gold answer",
    "answer_type": "how answers are compared: number, math, choice, yes_no or label",
    "options": "answer options of a multiple-choice problem",
    "reference": "the source's own rationale, when it has one",
    "forward_reasoning": "R_f, the teacher's step-by-step answer to Q, ending with A",
    "backward_question": "Q_b, the inverse question: A given, a piece of Q asked",
    "backward_reasoning": "R_b, the teacher's answer to Q_b",
    "consistent": "the teacher's verdict that Q_b and R_b agree with Q and A (null: not asked)",
    "backward_answer": "the piece of Q that Q_b hides and R_b reaches (rule: a number or concept)",
    "extra_forward": "further correct forward reasonings (answer augmentation)",
    "rephrased_question": "the teacher's rephrasing of Q (rephrase baseline)",
    "teacher": "the model that wrote the record",
    "flags": "quality flags the record raised (e.g. repeats_question); see revthink's docs",
}


def _current(run: Run) -> Run:
    """``run`` with only the scores and comparisons of the weights now in ``train/``."""
    hashes: dict[str, dict[str, str]] = {}

    def current(method: str, benchmark: str) -> bool:
        if method not in hashes:
            folder = None if method == ZERO_SHOT else run.path / "train" / method
            hashes[method] = {p.name: file_hash(p) for p in weight_files(folder)}
        manifest = read_manifest(run.path / "evaluate" / method / benchmark) or {}
        extra = manifest.get("fingerprint", {}).get("extra", {})
        return extra.get("weights") == hashes[method]

    scores = tuple(s for s in run.scores if current(s.method, s.dataset))
    comparisons = tuple(
        c for c in run.comparisons
        if current(c.method, c.dataset) and current(c.baseline, c.dataset)
    )
    return dataclasses.replace(run, scores=scores, comparisons=comparisons)


def _teacher_section(cfg: ExperimentConfig, run: Run) -> Section:
    data = cfg.augment.data
    text = Text(
        f"Teacher: {_teacher(cfg)}. Data: `{data.dataset}` split `{data.split}`"
        + (f" (a seeded sample of {data.limit})" if data.limit else "")
        + f"; records kept when {_filter(cfg.augment.filter)}. The funnel counts the problems "
        "through each step; the ledger counts the teacher's calls and tokens."
    )
    blocks: list[Text | Grid] = [text]
    if run.funnel is not None:
        blocks.append(key_values(run.funnel, ("funnel step", "problems")))
    if run.ledger is not None:  # the totals; the report has them per step
        totals = {k: v for k, v in run.ledger.items() if not isinstance(v, dict)}
        blocks.append(key_values(totals, ("teacher ledger", "total")))
    return Section("Teacher and data", tuple(blocks))


def _training_section(cfg: ExperimentConfig, folder: Path) -> Section:
    summary = _json(folder / "summary.json")
    blocks: list[Text | Grid] = [
        Text("The training config (the `train:` section of the resolved config)."),
        key_values(json.loads(json.dumps(dataclasses.asdict(cfg.train))), ("key", "value")),
    ]
    if summary:
        kept = {k: summary[k] for k in TRAIN_SUMMARY_KEYS if k in summary}
        blocks += [Text("What training did (losses: first and last step)."),
                   key_values(kept, ("item", "value"))]
    return Section("Training", tuple(blocks))


def _evaluation_section(run: Run, method: str) -> Section:
    if not any(s.method == method for s in run.scores):
        return Section("Evaluation", (Text(
            "Not evaluated with these weights yet: run `revthink evaluate` on the run's config."
        ),))
    results = combined_results([(run.name, run.scores, run.comparisons)])
    paired = paired_grid(results)
    mine = Grid(paired.header, tuple(row for row in paired.rows if row[0] == method))
    return Section("Evaluation", (
        Text("Strict accuracy (%) with its 95% bootstrap interval, every method of the run on "
             "the same test problems (forward reasoning only, greedy unless configured)."),
        results_grid(results), Text(PAIRED_NOTE), mine,
    ))


def _reproduce_section(run: Run, method: str, config_file: str) -> Section:
    lines = [f"revthink run {config_file}"]
    compared = list(dict.fromkeys(s.method for s in run.scores))
    if len(compared) > 1 and method in compared:
        lines.append(f"revthink run {config_file} 'methods=[{', '.join(compared)}]'")
    note = (f"`{config_file}` is the resolved config of this run (`methods: [{method}]`); the "
            "first command redoes augmentation, training and evaluation of this method")
    if len(lines) > 1:
        note += ", the second also the methods it is compared with above"
    return Section("Reproduce", (Text(note + "."), Text("```bash\n" + "\n".join(lines) + "\n```")))


def _use_section(adapter: bool) -> Section:
    if adapter:
        code = ("from peft import AutoPeftModelForCausalLM\nfrom transformers import "
                "AutoTokenizer\n\nmodel = AutoPeftModelForCausalLM.from_pretrained(PATH)  "
                "# this folder or its Hub repo\ntokenizer = AutoTokenizer.from_pretrained(PATH)")
    else:
        code = ("from transformers import AutoModelForCausalLM, AutoTokenizer\n\n"
                "model = AutoModelForCausalLM.from_pretrained(PATH)  # this folder or its Hub "
                "repo\ntokenizer = AutoTokenizer.from_pretrained(PATH)")
    return Section("Use", (
        Text("Ask with the tokenizer's chat template, as `revthink evaluate` did; the model "
             "answers with step-by-step reasoning and a final-answer sentence."),
        Text("```python\n" + code + "\n```"),
    ))


def _license_section(base: BaseModel) -> Section:
    if base.license:
        text = (f"The base model {_named(base)} is licensed under {base.license}; these "
                "weights are derived from it and follow its terms.")
    else:
        text = f"See the licence of the base model {_named(base)}; these weights follow its terms."
    return Section("Licence", (Text(text),))


def _front_matter(meta: dict[str, Any]) -> str:
    kept = {k: v for k, v in meta.items() if v is not None}
    return "---\n" + yaml.safe_dump(kept, sort_keys=False, allow_unicode=True) + "---\n\n"


def _named(base: BaseModel) -> str:
    return f"[{base.name}](https://huggingface.co/{base.name})" if base.on_hub else base.name


def _base_note(base: BaseModel) -> str:
    if base.on_hub:
        return ""
    return (" The base model is a local file or folder with no known Hub id, so the adapter "
            "names it by its path and loads only where that path exists; set "
            "`train.student.hub_id` to name the Hub model it holds.")


def _finetune(cfg: ExperimentConfig) -> str:
    lora = cfg.train.lora
    if cfg.train.finetune == "full":
        return "every weight"
    return f"LoRA rank {lora.rank}, alpha {lora.alpha}, on {', '.join(lora.target_modules)}"


def _teacher(cfg: ExperimentConfig) -> str:
    teacher = cfg.augment.teacher
    return f"`{teacher.model}` ({teacher.backend})" if teacher.model else f"`{teacher.backend}`"


def _filter(name: str) -> str:
    if name == "correct":
        return "the teacher's forward answer was correct"
    return "the teacher's forward answer was correct and it judged Q_b and R_b consistent"


def _dataset_spec(name: str) -> Any:
    from revthink.data import get_spec

    try:
        return get_spec(name)
    except RevthinkError:  # a dataset YAML that has moved since: the card says less
        return None


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}

