"""`revthink export RUN --method M --to DIR`: a trained method, its card and its data, to share.

    revthink export runs/quickstart --method revthink --to exports/revthink
    revthink export runs/quickstart --method revthink --to DIR --merge [--gguf] [--push-to-hub ID]

Writes into the new folder ``DIR``:
- the LoRA adapter (or the full fine-tune) and tokenizer as trained, or with ``--merge`` the
  adapter merged into the student: a plain transformers model that
  ``AutoModelForCausalLM.from_pretrained(DIR)`` loads, merged and saved in the dtype evaluation
  uses on this machine, so it answers exactly as evaluated;
- ``README.md``, the model card (``export.cards``), and ``revthink.yaml``, the resolved config;
- ``dataset/``: the augmented records as parquet with a dataset card (``export.dataset``);
- with ``--gguf`` (needs ``--merge``): ``<method>.gguf`` of ``--gguf-type`` (f16 default), with
  its agreement with transformers on fixed prompts in the model card (``export.gguf``);
- with ``--push-to-hub ID``: the folder uploaded to the model repo ``ID`` and ``dataset/`` to
  the dataset repo ``ID`` (token from ``$HF_TOKEN``).
Everything that can fail for want of a tool, a token or the network is checked first.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from revthink.config import ExperimentConfig, ModelConfig, load_config
from revthink.errors import ExportError
from revthink.evaluate.engines import weights_kind
from revthink.evaluate.stage import trained_weights
from revthink.export import gguf, gguf_check, hub
from revthink.export.cards import CARD, model_card
from revthink.export.dataset import write_dataset
from revthink.export.gguf_check import Agreement
from revthink.manifest import MANIFEST
from revthink.method_names import TRAINED, UNTRAINED

CONFIG = "revthink.yaml"
# Files of train/<method>/ that are the run's bookkeeping, not part of the shared model.
BOOKKEEPING = frozenset({"manifest.json", "losses.jsonl", "summary.json", "config.yaml", CARD})


@dataclass(frozen=True)
class Options:
    merge: bool = False
    gguf: bool = False
    push_to_hub: str | None = None
    gguf_type: str = "f16"


@dataclass(frozen=True)
class Artifact:
    """One thing the export made, and how to use it."""

    path: Path
    use: str

    @property
    def size(self) -> int:
        files = self.path.rglob("*") if self.path.is_dir() else [self.path]
        return sum(f.stat().st_size for f in files if f.is_file())


def run(run_dir: Path, method: str, to: Path, options: Options) -> list[Artifact]:
    """Export ``method`` of ``run_dir`` into the new folder ``to``; returns what was written.

    The export is built in a hidden sibling folder and renamed to ``to`` when complete, so a
    failed or interrupted export leaves nothing that blocks the next try.
    """
    _check_method(run_dir, method)
    weights = trained_weights(run_dir, method)
    cfg = load_config(weights / "config.yaml")
    _check(options, to)
    secret = None
    if options.push_to_hub:
        secret = hub.token()
        hub.check_access(options.push_to_hub, secret)
    partial = to.with_name(f".{to.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        _write(cfg, run_dir, method, weights, partial, options)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    os.replace(partial, to)  # ``to`` is absent or an empty folder (checked)
    artifacts = _artifacts(to, options.merge)
    if options.gguf:
        out = to / f"{method}.gguf"
        artifacts.append(Artifact(out, f"llama-cli -m {out}  (llama.cpp, Ollama, LM Studio)"))
    if options.push_to_hub and secret is not None:
        for url in hub.push(to, to / "dataset", options.push_to_hub, secret):
            artifacts.append(Artifact(to, f"uploaded: {url}"))
    return artifacts


def _write(
    cfg: ExperimentConfig, run_dir: Path, method: str, weights: Path, folder: Path,
    options: Options,
) -> None:
    """Weights (or the merge), config, card, GGUF and data of the export, into ``folder``."""
    if options.merge:
        save_merged(cfg, weights, folder)
    else:
        copy_weights(weights, folder)
    shutil.copyfile(weights / "config.yaml", folder / CONFIG)
    card = model_card(run_dir, method, merged=options.merge, config_file=CONFIG)
    if options.gguf:
        out = folder / f"{method}.gguf"
        pre = gguf_check.choose_pre_tokenizer(folder)
        gguf.write(folder, out, options.gguf_type, pre)
        card += gguf_section(out, options.gguf_type, pre, gguf_check.agreement(folder, out))
    (folder / CARD).write_text(card, encoding="utf-8")
    write_dataset(cfg, run_dir, folder / "dataset")


def _check_method(run_dir: Path, method: str) -> None:
    """A run folder that exists and a method name that is one of its trained methods."""
    if not run_dir.is_dir():
        raise ExportError(f"{run_dir}: run folder not found")
    if method not in TRAINED:
        done = sorted(p.parent.name for p in (run_dir / "train").glob(f"*/{MANIFEST}"))
        what = "the untrained student" if method in UNTRAINED else "not a trained method"
        raise ExportError(
            f"--method {method!r}: {what}; trained methods of {run_dir}: "
            f"{', '.join(done) or 'none yet (run `revthink train`)'}"
        )


def _check(options: Options, to: Path) -> None:
    """Refuse what cannot work before any work."""
    if to.exists() and (not to.is_dir() or any(to.iterdir())):
        raise ExportError(f"{to}: exists and is not an empty folder; export into a new folder")
    if options.gguf and not options.merge:
        raise ExportError("--gguf converts the merged model: add --merge")
    if options.gguf and importlib.util.find_spec("llama_cpp") is None:
        raise ExportError("--gguf checks the file with llama.cpp, which is not installed: "
                          "pip install 'revthink[llamacpp]'")
    if options.gguf_type not in gguf.TYPES:
        raise ExportError(f"--gguf-type {options.gguf_type!r}: expected one of "
                          f"{', '.join(gguf.TYPES)}")


def gguf_section(path: Path, file_type: str, pre: str, agreement: list[Agreement]) -> str:
    """The model card's part on the GGUF file: what it is, how to run it, how far it agrees."""
    equal = sum(a.equal for a in agreement)
    lines = [
        "", "## GGUF", "",
        f"`{path.name}`: {file_type}, {path.stat().st_size / 1e6:,.1f} MB, llama.cpp "
        f"pre-tokenizer `{pre}` (chosen because it tokenizes a fixed set of texts exactly as "
        "the transformers tokenizer does).", "",
        f"Greedy answers ({gguf_check.MAX_TOKENS} new tokens at most) of this file in llama.cpp "
        f"against the merged model in transformers (float32): {equal} of {len(agreement)} "
        "prompts equal.", "",
        "| prompt | agreement |", "|---|---|",
        *(f"| {a.prompt} | {a.describe()} |" for a in agreement), "",
        f"Run it: `llama-cli -m {path.name} -cnv`, or as a revthink teacher with "
        f"`augment.teacher: {{backend: llamacpp, model: {path.name}}}`.", "",
    ]
    return "\n".join(lines)


