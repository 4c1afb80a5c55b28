"""Teacher backend running a GGUF model with ``llama_cpp.Llama`` in a child process.

llama.cpp generates one sequence about five times faster than transformers on CPU, which makes
it the quick local teacher on machines without a GPU. It completes one chat at a time: ``n``
samples are ``n`` calls with seeds ``seed, seed + 1, ...`` (so samples differ yet a run
repeats), except that a greedy request (temperature 0) is answered once and repeated. The
model runs in a child process (see ``llamacpp_process``), so a crash of the native code is
reported as an error and the augmentation cache keeps every finished call.
``llama-cpp-python`` is an optional extra, imported only when this backend is built.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

from revthink.config import TeacherConfig
from revthink.errors import ConfigError, ModelError, RevthinkError
from revthink.models import resolve
from revthink.teachers.base import GenerationRequest, GenerationResult, ResultCallback, chat_dicts
from revthink.teachers.llamacpp_process import LlamaProcess, LlamaSettings


class LlamaCppTeacher:
    """One ``llama_cpp.Llama`` on CPU threads (or offloaded to a GPU when built for one)."""

    def __init__(self, cfg: TeacherConfig, n_threads: int | None = None) -> None:
        """Load the model; ``n_threads`` None lets llama.cpp choose from the core count."""
        if not cfg.model:
            raise ConfigError("key 'augment.teacher.model': expected a .gguf file or an alias")
        if importlib.util.find_spec("llama_cpp") is None:
            raise RevthinkError(
                "teacher backend 'llamacpp' needs llama-cpp-python: "
                "pip install 'revthink[llamacpp]'"
            )
        path = resolve(cfg.model, cfg.gguf_file).gguf_path
        if path is None or not path.is_file():
            raise ModelError(
                f"teacher backend 'llamacpp' needs a GGUF file; teacher.model={cfg.model!r} "
                f"with teacher.gguf_file={cfg.gguf_file!r} names none on disk"
            )
        self.context_length = cfg.context_length
        self.name = f"llamacpp:{cfg.model}" + (f":{cfg.gguf_file}" if cfg.gguf_file else "")
        # One thread count for both phases: llama.cpp otherwise reads prompts with every core,
        # which stalls badly when the cores are shared.
        settings = LlamaSettings(
            model_path=str(path), n_ctx=cfg.context_length, n_threads=n_threads,
            repack=cfg.llamacpp_repack,
        )
        self.llama: LlamaProcess | None = LlamaProcess(settings, engine="teacher backend 'llamacpp'")

    def generate(
        self, requests: Sequence[GenerationRequest], on_result: ResultCallback | None = None
    ) -> list[GenerationResult]:
        """Complete the requests one after another, reporting each as it finishes."""
        results = []
        for index, request in enumerate(requests):
            result = self._complete(request)
            results.append(result)
            if on_result is not None:
                on_result(index, result)
        return results

    def close(self) -> None:
        """Stop the model's process."""
        if self.llama is not None:
            self.llama.close()
            self.llama = None

    def _complete(self, request: GenerationRequest) -> GenerationResult:
        calls = request.n if request.temperature > 0 else 1
        try:
            outputs = [self._call(request, i) for i in range(calls)]
        except ValueError as err:  # mostly a prompt that does not fit the context window
            return GenerationResult(
                error=f"llama.cpp rejected the request (a prompt plus max_tokens longer than "
                f"teacher.context_length={self.context_length}?): {err}"
            )
        choices = [out["choices"][0] for out in outputs]
        repeat = request.n // calls
        return GenerationResult(
            texts=tuple(c["message"]["content"] or "" for c in choices) * repeat,
            finish_reasons=tuple(c["finish_reason"] or "stop" for c in choices) * repeat,
            prompt_tokens=outputs[0]["usage"]["prompt_tokens"],
            completion_tokens=sum(out["usage"]["completion_tokens"] for out in outputs),
        )

    def _call(self, request: GenerationRequest, sample: int) -> dict[str, Any]:
        return self.llama.chat(
            messages=chat_dicts(request.messages),
            temperature=request.temperature,
            max_tokens=request.max_tokens,
            seed=None if request.seed is None else request.seed + sample,
            stop=list(request.stop) or None,
        )
