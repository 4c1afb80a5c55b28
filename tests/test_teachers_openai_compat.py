"""The OpenAI-compatible teacher against a real local server with real generations and faults."""

import asyncio
import email.utils
import itertools
import logging
import random
import re
import socket
import time

import pytest
from support.openai_server import FAULT_KINDS, OpenAIServer, serve
from support.stub_openai import StubServer, completion, error

from revthink.config import TeacherConfig
from revthink.errors import RevthinkError
from revthink.teachers.base import GenerationRequest, Message
from revthink.teachers.openai_compat import (
    OpenAICompatTeacher,
    TokenBucket,
    backoff_seconds,
    retry_after_seconds,
)

QUESTIONS = ["What is 2+3?", "Name a colour.", "What is the capital of France?", "Say hi."]


def requests(count: int = 4, **settings) -> list[GenerationRequest]:
    settings = {"max_tokens": 6, **settings}
    return [
        GenerationRequest((Message("user", QUESTIONS[i % len(QUESTIONS)]),), **settings)
        for i in range(count)
    ]


def teacher(url: str, **settings) -> OpenAICompatTeacher:
    cfg = TeacherConfig(backend="openai_compat", model="smollm2-135m", base_url=url, **settings)
    return OpenAICompatTeacher(cfg, backoff_base_s=0.01, rng_seed=0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# --- pure parts ------------------------------------------------------------------------------


def test_rpm_bucket_spaces_requests_evenly():
    clock = FakeClock()
    bucket = TokenBucket(120, clock=clock, capacity=1)  # one request every 0.5 s
    assert [bucket.reserve(1) for _ in range(5)] == [0.0, 0.5, 1.0, 1.5, 2.0]
    clock.now += 10  # the debt of 2 s is paid and the bucket refills to one request only
    assert [bucket.reserve(1) for _ in range(2)] == [0.0, 0.5]


def test_tpm_bucket_lets_large_calls_into_debt_and_settles():
    clock = FakeClock()
    bucket = TokenBucket(600, clock=clock)  # 10 tokens a second, bucket of 10
    assert bucket.reserve(25) == 0.0  # bigger than the bucket: waits for a full one, then owes
    assert bucket.reserve(5) == pytest.approx(2.0)  # (5 - (-15)) / 10
    clock.now += 2
    bucket.settle(reserved=25, used=5)  # the call used far less than estimated
    assert bucket.reserve(5) == 0.0


def test_retry_after_seconds_and_http_dates():
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds("0.5") == 0.5
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert retry_after_seconds(date, now=now) == pytest.approx(30, abs=1)
    assert retry_after_seconds(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0


def test_backoff_grows_with_jitter():
    rng = random.Random(0)
    waits = [backoff_seconds(a, 1.0, rng) for a in range(4)]
    for attempt, wait in enumerate(waits):
        assert 2**attempt / 2 <= wait <= 2**attempt
    assert backoff_seconds(30, 1.0, rng) <= 300


# --- against the server ------------------------------------------------------------------------


@pytest.mark.slow
def test_plain_success_counts_usage_and_tops_up_n():
    done = []
    with serve() as url:
        results = teacher(url).generate(
            [*requests(3), *requests(1, n=2, temperature=0.8, seed=1)],
            on_result=lambda i, r: done.append(i),
        )
    assert sorted(done) == [0, 1, 2, 3]
    assert all(r.error is None and r.retries == 0 for r in results)
    assert all(r.texts and all(t.strip() for t in r.texts) for r in results)
    assert all(r.prompt_tokens > 0 and r.completion_tokens > 0 for r in results)
    # the server ignores n, as llama.cpp does: the second sample came from a top-up call
    assert len(results[3].texts) == 2 and results[3].extra["calls"] == 2
    assert results[3].finish_reasons[0] in ("stop", "length")


@pytest.mark.slow
def test_injected_faults_are_retried_to_the_same_answers():
    batch = requests(8, seed=0)  # greedy: the answers do not depend on which call succeeds
    with serve() as url:
        clean = teacher(url).generate(batch)
    # The client waits long enough for 4 queued generations (about 0.7 s each on one core),
    # and a "timeout" fault answers later still.
    server = OpenAIServer(fault_rate=0.3, seed=0, script=FAULT_KINDS, delay_s=6.0)
    with server:
        faulty = teacher(server.url, timeout_s=4.0, concurrency=4).generate(batch)
    assert [r.error for r in faulty] == [None] * len(batch)
    assert [r.texts for r in faulty] == [r.texts for r in clean]
    assert set(server.stats.faults) == set(FAULT_KINDS)
    assert sum(r.retries for r in faulty) == sum(server.stats.faults.values())


@pytest.mark.slow
def test_retries_run_out_into_an_error_result():
    with OpenAIServer(fault_rate=1.0, kinds=("500",)) as server:
        [result] = teacher(server.url, max_retries=2).generate(requests(1))
    assert result.texts == () and result.retries == 2
    assert "gave up after 2 retries" in result.error and "HTTP 500" in result.error
    assert server.stats.requests == 3


@pytest.mark.slow
def test_bad_key_raises_without_the_key(monkeypatch, caplog, capfd):
    secret = "sk-test-DO-NOT-PRINT-41e7"
    monkeypatch.setenv("REVTHINK_TEST_KEY", secret)
    caplog.set_level(logging.DEBUG)
    with OpenAIServer(api_key="the-right-key") as server:
        client = teacher(server.url, api_key_env="REVTHINK_TEST_KEY")
        with pytest.raises(RevthinkError) as info:
            client.generate(requests(3))
    message = str(info.value)
    assert "401" in message and server.url in message and "smollm2-135m" in message
    assert "REVTHINK_TEST_KEY" in message
    captured = capfd.readouterr()
    for text in (message, repr(client), caplog.text, captured.out, captured.err):
        assert secret not in text


@pytest.mark.slow
def test_unknown_model_raises_and_bad_request_is_an_error_result():
    with serve() as url:
        cfg = TeacherConfig(backend="openai_compat", model="no-such-model", base_url=url)
        with pytest.raises(RevthinkError, match="404.*no-such-model|no-such-model.*404"):
            OpenAICompatTeacher(cfg).generate(requests(1))
        empty = GenerationRequest(messages=())
        [result] = teacher(url).generate([empty])
    assert "HTTP 400" in result.error and result.retries == 0


@pytest.mark.slow
def test_retry_after_is_honoured():
    with OpenAIServer(script=("429",), retry_after="1") as server:
        [result] = teacher(server.url).generate(requests(1))
    assert result.error is None and result.retries == 1
    first, second = server.stats.arrivals
    assert second - first >= 0.95  # backoff alone would have retried after ~0.01 s


@pytest.mark.slow
def test_requests_per_minute_limit_spaces_calls():
    with OpenAIServer() as server:
        teacher(server.url, requests_per_minute=240).generate(requests(4))
    gaps = [b - a for a, b in itertools.pairwise(server.stats.arrivals)]
    assert min(gaps) >= 0.2  # 240/min: one call every 0.25 s


@pytest.mark.slow
def test_concurrency_bound_is_respected():
    with OpenAIServer(latency_s=0.3) as server:
        results = teacher(server.url, concurrency=2).generate(requests(6))
    assert all(r.error is None for r in results)
    assert server.stats.max_in_flight == 2


@pytest.mark.slow
def test_generate_works_inside_a_running_event_loop():
    async def caller(url: str):
        return teacher(url).generate(requests(1))

    with serve() as url:
        [result] = asyncio.run(caller(url))
    assert result.error is None and result.texts


# --- against a model-free stub: error kinds, secrets, a server that is not there ----------------

SECRET = "sk-test-DO-NOT-PRINT-77aa"


def careless(kind: str):
    """A server failing in one way, echoing the key it was sent wherever it can."""

    def reply(body: dict, auth: str) -> tuple[int, bytes]:
        if kind == "malformed":
            return 200, b'{"choices": [{"message": "' + auth.encode()
        return error(int(kind), f"could not serve the request of {auth}")

    return reply


@pytest.mark.parametrize(
    "kind, expected, calls",
    [("500", "http_500", 3), ("400", "http_400", 1), ("malformed", "malformed_body", 3)],
)
def test_failures_are_tagged_by_kind_and_never_carry_the_key(
    kind, expected, calls, monkeypatch, caplog
):
    monkeypatch.setenv("REVTHINK_TEST_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    with StubServer(careless(kind)) as server:
        client = teacher(server.url, max_retries=2, api_key_env="REVTHINK_TEST_KEY")
        [result] = client.generate(requests(1))
    assert result.error_kind == expected and result.texts == ()
    assert result.error.startswith(f"{server.url} (model 'smollm2-135m'): ")
    assert server.requests == calls  # a 400 is final; the others are retried
    assert SECRET not in result.error and SECRET not in caplog.text


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_server_is_named_at_once_and_given_up_in_bounded_time(caplog):
    """Retried for connect_timeout_total_s whatever max_retries says, then one clear error."""
    caplog.set_level(logging.WARNING)
    port = closed_port()
    url = f"http://127.0.0.1:{port}/v1"
    client = teacher(url, max_retries=0, concurrency=4, connect_timeout_total_s=1.0)
    started = time.monotonic()
    with pytest.raises(RevthinkError, match=f"^cannot connect to {re.escape(url)} .* for 1 s"):
        client.generate(requests(4))
    assert 1.0 <= time.monotonic() - started < 10
    warnings = [r.getMessage() for r in caplog.records if "cannot connect" in r.getMessage()]
    assert warnings == [f"cannot connect to {url} (ConnectError); retrying for up to 1 s"]
    with StubServer(lambda body, auth: completion("Hi."), port=port):
        results = client.generate(requests(4))  # the server is up: the same client goes on
    assert [r.texts for r in results] == [("Hi.",)] * 4
