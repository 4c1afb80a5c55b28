"""GGUF export written with the ``gguf`` package of the lock, for llama.cpp and its users.

llama.cpp's own ``convert_hf_to_gguf.py`` ships in no package and pins versions that clash with
ours, so the export writes the file itself from the merged transformers folder: the
architecture's hyperparameters, the tensors under llama.cpp's names, and the byte-level BPE
vocabulary with its merges, special tokens and chat template. Two architectures are supported,
``llama`` and ``qwen2``; anything else is refused before a byte is written.

Two things llama.cpp expects differ from transformers:
- Llama's q and k projections: transformers rotates the two halves of each head, llama.cpp
  rotates neighbouring pairs, so their rows are reordered per head (Qwen2 uses the halves in
  llama.cpp too and is written as it is).
- The pre-tokenizer is named, not described: llama.cpp knows a fixed list of splitting rules.
  The export tries the known names on a vocabulary-only file and keeps the one whose
  tokenization equals the student's tokenizer on a fixed set of texts (``gguf_check``); no
  match means no file.

``f32`` and ``f16`` are written directly (1-D tensors, norms and biases, stay f32 as in
llama.cpp); ``q8_0`` quantizes the f16 file with llama.cpp's ``llama_model_quantize``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from revthink.errors import ExportError

TYPES = ("f32", "f16", "q8_0")
# transformers architecture name -> gguf architecture; only these are written
ARCHITECTURES = {"LlamaForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2"}
# llama.cpp pre-tokenizers tried, in order, against the student's tokenizer
PRE_TOKENIZERS = ("gpt-2", "smollm", "qwen2", "llama-bpe")


@dataclass(frozen=True)
class Shape:
    """The hyperparameters llama.cpp reads, from a transformers ``config.json``."""

    arch: str
    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    head_dim: int
    context: int
    vocab: int
    rope_theta: float
    rms_eps: float
    name: str

    @classmethod
    def read(cls, model_dir: Path) -> Shape:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        names = config.get("architectures") or []
        arch = next((ARCHITECTURES[n] for n in names if n in ARCHITECTURES), None)
        if arch is None:
            raise ExportError(
                f"--gguf: {model_dir / 'config.json'}: architecture {names or 'unknown'} is not "
                f"supported; supported: {', '.join(ARCHITECTURES)}"
            )
        rope = config.get("rope_parameters") or config.get("rope_scaling") or {}
        if rope.get("rope_type", rope.get("type", "default")) != "default":
            raise ExportError(
                f"--gguf: {model_dir / 'config.json'}: rope scaling {rope.get('rope_type')!r} "
                "is not supported; only the default rope is written"
            )
        heads = config["num_attention_heads"]
        return cls(
            arch=arch, layers=config["num_hidden_layers"], hidden=config["hidden_size"],
            intermediate=config["intermediate_size"], heads=heads,
            kv_heads=config.get("num_key_value_heads") or heads,
            head_dim=config.get("head_dim") or config["hidden_size"] // heads,
            context=config.get("max_position_embeddings", 4096), vocab=config["vocab_size"],
            rope_theta=float(rope.get("rope_theta", config.get("rope_theta", 10000.0))),
            rms_eps=float(config["rms_norm_eps"]),
            name=str(config.get("_name_or_path") or model_dir.name),
        )


def write(model_dir: Path, out_file: Path, file_type: str, pre: str) -> Path:
    """Write the merged model in ``model_dir`` as ``out_file`` of ``file_type``."""
    if file_type not in TYPES:
        raise ExportError(f"--gguf-type {file_type!r}: expected one of {', '.join(TYPES)}")
    if file_type == "q8_0":
        plain = out_file.with_name(out_file.stem + ".f16.gguf")
        write(model_dir, plain, "f16", pre)
        try:
            quantize(plain, out_file, "q8_0")
        finally:
            plain.unlink(missing_ok=True)
        return out_file
    import gguf

    shape = Shape.read(model_dir)
    writer = _writer(model_dir, out_file, shape, pre)
    ftype = gguf.LlamaFileType.ALL_F32 if file_type == "f32" else gguf.LlamaFileType.MOSTLY_F16
    writer.add_file_type(int(ftype))
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH[shape.arch.upper()], shape.layers)
    for hf_name, array in _tensors(model_dir):
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise ExportError(f"--gguf: tensor {hf_name!r} has no llama.cpp name for {shape.arch}")
        if shape.arch == "llama" and hf_name.endswith(("q_proj.weight", "k_proj.weight")):
            heads = shape.heads if "q_proj" in hf_name else shape.kv_heads
            array = pairs_from_halves(array, heads)
        keep_f32 = file_type == "f32" or array.ndim == 1
        writer.add_tensor(name, array.astype(np.float32 if keep_f32 else np.float16))
    _finish(writer)
    return out_file


def write_vocabulary(model_dir: Path, out_file: Path, pre: str) -> Path:
    """A file with the hyperparameters and vocabulary only: enough for llama.cpp to tokenize."""
    _finish(_writer(model_dir, out_file, Shape.read(model_dir), pre))
    return out_file


def pairs_from_halves(weight: np.ndarray, heads: int) -> np.ndarray:
    """Reorder each head's rows from (first half, second half) to interleaved pairs: the row
    layout llama.cpp's rope expects for Llama's q and k projections."""
    rows = weight.shape[0]
    per_head = weight.reshape(heads, 2, rows // heads // 2, *weight.shape[1:])
    return per_head.swapaxes(1, 2).reshape(weight.shape)


def quantize(source: Path, out_file: Path, file_type: str) -> Path:
    """``source`` (f16 or f32) quantized by llama.cpp into ``out_file``."""
    import llama_cpp

    ftypes = {"q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0}
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftypes[file_type]
    status = llama_cpp.llama_model_quantize(
        str(source).encode(), str(out_file).encode(), llama_cpp.byref(params)
    )
    if status != 0 or not out_file.is_file():
        raise ExportError(f"--gguf: llama.cpp could not quantize {source} to {file_type}")
    return out_file


def _writer(model_dir: Path, out_file: Path, shape: Shape, pre: str) -> Any:
    import gguf

    writer = gguf.GGUFWriter(out_file, shape.arch)
    writer.add_name(shape.name)
    writer.add_context_length(shape.context)
    writer.add_embedding_length(shape.hidden)
    writer.add_block_count(shape.layers)
    writer.add_feed_forward_length(shape.intermediate)
    writer.add_head_count(shape.heads)
    writer.add_head_count_kv(shape.kv_heads)
    writer.add_rope_dimension_count(shape.head_dim)
    writer.add_rope_freq_base(shape.rope_theta)
    writer.add_layer_norm_rms_eps(shape.rms_eps)
    writer.add_vocab_size(shape.vocab)
    _add_vocabulary(writer, model_dir, shape.vocab, pre)
    return writer


def _add_vocabulary(writer: Any, model_dir: Path, size: int, pre: str) -> None:
    """Tokens by id (ids the tokenizer lacks are padding), their types, merges, special ids."""
    import gguf
    from transformers import AutoTokenizer

    spec = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    model, decoder = spec.get("model", {}).get("type"), (spec.get("decoder") or {}).get("type")
    if model != "BPE" or decoder != "ByteLevel":
        raise ExportError(
            f"--gguf: {model_dir / 'tokenizer.json'}: a {model} tokenizer with a {decoder} "
            "decoder is not supported; supported: byte-level BPE (GPT-2 style, as in SmolLM2 "
            "and Qwen2)"
        )
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    by_id = {i: token for token, i in tokenizer.get_vocab().items()}
    added = tokenizer.added_tokens_decoder
    tokens = [by_id.get(i, f"[PAD{i}]") for i in range(size)]
    types = [
        gguf.TokenType.UNUSED if i not in by_id
        else gguf.TokenType.NORMAL if i not in added
        else gguf.TokenType.CONTROL if added[i].special
        else gguf.TokenType.USER_DEFINED
        for i in range(size)
    ]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    gguf.SpecialVocab(model_dir, load_merges=True, n_vocab=size).add_to_gguf(writer, quiet=True)


def _tensors(model_dir: Path) -> Iterator[tuple[str, np.ndarray]]:
    """Every saved tensor as float32 numpy (bf16 has no numpy type, so through torch)."""
    import torch
    from safetensors import safe_open

    files = sorted(model_dir.glob("*.safetensors"))
    if not files:
        raise ExportError(f"--gguf: {model_dir} holds no .safetensors weights")
    for file in files:
        with safe_open(file, framework="pt") as f:
            for name in f.keys():  # noqa: SIM118 - safe_open has no __iter__
                yield name, f.get_tensor(name).to(torch.float32).numpy()


def _finish(writer: Any) -> None:
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
