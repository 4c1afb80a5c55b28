"""Student loading: remote code needs an explicit opt-in; dtype auto follows the hardware."""

from __future__ import annotations

import json

import pytest

from revthink.config import ModelConfig
from revthink.errors import ModelError
from revthink.models import load_model, load_tokenizer, read_cpu_flags, resolve_dtype


@pytest.fixture
def custom_code_model(tmp_path):
    """A local folder whose config asks for model code of its own (``auto_map``)."""
    (tmp_path / "config.json").write_text(json.dumps({
        "model_type": "revthink_custom",
        "architectures": ["CustomForCausalLM"],
        "auto_map": {
            "AutoConfig": "configuration_custom.CustomConfig",
            "AutoModelForCausalLM": "modeling_custom.CustomForCausalLM",
        },
    }))
    (tmp_path / "configuration_custom.py").write_text("raise RuntimeError('must not run')\n")
    (tmp_path / "modeling_custom.py").write_text("raise RuntimeError('must not run')\n")
    return tmp_path


def test_remote_code_is_refused_with_a_clear_message(custom_code_model):
    with pytest.raises(ModelError, match="trust_remote_code: true"):
        load_model(ModelConfig(path=str(custom_code_model)), "cpu")


def test_remote_code_refused_for_the_tokenizer_too(custom_code_model):
    (custom_code_model / "tokenizer_config.json").write_text(json.dumps(
        {"auto_map": {"AutoTokenizer": ["tokenization_custom.CustomTokenizer", None]}}
    ))
    with pytest.raises(ModelError, match="trust_remote_code"):
        load_tokenizer(ModelConfig(path=str(custom_code_model)))


AMD_EPYC = frozenset({"fpu", "avx2", "avx512f", "avx512bw", "avx512_vnni"})  # no native bf16
SAPPHIRE_RAPIDS = AMD_EPYC | {"amx_bf16", "amx_tile", "avx512_bf16"}
ZEN4 = AMD_EPYC | {"avx512_bf16"}


@pytest.mark.parametrize(("flags", "expected"), [
    (SAPPHIRE_RAPIDS, "bfloat16"), (ZEN4, "bfloat16"), (AMD_EPYC, "float32"),
    (frozenset(), "float32"),
])
def test_auto_dtype_on_a_cpu_follows_its_bf16_flags(flags, expected):
    assert resolve_dtype("auto", "cpu", cpu_flags=flags) == expected


def test_auto_dtype_on_a_gpu_and_explicit_dtypes():
    assert resolve_dtype("auto", "cuda", cuda_bf16=True) == "bfloat16"
    assert resolve_dtype("auto", "cuda:1", cuda_bf16=False) == "float32"
    assert resolve_dtype("auto", "mps", cpu_flags=SAPPHIRE_RAPIDS) == "float32"
    assert resolve_dtype("float32", "cpu", cpu_flags=SAPPHIRE_RAPIDS) == "float32"
    assert resolve_dtype("bfloat16", "cpu", cpu_flags=AMD_EPYC) == "bfloat16"


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu avx512f amx_bf16 amx_tile\n\n"
        "processor\t: 1\nflags\t\t: fpu avx512f amx_bf16 amx_tile\n"
    )
    assert read_cpu_flags(cpuinfo) == frozenset({"fpu", "avx512f", "amx_bf16", "amx_tile"})
    assert read_cpu_flags(tmp_path / "missing") == frozenset()
