"""Greedy decoding that takes finished rows out of the batch.

``model.generate`` keeps every row of a batch in every forward pass until the last row ends:
a row that has stated its answer (or met an end token) after 40 tokens still costs a row of
compute at each of the batch's remaining steps. Here a finished row is dropped from the inputs
and from the KV cache (``Cache.batch_select_indices``) at once, so a batch costs what its rows
actually generate. Choices are the same argmax as ``generate``'s greedy search; positions and
the attention mask follow left padding as ``generate`` builds them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Finished = Callable[[int, list[int]], bool]  # (row, its tokens so far) -> row is done


def greedy_pruned(
    model: Any, input_ids: Any, attention_mask: Any, max_new_tokens: int, finished: Finished
) -> list[list[int]]:
    """New tokens of every row of the left-padded batch, each up to and including its last.

    ``finished`` is asked after each token of a row; the row is decoded no further once it
    says yes, nor after ``max_new_tokens``.
    """
    import torch
    from transformers import DynamicCache

    rows = list(range(input_ids.shape[0]))
    generated: list[list[int]] = [[] for _ in rows]
    cache = DynamicCache(config=model.config)
    tokens, mask = input_ids, attention_mask
    positions = (mask.long().cumsum(-1) - 1).clamp(min=0)
    for _ in range(max_new_tokens):
        logits = model(
            input_ids=tokens, attention_mask=mask, position_ids=positions,
            cache=cache, use_cache=True, logits_to_keep=1,
        ).logits[:, -1]
        chosen = logits.float().argmax(-1).tolist()
        keep = []
        for slot, (row, token) in enumerate(zip(rows, chosen, strict=True)):
            generated[row].append(token)
            if not finished(row, generated[row]):
                keep.append(slot)
        if not keep:
            break
        if len(keep) < len(rows):
            index = torch.tensor(keep, device=mask.device)
            cache.batch_select_indices(index)
            mask, rows, chosen = mask[index], [rows[k] for k in keep], [chosen[k] for k in keep]
        tokens = torch.tensor(chosen, device=mask.device)[:, None]
        positions = mask.long().sum(-1, keepdim=True)
        mask = torch.cat([mask, mask.new_ones(len(rows), 1)], dim=-1)
    return generated
