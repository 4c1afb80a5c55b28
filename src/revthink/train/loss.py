"""The causal-LM loss with logits only where a label is set.

A causal LM computes vocabulary logits at every position, but the loss reads them only where
the next token carries a label: with completion-only labels (the default ``loss_on``) that is
the reasoning, not the prompt or the padding. SmolLM2's head has 49,152 outputs, so the full
logits are a fifth of a training step's FLOPs and about 30% of its time on a CPU. Here a
forward pre-hook on the output head hands it only the hidden states of labelled positions;
the model's own forward still runs end to end, so wrappers that hook into it (peft,
DistributedDataParallel, FSDP, autocast) behave as they do for ``model(**batch).loss``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F

IGNORE = -100  # the label of positions without loss (transformers' convention)


def completion_loss(model: Any, batch: Mapping[str, torch.Tensor], head: torch.nn.Module) -> (
    torch.Tensor
):
    """Mean next-token cross-entropy over labelled positions, as transformers computes it.

    ``batch`` holds ``input_ids``, ``attention_mask`` and ``labels`` (B, T); ``head`` is the
    model's output projection (``get_output_embeddings()`` of the unwrapped model). Equal to
    ``model(**batch).loss`` (mean over the labelled tokens, in fp32), without the logits of the
    other positions.
    """
    targets = batch["labels"][:, 1:]
    labelled = targets != IGNORE
    with _only_positions(head, labelled):
        logits = model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False
        ).logits
    return F.cross_entropy(logits.float(), targets[labelled], ignore_index=IGNORE)


@contextmanager
def _only_positions(head: torch.nn.Module, labelled: torch.Tensor) -> Iterator[None]:
    """While open, ``head`` sees the hidden states of positions ``t`` with ``labelled[:, t]``.

    Position ``t`` predicts token ``t + 1``, so the hidden states are cut to the first T - 1
    positions before selecting; the head returns (N, vocabulary) for the N labelled tokens.
    """

    def select(module: torch.nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
        hidden = args[0]
        return (hidden[:, :-1][labelled], *args[1:])

    handle = head.register_forward_pre_hook(select)
    try:
        yield
    finally:
        handle.remove()
