"""GGUF export with llama.cpp's own converter, ``convert_hf_to_gguf.py``.

No package of the lock ships that converter: ``llama-cpp-python`` installs the compiled library
and its Python bindings only, and ``gguf`` the GGUF reader/writer with its ``gguf_*`` tools.
The converter lives in the llama.cpp source tree, so the export runs it from a checkout named by
``--llama-cpp`` or ``$LLAMA_CPP_DIR`` on the merged model folder. Its requirements pin numpy 1.26
and transformers < 5, against the lock's numpy 2 and transformers 5, so they belong in a venv of
their own: the checkout's ``.venv`` runs the converter when it exists, this Python otherwise.
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
    "git clone https://github.com/ggml-org/llama.cpp && python -m venv llama.cpp/.venv && "
    "llama.cpp/.venv/bin/pip install -r llama.cpp/requirements/requirements-convert_hf_to_gguf.txt"
    f", then pass --llama-cpp llama.cpp (or set ${ENV})"
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
    command = [python_for(converter.parent), str(converter), str(model_dir), "--outfile",
               str(out_file), "--outtype", "auto"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not out_file.is_file():
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise ExportError(
            f"{converter} failed (exit {result.returncode}): {lines[-1] if lines else 'no output'}"
        )
    return out_file


def python_for(checkout: Path) -> str:
    """The checkout's own venv Python where there is one (see above), else this Python."""
    venv = checkout / ".venv" / "bin" / "python"
    return str(venv) if venv.is_file() else sys.executable
