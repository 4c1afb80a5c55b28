"""Evaluation with vLLM (optional extra ``revthink[vllm]``, one or more GPUs).

The student is loaded once with LoRA enabled; each method's adapter is applied per request
through a ``LoRARequest`` and never merged into the weights. vLLM schedules the prompts itself
(continuous batching), so they are handed over in chunks that are large enough to keep it busy
and small enough that predictions are saved as the run goes. The mapping from our config to
vLLM's arguments is plain Python, checked without vLLM installed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from revthink.config import EvaluateConfig, ModelConfig
from revthink.errors import ModelError, RevthinkError
from revthink.evaluate.engines import (
    AnswerCheck,
    Batch,
    Generation,
    end_token_ids,
    weights_kind,
)
from revthink.models import resolve

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

CHUNK = 256  # prompts per vLLM call
LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)  # max_lora_rank values vLLM accepts


def lora_rank(folders: Sequence[Path]) -> int | None:
    """The smallest ``max_lora_rank`` vLLM accepts that fits every adapter; None: no adapter."""
    ranks = [
        int(json.loads((f / "adapter_config.json").read_text(encoding="utf-8"))["r"])
        for f in folders if weights_kind(f) == "lora"
    ]
    if not ranks:
        return None
    fitting = [r for r in LORA_RANKS if r >= max(ranks)]
    if not fitting:
        raise ModelError(f"LoRA rank {max(ranks)} is above vLLM's largest ({LORA_RANKS[-1]})")
    return fitting[0]


def engine_kwargs(student: ModelConfig, seed: int, rank: int | None) -> dict[str, Any]:
    """Keyword arguments of ``vllm.LLM``: a GGUF student is passed as the file itself."""
    source = resolve(student.path, student.gguf_file)
    kwargs: dict[str, Any] = {
        "model": str(source.gguf_path) if source.gguf_path else source.name_or_path,
        "revision": student.revision,
        "trust_remote_code": student.trust_remote_code,
        "dtype": student.dtype,
        "seed": seed,
    }
    if rank is not None:
        kwargs.update(enable_lora=True, max_lora_rank=rank, max_loras=1)
    return kwargs


def sampling_kwargs(cfg: EvaluateConfig, seed: int, stop_ids: Sequence[int]) -> dict[str, Any]:
    """Keyword arguments of ``vllm.SamplingParams``: greedy unless a temperature is set.

    A request seed makes equal prompts sample equal texts, so the n copies of a prompt that
    sampled decoding sends go unseeded and draw on the engine's seeded generator instead.
    """
    return {
        "n": 1,
        "temperature": cfg.temperature,
        "max_tokens": cfg.max_new_tokens,
        "seed": seed if cfg.temperature > 0 and cfg.decode == "greedy" else None,
        "stop_token_ids": list(stop_ids),
        "skip_special_tokens": True,
    }


def lora_request_args(folder: Path, known: dict[Path, int]) -> tuple[str, int, str]:
    """``LoRARequest`` arguments: a name, a unique positive id (stable per folder), the path."""
    number = known.setdefault(folder.resolve(), len(known) + 1)
    return folder.name, number, str(folder.resolve())


def to_generation(output: Any) -> Generation:
    """A ``Generation`` from a vLLM ``RequestOutput`` (its first and only completion)."""
    completion = output.outputs[0]
    return Generation(completion.text, len(completion.token_ids))


class VLLMEngine:
    """Offline ``vllm.LLM`` with per-request LoRA adapters."""

    def __init__(
        self, cfg: EvaluateConfig, student: ModelConfig, tokenizer: PreTrainedTokenizerBase,
        seed: int, folders: Sequence[Path] = (),
    ) -> None:
        try:
            import vllm
        except ImportError:
            raise RevthinkError(
                "evaluate.engine 'vllm' needs the vLLM package: pip install 'revthink[vllm]'"
            ) from None
        self._vllm = vllm
        self.name = f"vllm:{student.path}"
        self.llm = vllm.LLM(**engine_kwargs(student, seed, lora_rank(folders)))
        stop_ids = end_token_ids(tokenizer, self.llm.get_tokenizer().eos_token_id)
        self.params = vllm.SamplingParams(**sampling_kwargs(cfg, seed, stop_ids))
        self._known: dict[Path, int] = {}
        self.lora: Any = None

    def use_weights(self, folder: Path | None) -> None:
        """Serve ``folder``'s adapter with the next prompts (None: the base student)."""
        self.lora = None
        if folder is None:
            return
        if weights_kind(folder) == "full":
            raise ModelError(
                f"{folder}: evaluate.engine 'vllm' applies LoRA adapters to the loaded student; "
                "evaluate full fine-tunes with evaluate.engine=transformers"
            )
        from vllm.lora.request import LoRARequest

        self.lora = LoRARequest(*lora_request_args(folder, self._known))

    def generate(
        self, prompts: Sequence[list[int]], checks: Sequence[AnswerCheck] | None = None
    ) -> Iterator[Batch]:
        """Complete every prompt, one chunk per vLLM call.

        ``checks`` are not used: vLLM ends an output at an end token or the token limit only;
        its continuous batching frees a finished row's slot at once, so an output that runs on
        after its answer costs its own tokens but does not hold up the others.
        """
        for start in range(0, len(prompts), CHUNK):
            indices = tuple(range(start, min(start + CHUNK, len(prompts))))
            began = time.perf_counter()
            outputs = self.llm.generate(
                [{"prompt_token_ids": prompts[i]} for i in indices], self.params,
                use_tqdm=False, lora_request=self.lora,
            )
            generations = tuple(to_generation(o) for o in outputs)
            yield Batch(indices, generations, time.perf_counter() - began)

    def close(self) -> None:
        self.llm = None
