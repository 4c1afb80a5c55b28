"""Many chat completions decoded together on one llama.cpp context (runs in the model's process).

One sequence at a time leaves a CPU mostly waiting on memory: every generated token reads all
the weights for a single row of activations. Here up to ``n_seq_max`` sequences share each
``llama_decode`` call, one token of each per step, so the weights are read once for all of
them. Each sequence keeps its own KV cells (sequence id = its slot), its own sampler state and
its own stop conditions; a finished one leaves the batch while the others go on.

Sampling follows ``create_chat_completion``'s defaults (top-k 40, top-p 0.95, min-p 0.05,
then temperature), drawn with a numpy generator seeded per sequence, so a request repeats
whatever else shares its batch; temperature 0 is greedy.

A request is a dict ``{messages, temperature, max_tokens, seed, stop}``; each answer is
``{texts, finish_reasons, prompt_tokens, completion_tokens}`` or ``{error}``.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import Any

import numpy as np

TOP_K, TOP_P, MIN_P = 40, 0.95, 0.05


@dataclass
class _Sequence:
    request: int  # index of the request this sample answers
    prompt: list[int]
    max_tokens: int
    temperature: float
    rng: np.random.Generator
    stops: tuple[str, ...]
    tokens: list[int] = field(default_factory=list)
    text: str = ""
    finish: str | None = None
    logits: np.ndarray | None = None  # next-token logits after the last decode


class BatchDecoder:
    """Decodes chat requests in batches on ``llama`` (a ``llama_cpp.Llama`` with n_seq_max)."""

    def __init__(self, llama: Any, context_per_sequence: int) -> None:
        import llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._lib = llama_cpp
        self.llama = llama
        self.context_per_sequence = context_per_sequence
        self.slots = llama_cpp.llama_n_seq_max(llama.ctx)
        self._vocab = llama_cpp.llama_model_get_vocab(llama.model)
        self._n_vocab = llama.n_vocab()
        eos = llama.token_eos()
        self._formatter = Jinja2ChatFormatter(
            template=llama.metadata["tokenizer.chat_template"],
            eos_token=llama._model.token_get_text(eos),
            bos_token=llama._model.token_get_text(llama.token_bos()),
            stop_token_ids=[eos],
        )
        self._batch = llama_cpp.llama_batch_init(max(llama.n_batch, self.slots), 0, 1)

    def close(self) -> None:
        if self._batch is not None:
            self._lib.llama_batch_free(self._batch)
            self._batch = None

    def generate(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Answers in request order; ``n`` samples of one request are ``n`` sequences."""
        answers: list[dict[str, Any]] = [{} for _ in requests]
        sequences = []
        for index, request in enumerate(requests):
            prompt, stops = self._prompt(request)
            needed = len(prompt) + request["max_tokens"]
            if needed > self.context_per_sequence:
                answers[index] = {"error": f"prompt ({len(prompt)} tokens) plus max_tokens "
                                  f"({request['max_tokens']}) exceed {self.context_per_sequence}"}
                continue
            samples = request["n"] if request["temperature"] > 0 else 1
            seed = request["seed"] or 0
            sequences += [
                _Sequence(index, prompt, request["max_tokens"], request["temperature"],
                          np.random.default_rng(seed + i), (*stops, *request["stop"]))
                for i in range(samples)
            ]
        for start in range(0, len(sequences), self.slots):
            self._decode(sequences[start:start + self.slots])
        for index, request in enumerate(requests):
            if "error" not in answers[index]:
                answers[index] = _answer(request, [s for s in sequences if s.request == index])
        return answers

    def _prompt(self, request: dict[str, Any]) -> tuple[list[int], tuple[str, ...]]:
        rendered = self._formatter(messages=request["messages"])
        tokens = self.llama.tokenize(
            rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True
        )
        stop = rendered.stop
        stops = (stop,) if isinstance(stop, str) else tuple(stop or ())
        return tokens, stops

    def _decode(self, group: list[_Sequence]) -> None:
        """Read every prompt, then step all unfinished sequences together until each ends."""
        self._lib.llama_memory_clear(self._lib.llama_get_memory(self.llama.ctx), True)
        pending = [(slot, seq.prompt[i], i) for slot, seq in enumerate(group)
                   for i in range(len(seq.prompt))]
        self._feed(pending, group)
        while True:
            step = []
            for slot, seq in enumerate(group):
                if seq.finish is None:
                    token = self._sample(seq)
                    self._advance(seq, token)
                    if seq.finish is None:
                        step.append((slot, token, len(seq.prompt) + len(seq.tokens) - 1))
            if not step:
                return
            self._feed(step, group)

    def _feed(self, items: list[tuple[int, int, int]], group: list[_Sequence]) -> None:
        """Decode (slot, token, position) items in chunks of n_batch, keeping each sequence's
        logits after its last item (a later chunk's decode overwrites them)."""
        last_of = {slot: k for k, (slot, _, _) in enumerate(items)}
        size = self.llama.n_batch
        for start in range(0, len(items), size):
            chunk = items[start:start + size]
            batch = self._batch
            batch.n_tokens = len(chunk)
            for row, (slot, token, position) in enumerate(chunk):
                batch.token[row] = token
                batch.pos[row] = position
                batch.n_seq_id[row] = 1
                batch.seq_id[row][0] = slot
                batch.logits[row] = last_of[slot] == start + row
            status = self._lib.llama_decode(self.llama.ctx, batch)
            if status != 0:
                raise RuntimeError(f"llama_decode failed with status {status}")
            for row, (slot, _, _) in enumerate(chunk):
                if last_of[slot] == start + row:
                    group[slot].logits = self._logits_of_row(row)

    def _logits_of_row(self, row: int) -> np.ndarray:
        pointer = self._lib.llama_get_logits_ith(self.llama.ctx, row)
        return np.ctypeslib.as_array(
            ctypes.cast(pointer, ctypes.POINTER(ctypes.c_float)), shape=(self._n_vocab,)
        ).copy()

    def _sample(self, seq: _Sequence) -> int:
        logits = seq.logits
        if seq.temperature <= 0:
            return int(np.argmax(logits))
        top = np.argpartition(logits, -TOP_K)[-TOP_K:]
        top = top[np.argsort(logits[top])[::-1]]
        scaled = logits[top].astype(np.float64) / seq.temperature
        probs = np.exp(scaled - scaled.max())
        probs /= probs.sum()
        keep = probs >= MIN_P * probs[0]
        keep &= np.concatenate(([True], np.cumsum(probs)[:-1] < TOP_P))
        probs = np.where(keep, probs, 0.0)
        return int(top[seq.rng.choice(len(top), p=probs / probs.sum())])

    def _advance(self, seq: _Sequence, token: int) -> None:
        if self._lib.llama_vocab_is_eog(self._vocab, token):
            seq.finish = "stop"
            return
        seq.tokens.append(token)
        seq.text = self.llama.detokenize(seq.tokens).decode("utf-8", errors="ignore")
        cuts = [seq.text.find(s) for s in seq.stops if s and s in seq.text]
        if cuts:
            seq.text, seq.finish = seq.text[: min(cuts)], "stop"
        elif len(seq.tokens) >= seq.max_tokens:
            seq.finish = "length"


def _answer(request: dict[str, Any], samples: list[_Sequence]) -> dict[str, Any]:
    repeat = request["n"] // len(samples)
    return {
        "texts": [s.text for s in samples] * repeat,
        "finish_reasons": [s.finish or "length" for s in samples] * repeat,
        "prompt_tokens": len(samples[0].prompt),
        "completion_tokens": sum(len(s.tokens) for s in samples),
    }
