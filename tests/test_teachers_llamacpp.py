"""The llama.cpp teacher with the real SmolLM2-135M GGUF, in its own process."""

import os
import signal

import pytest

from revthink.config import TeacherConfig
from revthink.errors import ModelError, RevthinkError
from revthink.teachers.base import GenerationRequest, Message
from revthink.teachers.llamacpp import LlamaCppTeacher
from revthink.teachers.llamacpp_process import (
    LlamaProcess,
    LlamaSettings,
    NativeCrashError,
    repack_enabled,
)


def ask(text: str, **settings) -> GenerationRequest:
    return GenerationRequest((Message("user", text),), **settings)


@pytest.fixture(scope="module")
def teacher():
    cfg = TeacherConfig(backend="llamacpp", model="smollm2-135m", context_length=256)
    built = LlamaCppTeacher(cfg, n_threads=1)
    yield built
    built.close()


@pytest.mark.slow
def test_generation_n_seed_stop_and_lengths(teacher):
    colours = ask("Name a colour.", max_tokens=4, n=2, temperature=0.9, seed=3)
    requests = [
        ask("Write a long story about a dragon.", max_tokens=6, n=2),
        colours,
        ask("Count from 1 to 20, comma separated.", max_tokens=16, stop=["5"]),
        ask("word " * 300, max_tokens=4),  # longer than the context window
        colours,  # same seed after other calls: same samples
    ]
    seen = []
    results = teacher.generate(requests, on_result=lambda i, r: seen.append(i))
    assert seen == [0, 1, 2, 3, 4]
    story, sampled, counted, too_long, sampled_again = results
    # greedy n=2: one call, repeated; a story outlasts max_tokens
    assert story.finish_reasons == ("length", "length") and story.completion_tokens == 6
    assert story.texts[0] == story.texts[1] and story.texts[0].strip()
    assert story.prompt_tokens > 0
    assert len(sampled.texts) == 2 and sampled.completion_tokens > 0
    assert sampled_again.texts == sampled.texts
    assert counted.finish_reasons == ("stop",) and "5" not in counted.texts[0]
    assert counted.texts[0].startswith("1")
    assert too_long.error and "context_length=256" in too_long.error and too_long.texts == ()


def test_needs_a_gguf_file(tmp_path):
    cfg = TeacherConfig(backend="llamacpp", model=str(tmp_path))
    with pytest.raises(ModelError, match="needs a GGUF file"):
        LlamaCppTeacher(cfg)


@pytest.mark.slow
@pytest.mark.parametrize("repack", [False, True])
def test_repack_setting_reaches_the_loaded_model(repack):
    cfg = TeacherConfig(
        backend="llamacpp", model="smollm2-135m", context_length=128, llamacpp_repack=repack
    )
    built = LlamaCppTeacher(cfg, n_threads=1)
    try:
        assert built.llama.use_extra_bufts is repack
        (answer,) = built.generate([ask("Say hi.", max_tokens=3)])
        assert answer.error is None and answer.texts[0].strip()
    finally:
        built.close()


@pytest.mark.parametrize(
    ("setting", "flags", "expected"),
    [
        (None, {"avx2", "fma"}, True),
        (None, {"avx512f", "amx_tile", "amx_int8", "amx_bf16"}, False),
        (True, {"amx_tile"}, True),
        (False, {"avx2"}, False),
    ],
)
def test_repack_defaults_off_only_on_amx_cpus(setting, flags, expected):
    assert repack_enabled(setting, frozenset(flags)) is expected


@pytest.mark.slow
def test_a_native_crash_is_an_error_naming_the_backend_and_a_fix():
    cfg = TeacherConfig(
        backend="llamacpp", model="smollm2-135m", context_length=128, llamacpp_repack=True
    )
    built = LlamaCppTeacher(cfg, n_threads=1)
    try:
        os.kill(built.llama.pid, signal.SIGSEGV)  # what a fault in llama.cpp's decode does
        for _ in range(2):  # the first call finds the process dead; later ones say so too
            with pytest.raises(NativeCrashError) as caught:
                built.generate([ask("Say hi.", max_tokens=3)])
            message = str(caught.value)
            assert "teacher backend 'llamacpp' crashed (signal SIGSEGV)" in message
            assert "augment.teacher.llamacpp_repack=false" in message
    finally:
        built.close()


def test_a_file_that_is_not_gguf_is_a_load_error(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"not a model")
    with pytest.raises(RevthinkError, match=r"cannot load .*model\.gguf"):
        LlamaProcess(LlamaSettings(model_path=str(fake), n_ctx=64))


@pytest.mark.slow
def test_batches_smaller_than_the_requests_keep_order_and_report_each():
    cfg = TeacherConfig(
        backend="llamacpp", model="smollm2-135m", context_length=128, batch_size=2
    )
    built = LlamaCppTeacher(cfg, n_threads=1)
    try:
        requests = [
            ask("Say yes.", max_tokens=3),
            ask("word " * 200, max_tokens=4),  # longer than its sequence's context
            ask("Name a fruit.", max_tokens=5, n=3, temperature=0.8, seed=1),
            ask("Say no.", max_tokens=3),
        ]
        seen = []
        results = built.generate(requests, on_result=lambda i, r: seen.append(i))
        assert seen == [0, 1, 2, 3]
        assert results[1].error and "context_length=128" in results[1].error
        assert [len(r.texts) for r in results] == [1, 0, 3, 1]
        assert all(r.completion_tokens <= 5 * len(r.texts) for r in results)
        assert results[2].texts == built.generate(requests[2:3])[0].texts  # seeded: repeats
    finally:
        built.close()
