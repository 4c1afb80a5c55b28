"""Teacher backend running a GGUF model with ``llama_cpp.Llama`` in a child process.

llama.cpp generates one sequence about five times faster than transformers on CPU, which makes
it the quick local teacher on machines without a GPU. ``teacher.batch_size`` requests are
decoded together, one token of each per step (``llamacpp_batch``); ``n`` samples are ``n``
sequences seeded ``seed, seed + 1, ...`` (so samples differ yet a run repeats), except that a
greedy request (temperature 0) is decoded once and repeated. The model runs in a child process
(see ``llamacpp_process``), so a crash of the native code is reported as an error and the
augmentation cache keeps every finished call.
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
        self.batch_size = cfg.batch_size
        settings = LlamaSettings(
            model_path=str(path), n_ctx=cfg.context_length, n_threads=n_threads,
            repack=cfg.llamacpp_repack, sequences=cfg.batch_size,
        )
        self.llama: LlamaProcess | None = LlamaProcess(
            settings, engine="teacher backend 'llamacpp'"
        )

    def generate(
        self, requests: Sequence[GenerationRequest], on_result: ResultCallback | None = None
    ) -> list[GenerationResult]:
        """Decode ``batch_size`` requests together, reporting each as its batch finishes."""
        results = []
        for start in range(0, len(requests), self.batch_size):
            chunk = requests[start:start + self.batch_size]
            answers = self.llama.generate([_plain(request) for request in chunk])
            for offset, answer in enumerate(answers):
                result = self._result(answer)
                results.append(result)
                if on_result is not None:
                    on_result(start + offset, result)
        return results

    def close(self) -> None:
        """Stop the model's process."""
        if self.llama is not None:
            self.llama.close()
            self.llama = None

    def _result(self, answer: dict[str, Any]) -> GenerationResult:
        if "error" in answer:
            return GenerationResult(
                error=f"llama.cpp rejected the request: {answer['error']} "
                f"(teacher.context_length={self.context_length})"
            )
        return GenerationResult(
            texts=tuple(answer["texts"]), finish_reasons=tuple(answer["finish_reasons"]),
            prompt_tokens=answer["prompt_tokens"], completion_tokens=answer["completion_tokens"],
        )


def _plain(request: GenerationRequest) -> dict[str, Any]:
    """The request as plain data for the model's process."""
    return {
        "messages": chat_dicts(request.messages), "n": request.n,
        "temperature": request.temperature, "max_tokens": request.max_tokens,
        "seed": request.seed, "stop": list(request.stop),
    }
