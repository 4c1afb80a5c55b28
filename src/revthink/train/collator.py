"""Token ids and label masks for objective examples, and the batch collator.

A row is ``prompt ids + completion ids``: the prompt is rendered by
``revthink.prompting.render_prompt`` and tokenized on its own, as evaluation tokenizes it
before generating; the completion is the target text plus the template's end-of-turn marker
(``completion_suffix``), so the student learns to stop. With ``loss_on: completion`` only
completion tokens (end-of-turn included) carry labels; with ``full`` every token does (the
published code's choice). Padding never carries a label: it is masked by position, not by
token id, because many tokenizers pad with their end-of-turn token.

Nothing is ever truncated: a target cut by ``max_length`` loses its answer sentence and its
end-of-turn token, and a student trained on such rows learns to ramble on without answering.
A unit fits whole or is dropped whole, and every drop is counted per objective.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from revthink.prompting import Template, completion_suffix, encode_prompt, render_prompt
from revthink.train.methods import Unit
from revthink.train.objectives import ObjectiveExample

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

IGNORE = -100
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Encoded:
    """One tokenized objective example: ``labels[i]`` is IGNORE where no loss is taken."""

    input_ids: list[int]
    labels: list[int]


@dataclass(frozen=True)
class Encoder:
    """Tokenizes objective examples the same way for every method."""

    tokenizer: PreTrainedTokenizerBase
    template: Template = "chat"
    loss_on: Literal["completion", "full"] = "completion"
    max_length: int = 512

    def encode(self, example: ObjectiveExample) -> Encoded:
        """The whole example, however long: ``encode_units`` decides whether it fits."""
        prompt = render_prompt(self.tokenizer, example.messages, self.template)
        prompt_ids = encode_prompt(self.tokenizer, prompt, self.template)
        target = example.completion + completion_suffix(self.tokenizer, self.template)
        target_ids = self.tokenizer(target, add_special_tokens=False).input_ids
        ids = prompt_ids + target_ids
        if self.loss_on == "full":
            return Encoded(ids, list(ids))
        return Encoded(ids, [IGNORE] * len(prompt_ids) + target_ids)


@dataclass
class LengthReport:
    """Which rows did not fit ``max_length``: dropped whole, counted per objective.

    ``cut[o]`` counts the examples of objective ``o`` longer than ``max_length`` (a dropped
    unit may count under several objectives); ``longest[o]`` is the longest example of ``o`` in
    tokens, fitting or not, so the summary shows how much room there is or how much is missing.
    """

    max_length: int
    kept: int = 0
    cut: Counter[str] = field(default_factory=Counter)
    dropped_ids: list[str] = field(default_factory=list)
    longest: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "max_length": self.max_length, "kept_rows": self.kept,
            "dropped_rows": len(self.dropped_ids), "cut_by_objective": dict(self.cut),
            "dropped_problem_ids": self.dropped_ids, "longest_tokens": self.longest,
        }

    def describe(self) -> str:
        """One line for the terminal: what was dropped and how to keep it."""
        if not self.dropped_ids:
            return f"{self.kept} rows, none longer than max_length={self.max_length}"
        cut = ", ".join(f"{name} {n}" for name, n in self.cut.items())
        longest = max(self.longest.values())
        return (
            f"{len(self.dropped_ids)} of {self.kept + len(self.dropped_ids)} rows dropped, longer "
            f"than max_length={self.max_length} (targets cut: {cut}; longest {longest} tokens; "
            f"first problems: {', '.join(self.dropped_ids[:5])}); raise train.max_length to "
            "keep them"
        )


def encode_units(
    encoder: Encoder, units: Sequence[Unit]
) -> tuple[list[dict[str, Any]], LengthReport]:
    """Dataset rows ``{objective: {input_ids, labels}, ..., "length": n}`` and the length report.

    A unit is dropped whole when any of its objectives is longer than ``max_length``, so that
    the objectives of a batch always come from the same problems.
    """
    rows: list[dict[str, Any]] = []
    report = LengthReport(encoder.max_length)
    for unit in units:
        encoded = {name: encoder.encode(example) for name, example in unit.items()}
        for name, enc in encoded.items():
            report.longest[name] = max(report.longest.get(name, 0), len(enc.input_ids))
        cut = [name for name, enc in encoded.items() if len(enc.input_ids) > encoder.max_length]
        if cut:
            report.cut.update(cut)
            report.dropped_ids.append(next(iter(unit.values())).problem_id)
            continue
        row: dict[str, Any] = {
            name: {"input_ids": enc.input_ids, "labels": enc.labels}
            for name, enc in encoded.items()
        }
        row["length"] = sum(len(enc.input_ids) for enc in encoded.values())
        rows.append(row)
    report.kept = len(rows)
    if report.dropped_ids:
        log.warning("%s", report.describe())
    return rows, report


@dataclass(frozen=True)
class ObjectiveCollator:
    """Pads each objective of a batch on its own.

    Returns ``{objective: {input_ids, attention_mask, labels}}``, tensors of shape (batch, width).
    """

    pad_token_id: int
    objectives: tuple[str, ...]

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, torch.Tensor]]:
        return {name: self._pad([row[name] for row in rows]) for name in self.objectives}

    def _pad(self, items: Sequence[Mapping[str, list[int]]]) -> dict[str, torch.Tensor]:
        import torch

        width = max(len(item["input_ids"]) for item in items)
        ids = torch.full((len(items), width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(items), width), dtype=torch.long)
        for i, item in enumerate(items):
            n = len(item["input_ids"])
            ids[i, :n] = torch.tensor(item["input_ids"])
            labels[i, :n] = torch.tensor(item["labels"])
            mask[i, :n] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}
