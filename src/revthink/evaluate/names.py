"""A benchmark's folder and column name, known before anything runs.

``revthink validate`` and ``revthink run`` check that no two benchmarks of a config share a
name (they would share a folder) before the first stage; ``revthink evaluate`` writes under it.
"""

from __future__ import annotations

from collections.abc import Sequence

from revthink.config import BenchmarkConfig
from revthink.data import get_spec


def benchmark_name(benchmark: BenchmarkConfig) -> str:
    """The dataset, plus the split unless ``test``, plus the decode and samples the benchmark
    sets for itself (``gsm8k-forward_backward-n8``), else its own temperature (``gsm8k-t0.7``)."""
    name = get_spec(benchmark.dataset).name
    name = name if benchmark.split == "test" else f"{name}-{benchmark.split}"
    return "-".join([name, *_own_settings(benchmark)])


def _own_settings(benchmark: BenchmarkConfig) -> list[str]:
    parts = [benchmark.decode] if benchmark.decode else []
    parts += [f"n{benchmark.samples}"] if benchmark.samples is not None else []
    if not parts and benchmark.temperature is not None:
        parts.append(f"t{benchmark.temperature:g}")
    return parts


def shared_name(benchmarks: Sequence[BenchmarkConfig]) -> str | None:
    """A name two of ``benchmarks`` would both write under; None when every name is its own."""
    names = [benchmark_name(b) for b in benchmarks]
    return next((n for n in names if names.count(n) > 1), None)
