"""GGUF export with llama.cpp's own converter, ``convert_hf_to_gguf.py``.

No package of the lock ships that converter: ``llama-cpp-python`` installs the compiled library
and its Python bindings only, and ``gguf`` the GGUF reader/writer with its ``gguf_*`` tools.
The converter lives in the llama.cpp source tree, so the export runs it from a checkout named by
``--llama-cpp`` or ``$LLAMA_CPP_DIR``, in this Python, on the merged model folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from revthink.errors import ExportError

CONVERTER = "convert_hf_to_gguf.py"
ENV = "LLAMA_CPP_DIR"
INSTALL = (
    "git clone https://github.com/ggml-org/llama.cpp && pip install -r "
    "llama.cpp/requirements/requirements-convert_hf_to_gguf.txt, then pass --llama-cpp "
    f"llama.cpp (or set ${ENV})"
)


def find_converter(llama_cpp: Path | None) -> Path:
    """``convert_hf_to_gguf.py`` of the llama.cpp checkout given, or of ``$LLAMA_CPP_DIR``."""
    root = llama_cpp or (Path(os.environ[ENV]) if os.environ.get(ENV) else None)
    if root is None:
        raise ExportError(
            f"--gguf needs llama.cpp's {CONVERTER}, which no installed package provides "
            f"(llama-cpp-python installs only the compiled library, gguf only its gguf_* "
            f"tools): {INSTALL}"
        )
    script = root.expanduser() / CONVERTER
    if not script.is_file():
        raise ExportError(f"--gguf: {script} not found; expected a llama.cpp checkout: {INSTALL}")
    return script


def convert(model_dir: Path, out_file: Path, converter: Path) -> Path:
    """Convert the transformers model in ``model_dir`` into ``out_file`` (its own dtype kept)."""
    command = [sys.executable, str(converter), str(model_dir), "--outfile", str(out_file),
               "--outtype", "auto"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not out_file.is_file():
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise ExportError(
            f"{converter} failed (exit {result.returncode}): {lines[-1] if lines else 'no output'}"
        )
    return out_file
