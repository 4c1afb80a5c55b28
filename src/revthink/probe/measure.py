"""A model's answers to probe examples: completion log-probabilities and greedy continuations.

Prompts are rendered and tokenized exactly as training rows are (``prompting.render_prompt``
and ``encode_prompt``), so a fine-tuned student is asked in the form it learnt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from revthink.evaluate.engine_hf import HFEngine, plan_batches
from revthink.probe.scoring import IGNORE, completion_logprobs
from revthink.prompting import Template, encode_prompt, render_prompt
from revthink.train.collator import ObjectiveCollator
from revthink.train.objectives import ObjectiveExample

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


def prompt_ids(
    tokenizer: PreTrainedTokenizerBase, template: Template, example: ObjectiveExample
) -> list[int]:
    return encode_prompt(tokenizer, render_prompt(tokenizer, example.messages, template), template)


def scored_row(
    tokenizer: PreTrainedTokenizerBase, template: Template, example: ObjectiveExample
) -> dict[str, list[int]]:
    """``{input_ids, labels}``: prompt then completion, only the completion's tokens labelled.

    The end-of-turn marker training appends is not scored: the measure is the completion's
    own probability, whether or not the model would stop after it.
    """
    prompt = prompt_ids(tokenizer, template, example)
    completion = tokenizer(example.completion, add_special_tokens=False).input_ids
    return {"input_ids": prompt + completion, "labels": [IGNORE] * len(prompt) + completion}


def logprobs(
    model: Any, tokenizer: PreTrainedTokenizerBase, template: Template,
    examples: Sequence[ObjectiveExample], batch_size: int,
) -> list[tuple[float, int]]:
    """(summed log-probability in nats, completion tokens) per example, in input order."""
    import torch

    rows = [scored_row(tokenizer, template, ex) for ex in examples]
    collate = ObjectiveCollator(tokenizer.pad_token_id, ("scored",))
    found: list[tuple[float, int]] = [(0.0, 0)] * len(rows)
    for indices in plan_batches([len(r["input_ids"]) for r in rows], batch_size):
        batch = collate([{"scored": rows[i]} for i in indices])["scored"]
        with torch.inference_mode():
            logits = model(
                input_ids=batch["input_ids"].to(model.device),
                attention_mask=batch["attention_mask"].to(model.device),
            ).logits
        sums, counts = completion_logprobs(logits.cpu(), batch["labels"])
        for i, total, count in zip(indices, sums.tolist(), counts.tolist(), strict=True):
            found[i] = (total, count)
    return found


def greedy(
    engine: HFEngine, tokenizer: PreTrainedTokenizerBase, template: Template,
    examples: Sequence[ObjectiveExample],
) -> list[str]:
    """The engine's greedy continuation of every example's prompt, in input order."""
    texts = [""] * len(examples)
    prompts = [prompt_ids(tokenizer, template, ex) for ex in examples]
    for batch in engine.generate(prompts):
        for i, generation in zip(batch.indices, batch.generations, strict=True):
            texts[i] = generation.text
    return texts
