"""Evaluation with transformers: batched generation on CPU or one GPU.

Prompts are sorted by length and cut into batches of ``evaluate.batch_size`` so that left
padding wastes little; each row stops at an end token (EOS or the chat template's end of turn)
or, with ``evaluate.stop_after_answer``, as soon as its final-answer sentence is complete (a
looping student would otherwise run to the token limit after answering; the text after that
sentence is dropped). Greedy decoding then runs in ``decoding.greedy_pruned``, which also takes
each finished row out of the batch and its KV cache, so a batch costs what its rows generate;
sampling, and greedy decoding without the answer stop, use ``model.generate``.

A LoRA adapter is merged into the student's weights for generation (``evaluate.merge_lora``):
one matrix product per layer instead of three. The weights it changes are copied first and put
back when the engine switches to other weights, so every method sees the untouched base. A full
fine-tune folder is loaded as a model of its own. On CPU, torch uses the cores that other
processes leave free (``evaluate.threads``).
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from revthink.config import EvaluateConfig, ModelConfig
from revthink.evaluate.decoding import greedy_pruned
from revthink.evaluate.engines import (
    AnswerCheck,
    Batch,
    Generation,
    end_token_ids,
    weights_kind,
)
from revthink.models import load_model

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

# Where a sentence or line has ended: what must follow the answer before its value is final
# ("The answer is 3." may still become "3.5"; "The answer is 3. " or a new line may not).
_BOUNDARY = re.compile(r"[.!?](?=\s)|\n")


def plan_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Prompt indices per batch, longest prompts first (a memory error shows up at once)."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def cut_at_end(ids: Sequence[int], end_ids: set[int]) -> tuple[list[int], int]:
    """The answer's tokens before the first end token, and the tokens generated for it.

    The end token itself was generated, so it is counted; padding after it is not.
    """
    for position, token in enumerate(ids):
        if token in end_ids:
            return list(ids[:position]), position + 1
    return list(ids), len(ids)


def free_cores(interval: float = 0.5) -> int:
    """CPU cores this process may use minus those other processes keep busy (at least 1).

    Other processes' load is measured over ``interval`` seconds from ``/proc`` (all busy CPU
    time minus this process's own), not read from the load average: right after training in
    the same process the load average still counts training's own threads and would leave
    generation one core of two. Where ``/proc`` is missing, the load average stands in.
    """
    if hasattr(os, "sched_getaffinity"):
        usable = len(os.sched_getaffinity(0))
    else:  # macOS, Windows: every core
        usable = os.cpu_count() or 1
    busy = others_busy(interval)
    if busy is None:
        busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return max(1, min(usable, math.floor(usable - busy + 0.5)))


def others_busy(interval: float) -> float | None:
    """Cores' worth of CPU time other processes used over ``interval`` s; None without /proc."""
    try:
        start, start_own = cpu_seconds()
        time.sleep(interval)
        end, end_own = cpu_seconds()
    except (OSError, ValueError, IndexError):
        return None
    return max(0.0, ((end - start) - (end_own - start_own)) / interval)