def save_merged(cfg: ExperimentConfig, weights: Path, to: Path) -> None:
    """The student with the adapter merged in, as evaluation builds it, saved with its tokenizer.

    Evaluation loads the base in ``train.student.dtype`` resolved for this machine and merges
    the adapter into it (``engine_hf.merge_adapter``); the same steps here make the saved
    weights the ones that produced the evaluated predictions. A full fine-tune is re-saved.
    """
    from revthink.evaluate.engine_hf import merge_adapter
    from revthink.models import load_model, load_tokenizer

    if weights_kind(weights) == "full":
        model = load_model(ModelConfig(path=str(weights)))
    else:
        model = load_model(cfg.train.student)
        merge_adapter(model, weights)
    model.save_pretrained(to)
    load_tokenizer(cfg.train.student).save_pretrained(to)


def copy_weights(weights: Path, to: Path) -> None:
    """The trained folder's weights and tokenizer files, without the run's bookkeeping."""
    for path in sorted(weights.iterdir()):
        if path.is_file() and path.name not in BOOKKEEPING:
            shutil.copy2(path, to / path.name)


def _artifacts(to: Path, merged: bool) -> list[Artifact]:
    load = "AutoModelForCausalLM" if merged else "peft.AutoPeftModelForCausalLM"
    data = to / "dataset"
    return [
        Artifact(to, f"{load}.from_pretrained({str(to)!r})"),
        Artifact(to / CARD, "the model card"),
        Artifact(data, f"datasets.load_dataset('parquet', data_files='{data}/data/*.parquet')"),
    ]
