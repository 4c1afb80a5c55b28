"""`revthink augment`'s generated tokens/s against a bare concurrent client, side by side.

    .venv/bin/python benchmarks/augment_throughput.py --n 8 --max-tokens 32 --concurrency 4
    .venv/bin/python benchmarks/augment_throughput.py --url http://127.0.0.1:8080/v1 --model m

Both sides talk to the same OpenAI-compatible server (by default the test server in
``tests/support/openai_server.py``, started here in a child process with SmolLM2-135M on
llama.cpp; ``--url`` points at any other, e.g. ``llama-server`` or vLLM). First the pipeline
augments a seeded GSM8K subset through ``OpenAICompatTeacher`` with a fresh cache, and every
request it sends is recorded. Then a bare client (httpx + asyncio, a semaphore of the same
size, no rounds, no cache, no checks) sends exactly those requests at once. Each side's rate
is completion tokens (as the server reports them) over its wall time. The two sides alternate
``--repeats`` times (the pipeline with a fresh cache each time, so it sends the same requests)
and the script prints each pair and the median of the ratios, which damps the drift of a
shared machine. A ratio near 1 means the pipeline's rounds, cache and bookkeeping keep the
server as busy as a plain client would.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from revthink.augment.cache import ResultCache
from revthink.augment.calls import TeacherCalls
from revthink.augment.pipeline import augment
from revthink.augment.reporting import Ledger
from revthink.config import AugmentConfig, TeacherConfig
from revthink.data import load_problems
from revthink.teachers.base import GenerationRequest, GenerationResult, ResultCallback, chat_dicts
from revthink.teachers.openai_compat import OpenAICompatTeacher

TESTS = Path(__file__).resolve().parents[1] / "tests"  # holds the `support` package


class RecordingTeacher:
    """The real teacher, remembering every request the pipeline sent."""

    def __init__(self, inner: OpenAICompatTeacher) -> None:
        self.inner, self.name, self.sent = inner, inner.name, []

    def generate(
        self, requests: Sequence[GenerationRequest], on_result: ResultCallback | None = None
    ) -> list[GenerationResult]:
        self.sent.extend(requests)
        return self.inner.generate(requests, on_result)

    def close(self) -> None:
        self.inner.close()


def run_pipeline(args: argparse.Namespace, url: str) -> tuple[float, int, list[GenerationRequest]]:
    teacher_cfg = TeacherConfig(backend="openai_compat", model=args.model, base_url=url,
                                concurrency=args.concurrency, timeout_s=600)
    teacher = RecordingTeacher(OpenAICompatTeacher(teacher_cfg))
    cfg = AugmentConfig(teacher=teacher_cfg, k=args.k, temperature=args.temperature,
                        max_tokens=args.max_tokens, filter="correct")
    problems = load_problems("gsm8k", "train", limit=args.n, seed=0)
    ledger = Ledger()
    with tempfile.TemporaryDirectory() as tmp:
        cache = ResultCache(Path(tmp) / "cache.jsonl")
        started = time.perf_counter()
        augment(problems, TeacherCalls(teacher, cache, ledger, None), cfg, seed=0, family="math")
        wall = time.perf_counter() - started
        cache.close()
    return wall, ledger.total().completion_tokens, teacher.sent


async def run_bare(
    requests: Sequence[GenerationRequest], url: str, model: str, concurrency: int
) -> tuple[float, int]:
    """The same requests through a plain semaphore-bounded client; (wall s, completion tokens)."""
    slots = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=600, limits=limits) as client:

        async def one(request: GenerationRequest) -> int:
            body = {"model": model, "messages": chat_dicts(request.messages), "n": request.n,
                    "temperature": request.temperature, "max_tokens": request.max_tokens,
                    "seed": request.seed}
            async with slots:
                response = await client.post(url + "/chat/completions", json=body)
            return response.json()["usage"]["completion_tokens"]

        started = time.perf_counter()
        tokens = await asyncio.gather(*(one(r) for r in requests))
        return time.perf_counter() - started, sum(tokens)


def start_server(threads: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child = subprocess.Popen(
        [sys.executable, "-m", "support.openai_server", "--port", str(port),
         "--threads", str(threads)],
        stdout=subprocess.PIPE, text=True, cwd=TESTS,
    )
    assert child.stdout is not None
    child.stdout.readline()  # "serving ... on URL": the model is loaded
    url = f"http://127.0.0.1:{port}/v1"
    httpx.get(url + "/models", timeout=30).raise_for_status()
    return child, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an OpenAI-compatible /v1 root; default: start one")
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--n", type=int, default=8, help="GSM8K training problems")
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2, help="server's llama.cpp threads")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    child, url = (None, args.url) if args.url else start_server(args.threads)
    ratios = []
    try:
        for repeat in range(args.repeats):
            wall, tokens, sent = run_pipeline(args, url)
            bare_wall, bare_tokens = asyncio.run(
                run_bare(sent, url, args.model, args.concurrency))
            ratios.append((tokens / wall) / (bare_tokens / bare_wall))
            print(f"#{repeat + 1}: {len(sent)} requests at concurrency {args.concurrency}; "
                  f"pipeline {tokens} tokens in {wall:.2f} s = {tokens / wall:.1f} tok/s; "
                  f"bare {bare_tokens} tokens in {bare_wall:.2f} s = "
                  f"{bare_tokens / bare_wall:.1f} tok/s; ratio {ratios[-1]:.3f}", flush=True)
    finally:
        if child is not None:
            child.terminate()
            child.wait()
    print(f"ratio pipeline / bare (median of {len(ratios)}): {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
