"""GGUF export: tiny random Llama and Qwen2 students with the real SmolLM2 tokenizer, written,
loaded by llama.cpp through the project's own llamacpp teacher, answering as transformers does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from revthink.config import ModelConfig
from revthink.errors import ExportError
from revthink.export import gguf, gguf_check
from revthink.models import load_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(ModelConfig(path="smollm2-135m"))


def tiny_student(folder: Path, tokenizer, arch: str) -> Path:
    """A random two-layer model of ``arch``, weights large enough that greedy choices are not
    near ties, saved with the tokenizer and its chat template."""
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    shape = dict(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                 num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 max_position_embeddings=512, bos_token_id=1, eos_token_id=2)
    torch.manual_seed(0)
    if arch == "llama":  # untied head, grouped-query attention: the rope reordering matters
        model = LlamaForCausalLM(LlamaConfig(**shape, tie_word_embeddings=False))
    else:  # tied head and q/k/v biases
        model = Qwen2ForCausalLM(Qwen2Config(**shape, tie_word_embeddings=True))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" not in name:
                p.normal_(0.0, 0.3)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_the_file_answers_greedily_as_transformers_does(tmp_path, tokenizer, arch):
    student = tiny_student(tmp_path / arch, tokenizer, arch)
    pre = gguf_check.choose_pre_tokenizer(student)
    out = gguf.write(student, tmp_path / f"{arch}.gguf", "f32", pre)
    from gguf import GGUFReader

    reader = GGUFReader(out)
    assert reader.fields["general.architecture"].contents() == arch
    names = {t.name for t in reader.tensors}
    assert ("output.weight" in names) == (arch == "llama")  # a tied head is not written twice
    assert ("blk.0.attn_q.bias" in names) == (arch == "qwen2")
    # 12 tokens: random weights have exact and near ties (one prompt has two tokens of equal
    # logit 16 tokens in), which llama.cpp breaks its own way; a wrong rope or vocabulary
    # parts at once
    agreement = gguf_check.agreement(student, out, max_tokens=12)
    assert [a.describe() for a in agreement if not a.equal] == []
    assert all(a.transformers.strip() for a in agreement)  # a real answer, not two empty ones


@pytest.mark.slow
def test_q8_0_goes_through_llama_cpp_quantize_and_loads(tmp_path, tokenizer):
    from gguf import GGUFReader

    student = tiny_student(tmp_path / "llama", tokenizer, "llama")
    out = gguf.write(student, tmp_path / "m.gguf", "q8_0", "gpt-2")
    kinds = {t.tensor_type.name for t in GGUFReader(out).tensors}
    assert "Q8_0" in kinds and not (tmp_path / "m.f16.gguf").exists()
    assert len(gguf_check.agreement(student, out, max_tokens=4)) == len(gguf_check.PROMPTS)


def test_an_unsupported_architecture_is_refused_before_writing(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["GPT2LMHeadModel"]}))
    with pytest.raises(ExportError, match="GPT2LMHeadModel.*supported: LlamaForCausalLM, "
                                          "Qwen2ForCausalLM"):
        gguf.write(tmp_path, tmp_path / "m.gguf", "f16", "gpt-2")
    assert not (tmp_path / "m.gguf").exists()


def test_a_tokenizer_no_pre_tokenizer_matches_is_refused(monkeypatch, tmp_path, tokenizer):
    student = tiny_student(tmp_path / "llama", tokenizer, "llama")
    monkeypatch.setattr(gguf, "PRE_TOKENIZERS", ("llama-bpe",))  # adds a BOS SmolLM2 does not
    with pytest.raises(ExportError, match="no llama.cpp pre-tokenizer.*llama-bpe differs on"):
        gguf_check.choose_pre_tokenizer(student)


def test_llama_q_and_k_rows_are_reordered_per_head_into_pairs():
    halves = torch.arange(8.0).reshape(8, 1).numpy()  # 2 heads of 4 rows: [a0 a1 | b0 b1]
    assert gguf.pairs_from_halves(halves, 2).ravel().tolist() == [0, 2, 1, 3, 4, 6, 5, 7]
