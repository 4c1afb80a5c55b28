"""The engine a config asks for, opened: the one module that knows every engine.

The engines import their shared types from ``engines``; only this module imports the engines,
each when it is chosen (vLLM is an optional extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from revthink.config import EvaluateConfig, ModelConfig
from revthink.evaluate.engines import Engine

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


def open_engine(
    cfg: EvaluateConfig, student: ModelConfig, tokenizer: PreTrainedTokenizerBase, seed: int,
    folders: Sequence[Path] = (),
) -> Engine:
    """The engine named by ``evaluate.engine`` with the student loaded.

    ``folders`` lists every set of weights the run will use; vLLM sizes its LoRA slots by them.
    """
    if cfg.engine == "vllm":
        from revthink.evaluate.engine_vllm import VLLMEngine

        return VLLMEngine(cfg, student, tokenizer, seed, folders)
    from revthink.evaluate.engine_hf import HFEngine

    return HFEngine(cfg, student, tokenizer, seed)