def cpu_seconds() -> tuple[float, float]:
    """Busy CPU seconds of the whole machine (``/proc/stat``) and of this process so far."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ticks = [int(x) for x in fields]
    busy = sum(ticks) - ticks[3] - (ticks[4] if len(ticks) > 4 else 0)  # minus idle, iowait
    own = os.times()
    return busy / os.sysconf("SC_CLK_TCK"), own.user + own.system


def answered_prefix(text: str, check: AnswerCheck) -> str | None:
    """``text`` up to the sentence or line end that completes its final answer, if it has one.

    Only a boundary followed by more text counts, so an answer that may still grow ("3." before
    "5") is never taken early.
    """
    ends = [m.end() for m in _BOUNDARY.finditer(text)]
    if not ends or not check(text[: ends[-1]]):
        return None
    head = next(end for end in ends if check(text[:end]))
    return text[:head].rstrip()


class AnswerStop:
    """A per-row stopping criterion for ``generate``: stop rows whose answer is complete.

    Called after every generated token with the whole sequence so far; a row is examined only
    when its newest token holds white space, since only then can a sentence have ended.
    ``texts[row]`` keeps the answer text and ``generated[row]`` the tokens generated up to the
    stop.
    """

    def __init__(
        self, tokenizer: PreTrainedTokenizerBase, start: int, checks: Sequence[AnswerCheck],
        spaced: frozenset[int],
    ) -> None:
        self.tokenizer, self.start, self.checks, self.spaced = tokenizer, start, checks, spaced
        self.texts: list[str | None] = [None] * len(checks)
        self.generated: list[int | None] = [None] * len(checks)

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        import torch

        done = [self.check(row, ids[self.start :]) for row, ids in enumerate(input_ids.tolist())]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    def check(self, row: int, ids: list[int]) -> bool:
        """True once ``row``'s answer sentence is complete in its new tokens ``ids``."""
        if self.texts[row] is not None:
            return True
        if not ids or ids[-1] not in self.spaced:
            return False
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        head = answered_prefix(text, self.checks[row])
        if head is not None:
            self.texts[row], self.generated[row] = head, len(ids)
        return head is not None


def spaced_tokens(tokenizer: PreTrainedTokenizerBase) -> frozenset[int]:
    """Ids of the vocabulary entries whose text contains white space."""
    pieces = tokenizer.batch_decode([[i] for i in range(len(tokenizer))])
    return frozenset(i for i, piece in enumerate(pieces) if any(c.isspace() for c in piece))


def merge_adapter(model: Any, folder: Path) -> list[tuple[Any, Any]]:
    """Merge the LoRA adapter in ``folder`` into ``model`` in place.

    Returns (parameter, copy of its original value) for every weight the merge changes, which
    ``restore`` puts back exactly; only the adapted layers are copied, not the whole model.
    """
    from peft import PeftModel

    wrapped = PeftModel.from_pretrained(model, str(folder))
    originals = lora_base_copies(wrapped)
    wrapped.merge_and_unload()
    return originals


def lora_base_copies(model: Any) -> list[tuple[Any, Any]]:
    """(parameter, copy of its value) for every base weight and bias a LoRA merge changes."""
    from peft.tuners.lora import LoraLayer

    originals = []
    for module in model.modules():
        if isinstance(module, LoraLayer):
            base = module.get_base_layer()
            for parameter in (base.weight, getattr(base, "bias", None)):
                if parameter is not None:
                    originals.append((parameter, parameter.detach().clone()))
    return originals


def restore(originals: Sequence[tuple[Any, Any]]) -> None:
    """Put back the weights ``merge_adapter`` changed."""
    import torch

    with torch.no_grad():
        for parameter, original in originals:
            parameter.copy_(original)


def to_generations(
    tokenizer: PreTrainedTokenizerBase, rows: Sequence[list[int]], end_ids: set[int],
    stop: AnswerStop | None,
) -> tuple[Generation, ...]:
    """Each row's new tokens as text, cut at its end token or where its answer was complete."""
    generations = []
    for row, ids in enumerate(rows):
        kept, count = cut_at_end(ids, end_ids)
        text = tokenizer.decode(kept, skip_special_tokens=True)
        stopped = stop.generated[row] if stop is not None else None
        if stopped is not None and stopped < count:
            text, count = stop.texts[row] or "", stopped
        generations.append(Generation(text, count))
    return tuple(generations)


