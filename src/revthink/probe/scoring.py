"""The reversal probe's two measures, pure: completion log-probability and exact match.

Log-probabilities come from teacher-forced logits, so they rank a model's belief in the
correct completion even where greedy decoding misses it (the reversal-curse measure); exact
match asks whether greedy decoding actually writes it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

IGNORE = -100  # label of a position whose token is not scored (prompt, padding)
_NOT_WORD = re.compile(r"[^\w]+")


def completion_logprobs(
    logits: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row: the summed log-probability of its labelled tokens, and how many there are.

    Args:
        logits: (batch, width, vocab) outputs for the input ids; position t predicts t + 1.
        labels: (batch, width) the input ids where a token is scored, ``IGNORE`` elsewhere.

    Returns:
        (sums, counts), each of shape (batch,); sums are in nats, <= 0.
    """
    import torch

    targets = labels[:, 1:]
    scored = targets != IGNORE
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    picked = logp.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (picked * scored).sum(dim=-1), scored.sum(dim=-1)


def normalise(text: str) -> str:
    """Lower case, punctuation and spaces as single spaces: ``The Man, Jr.`` -> ``the man jr``."""
    return _NOT_WORD.sub(" ", text.lower()).strip()


def exact_match(generated: str, completion: str) -> bool:
    """True when the normalised continuation is the completion, or starts with it as whole words.

    A model that names the person and goes on (``Daphne Barrington, the director``) has still
    named them; ``Daphne Barringtons`` has not.
    """
    said, wanted = normalise(generated), normalise(completion)
    return bool(wanted) and (said == wanted or said.startswith(wanted + " "))


def beats_all(right: float, wrong: Sequence[float]) -> bool | None:
    """True when the right answer scores above every wrong one; None when there is none."""
    return right > max(wrong) if wrong else None


def mean(values: Sequence[float]) -> float | None:
    """The mean, or None for no values (a JSON null, never a NaN)."""
    return sum(values) / len(values) if values else None
