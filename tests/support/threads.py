"""Torch's intra-op thread count, set for a block: model tests on small shared machines."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """``n`` threads inside the block, the previous count after it.

    On a 2-core machine shared with other jobs, two threads per process only oversubscribe
    the cores: one is faster.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
