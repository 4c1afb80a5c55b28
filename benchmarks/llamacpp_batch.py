"""Throughput of the llama.cpp teacher: requests decoded together vs one stream, side by side.

Both paths run in the same model process on the same requests: one at a time through
``create_chat_completion`` (what the backend did before batching), then ``batch`` at a time
through the batched decoder. Prints generated tokens per second of each and their ratio.

    python benchmarks/llamacpp_batch.py                       # SmolLM2-135M, 16 requests
    python benchmarks/llamacpp_batch.py --model DIR/qwen.gguf --requests 8 --max-tokens 128
"""

from __future__ import annotations

import argparse
import time

from revthink.models import resolve
from revthink.teachers.llamacpp_process import LlamaProcess, LlamaSettings

QUESTIONS = (
    "A farmer has {n} sheep and buys 7 more. How many sheep does he have? Think step by step.",
    "What is {n} times 3 plus 11? Explain each step.",
    "Tom reads {n} pages a day for a week. How many pages does he read? Show your reasoning.",
    "A box holds {n} apples; 5 boxes are sold. How many apples are sold? Reason it out.",
)


def requests(count: int, max_tokens: int) -> list[dict]:
    return [
        {
            "messages": [{"role": "user", "content": QUESTIONS[i % 4].format(n=12 + i)}],
            "n": 1, "temperature": 0.0, "max_tokens": max_tokens, "seed": i, "stop": [],
        }
        for i in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="alias or .gguf path")
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-ctx", type=int, default=512, help="tokens per sequence")
    args = parser.parse_args()
    path = resolve(args.model).gguf_path
    settings = LlamaSettings(
        model_path=str(path), n_ctx=args.n_ctx, n_threads=args.threads, sequences=args.batch
    )
    batch = requests(args.requests, args.max_tokens)
    llama = LlamaProcess(settings)
    try:
        start = time.perf_counter()
        single = [llama.chat(**{k: v for k, v in r.items() if k != "n"}) for r in batch]
        single_s = time.perf_counter() - start
        single_tokens = sum(out["usage"]["completion_tokens"] for out in single)
        start = time.perf_counter()
        batched = []
        for i in range(0, len(batch), args.batch):
            batched += llama.generate(batch[i:i + args.batch])
        batched_s = time.perf_counter() - start
        batched_tokens = sum(out["completion_tokens"] for out in batched)
    finally:
        llama.close()
    same = sum(
        s["choices"][0]["message"]["content"] == b["texts"][0]
        for s, b in zip(single, batched, strict=True)
    )
    print(f"model {args.model}, {args.requests} requests, batch {args.batch}, "
          f"{args.threads} threads, greedy, max {args.max_tokens} tokens")
    print(f"one stream : {single_tokens} tokens in {single_s:.1f} s = "
          f"{single_tokens / single_s:.1f} tok/s")
    print(f"batched    : {batched_tokens} tokens in {batched_s:.1f} s = "
          f"{batched_tokens / batched_s:.1f} tok/s")
    print(f"ratio (batched / one stream, tokens/s): "
          f"{(batched_tokens / batched_s) / (single_tokens / single_s):.2f}x")
    print(f"identical greedy texts: {same}/{len(batch)}")


if __name__ == "__main__":
    main()
