"""What makes a written GGUF trustworthy: llama.cpp tokenizes and answers as transformers does.

The pre-tokenizer is chosen by behaviour: each name llama.cpp knows is written into a
vocabulary-only file, and the first whose tokenization of ``PROBE_TEXTS`` (digits, contractions,
runs of spaces and newlines, accents, CJK, emoji, code, chat markers) equals the student's
tokenizer is kept. After the export, the file answers ``PROMPTS`` greedily through the project's
own llama.cpp backend (the ``llamacpp`` teacher), and transformers answers them in float32 from
the merged folder; the model card states whether the texts are equal, or where they part.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from revthink.errors import ExportError
from revthink.export import gguf

PROBE_TEXTS = (
    "Tom has 12345 apples and 3.14 pies; 2,500 + 17 = 2517!",
    "I'm sure they've gone, we'll see. It's HIS car, isn't it?",
    "two  spaces,\tone tab\n\nand   three\n   indented lines   ",
    "Ünïcödé café naïve — “quotes” … 北京 東京 😀 🚀 ½ ² ٣٤",
    "def area(r):\n    return 3.14159 * r ** 2  # pi r^2\n",
    "<|im_start|>user\nWhat is 7 times 8?<|im_end|>\n<|im_start|>assistant\n",
    "   leading spaces and a trailing newline\n",
)
PROMPTS = (
    "What is 17 + 25? Think step by step, then give the answer.",
    "Alice is older than Bob. Bob is older than Carol. Who is the youngest?",
    "A train leaves at 9:40 and the trip takes 85 minutes. When does it arrive?",
    "Name three prime numbers larger than 10.",
)
MAX_TOKENS = 48


@dataclass(frozen=True)
class Agreement:
    """One prompt's greedy answer from transformers and from llama.cpp."""

    prompt: str
    transformers: str
    llama_cpp: str

    @property
    def equal(self) -> bool:
        return self.transformers == self.llama_cpp

    def describe(self) -> str:
        if self.equal:
            return f"equal ({len(self.transformers)} characters)"
        at = next((i for i, (a, b) in enumerate(zip(self.transformers, self.llama_cpp,
                                                     strict=False)) if a != b),
                  min(len(self.transformers), len(self.llama_cpp)))
        return (f"first difference at character {at}: transformers "
                f"{self.transformers[at:at + 20]!r}, llama.cpp {self.llama_cpp[at:at + 20]!r}")


def choose_pre_tokenizer(model_dir: Path) -> str:
    """The first llama.cpp pre-tokenizer that tokenizes like the student; ExportError if none."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    expected = [tokenizer(text).input_ids for text in PROBE_TEXTS]
    misses = {}
    with tempfile.TemporaryDirectory() as folder:
        for pre in gguf.PRE_TOKENIZERS:
            path = gguf.write_vocabulary(model_dir, Path(folder) / f"{pre}.gguf", pre)
            got = _llama_tokens(path, PROBE_TEXTS)
            wrong = [text for text, a, b in zip(PROBE_TEXTS, got, expected, strict=True) if a != b]
            if not wrong:
                return pre
            misses[pre] = wrong[0]
    tried = "; ".join(f"{pre} differs on {text!r}" for pre, text in misses.items())
    raise ExportError(
        f"--gguf: no llama.cpp pre-tokenizer splits text as {model_dir}'s tokenizer does ({tried});"
        f" supported tokenizer families: {', '.join(gguf.PRE_TOKENIZERS)}"
    )


def _llama_tokens(path: Path, texts: tuple[str, ...]) -> list[list[int]]:
    import llama_cpp

    llama = llama_cpp.Llama(str(path), vocab_only=True, verbose=False)
    try:
        return [llama.tokenize(t.encode("utf-8"), add_bos=True, special=True) for t in texts]
    finally:
        llama.close()


def agreement(model_dir: Path, gguf_file: Path, max_tokens: int = MAX_TOKENS) -> list[Agreement]:
    """Greedy answers to ``PROMPTS`` by transformers (float32) and by the GGUF in llama.cpp.

    llama.cpp keeps its attention cache in f16 by default, as users run it, so two answers
    can part where two tokens are within about 1e-2 of each other in logit.
    """
    return [
        Agreement(prompt, a, b) for prompt, a, b in zip(
            PROMPTS, _transformers_answers(model_dir, max_tokens),
            _llama_answers(gguf_file, max_tokens), strict=True)
    ]


def _transformers_answers(model_dir: Path, max_tokens: int) -> list[str]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    answers = []
    for prompt in PROMPTS:
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
        ids = tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
        with torch.inference_mode():
            out = model.generate(ids, max_new_tokens=max_tokens, do_sample=False)
        answers.append(tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True))
    return answers


def _llama_answers(gguf_file: Path, max_tokens: int) -> list[str]:
    from revthink.config import TeacherConfig
    from revthink.teachers.base import GenerationRequest, Message
    from revthink.teachers.llamacpp import LlamaCppTeacher

    teacher: Any = LlamaCppTeacher(
        TeacherConfig(backend="llamacpp", model=str(gguf_file), batch_size=1,
                      context_length=512)
    )
    try:
        results = teacher.generate([
            GenerationRequest((Message("user", prompt),), max_tokens=max_tokens)
            for prompt in PROMPTS
        ])
    finally:
        teacher.close()
    failed = next((r.error for r in results if r.error), None)
    if failed:
        raise ExportError(f"--gguf: llama.cpp could not answer with {gguf_file}: {failed}")
    return [r.texts[0] for r in results]