class HFEngine:
    """A transformers causal LM with optional peft adapters."""

    def __init__(
        self, cfg: EvaluateConfig, student: ModelConfig, tokenizer: PreTrainedTokenizerBase,
        seed: int,
    ) -> None:
        import torch

        self.name = f"transformers:{student.path}"
        self.cfg = cfg
        self.seed = seed
        self.tokenizer = tokenizer
        self.base = load_model(student)
        if self.base.device.type == "cpu":
            torch.set_num_threads(cfg.threads or free_cores())
        self.model: Any = self.base
        self.merged: list[tuple[Any, Any]] = []  # weights to put back before switching
        self.end_ids = end_token_ids(tokenizer, self.base.generation_config.eos_token_id)
        self.spaced = spaced_tokens(tokenizer) if cfg.stop_after_answer else frozenset()

    def use_weights(self, folder: Path | None) -> None:
        """Switch to the adapter or model in ``folder`` (None: the untouched student)."""
        from peft import PeftModel

        if isinstance(self.model, PeftModel):
            self.model.unload()  # takes the LoRA layers out of the base, unmerged
        restore(self.merged)
        self.model, self.merged = self.base, []
        if folder is None:
            return
        if weights_kind(folder) == "full":
            self.model = load_model(ModelConfig(path=str(folder)), str(self.base.device))
        elif self.cfg.merge_lora:
            self.merged = merge_adapter(self.base, folder)
        else:
            self.model = PeftModel.from_pretrained(self.base, str(folder)).eval()

    def generate(
        self, prompts: Sequence[list[int]], checks: Sequence[AnswerCheck] | None = None
    ) -> Iterator[Batch]:
        """Complete every prompt, one length-sorted batch at a time.

        ``checks[i]`` tells whether a text already states prompt i's final answer; with
        ``evaluate.stop_after_answer`` a row ends at the end of that sentence.
        """
        import torch

        if self.cfg.temperature > 0:
            torch.manual_seed(self.seed)
        for indices in plan_batches([len(p) for p in prompts], self.cfg.batch_size):
            start = time.perf_counter()
            row_checks = [checks[i] for i in indices] if checks is not None else None
            generations = self._run([prompts[i] for i in indices], row_checks)
            yield Batch(tuple(indices), generations, time.perf_counter() - start)

    def close(self) -> None:
        self.model = self.base = None

    def _run(
        self, prompts: list[list[int]], checks: list[AnswerCheck] | None
    ) -> tuple[Generation, ...]:
        import torch
        from transformers import StoppingCriteriaList

        encoded = self.tokenizer.pad(
            {"input_ids": prompts}, padding=True, return_tensors="pt"
        ).to(self.model.device)
        start = encoded["input_ids"].shape[1]
        end_ids = set(self.end_ids)
        stop = None
        if checks is not None and self.cfg.stop_after_answer:
            stop = AnswerStop(self.tokenizer, start, checks, self.spaced)
        with torch.inference_mode():
            if stop is not None and self.cfg.temperature == 0:
                rows = greedy_pruned(
                    self.model, encoded["input_ids"], encoded["attention_mask"],
                    self.cfg.max_new_tokens,
                    lambda row, ids: ids[-1] in end_ids or stop.check(row, ids),
                )
            else:
                criteria = StoppingCriteriaList([stop] if stop is not None else [])
                output = self.model.generate(
                    **encoded, generation_config=self._generation_config(),
                    stopping_criteria=criteria,
                )
                rows = output[:, start:].tolist()
        return to_generations(self.tokenizer, rows, end_ids, stop)

    def _generation_config(self):  # -> transformers.GenerationConfig
        """Only our settings: the checkpoint's own sampling defaults must not leak in."""
        from transformers import GenerationConfig

        sampling = self.cfg.temperature > 0
        return GenerationConfig(
            max_new_tokens=self.cfg.max_new_tokens,
            do_sample=sampling,
            temperature=self.cfg.temperature if sampling else None,
            top_p=1.0 if sampling else None,
            top_k=0 if sampling else None,
            eos_token_id=self.end_ids,
            pad_token_id=self.tokenizer.pad_token_id,
            use_cache=True,
        )
