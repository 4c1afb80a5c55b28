"""llama.cpp in a child process, so that a native crash becomes an error instead of killing us.

llama.cpp is native code: a fault in it (llama-cpp-python 0.3.36 built natively on a CPU with
AMX segfaults on its first decode) would take the whole Python process down, losing a run's
progress and, in pytest, every later test. Here the model lives in a spawned child that
answers chat requests over a pipe; when the child dies, the parent raises ``NativeCrashError``
naming the signal and what to try.

The AMX crash comes from llama.cpp's "extra buffer types" (weights repacked for AMX and other
kernels). ``repack`` turns them off; its default (``None``) turns them off only on CPUs with
AMX, keeping the repacked kernels' speed elsewhere.

Protocol: the parent sends ``("chat", kwargs)`` or ``("close", None)``; the child answers
``("ok", completion)`` or ``("error", message)`` (a ValueError from llama.cpp, such as a prompt
longer than the context). It first answers ``("ready", use_extra_bufts)`` (the value the loaded
model really has) or ``("error", message)``.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from revthink.errors import RevthinkError
from revthink.models import read_cpu_flags
from revthink.teachers.llamacpp_batch import BatchDecoder


class NativeCrashError(RevthinkError):
    """The native engine's process died: names the engine, the signal and what to try."""


@dataclass(frozen=True)
class LlamaSettings:
    """What the child needs to load the model (plain data: it crosses a process boundary)."""

    model_path: str
    n_ctx: int
    n_threads: int | None = None
    seed: int | None = None
    repack: bool | None = None  # llama.cpp extra buffer types; None: off on AMX CPUs only
    sequences: int = 1  # sequences decoded together by ``generate``, each with n_ctx tokens


def repack_enabled(repack: bool | None, flags: frozenset[str]) -> bool:
    """Whether llama.cpp may repack weights into its extra buffer types."""
    if repack is not None:
        return repack
    return not any(flag.startswith("amx") for flag in flags)


class LlamaProcess:
    """A ``llama_cpp.Llama`` in a spawned child; ``chat`` is ``create_chat_completion``."""

    def __init__(self, settings: LlamaSettings, engine: str = "llama.cpp") -> None:
        """Start the child and wait until the model is loaded (load errors are re-raised)."""
        self.engine = engine
        self._crash: NativeCrashError | None = None
        self._lock = threading.Lock()  # one request at a time over the pipe
        self.repack = repack_enabled(settings.repack, read_cpu_flags())
        context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(
            target=serve, args=(child_conn, settings, self.repack), daemon=True,
            name="revthink-llamacpp",
        )
        self._process.start()
        child_conn.close()
        kind, payload = self._receive("loading the model")
        if kind == "error":
            self.close()
            raise RevthinkError(f"{engine}: cannot load {settings.model_path}: {payload}")
        self.use_extra_bufts: bool = payload

    def chat(self, **kwargs: Any) -> dict[str, Any]:
        """One chat completion; ValueError for a request llama.cpp rejects. Thread-safe."""
        return self._ask("chat", kwargs)

    def _ask(self, command: str, payload: Any) -> Any:
        with self._lock:
            if self._crash is not None:
                raise self._crash
            if self._process is None:
                raise RevthinkError(f"{self.engine}: the model was closed")
            try:
                self._conn.send((command, payload))
            except (BrokenPipeError, ConnectionResetError, OSError):
                raise self._crashed("generating") from None
            kind, answer = self._receive("generating")
        if kind == "error":
            raise ValueError(answer)
        return answer

    def generate(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Requests decoded together (see ``llamacpp_batch``); answers in order. Thread-safe."""
        return self._ask("generate", requests)

    def close(self) -> None:
        """Ask the child to exit (after the request in progress); kill it if it does not."""
        with self._lock:
            if self._process is None:
                return
            with suppress(BrokenPipeError, ConnectionResetError, OSError):
                self._conn.send(("close", None))
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
            self._conn.close()
            self._process = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def _receive(self, doing: str) -> tuple[str, Any]:
        try:
            return self._conn.recv()
        except (EOFError, ConnectionResetError, OSError):
            raise self._crashed(doing) from None

    def _crashed(self, doing: str) -> NativeCrashError:
        self._process.join(timeout=5)
        code = self._process.exitcode
        self._conn.close()
        self._process = None
        how = f"exit code {code}"
        if code is not None and code < 0:
            how = f"signal {signal.Signals(-code).name}"
        hint = (
            "it repacked weights for llama.cpp's extra CPU kernels; set "
            "augment.teacher.llamacpp_repack=false"
            if self.repack
            else "reinstall llama-cpp-python without native CPU tuning "
            "(CMAKE_ARGS=-DGGML_NATIVE=OFF pip install --force-reinstall --no-binary "
            "llama-cpp-python llama-cpp-python) or use another teacher backend"
        )
        self._crash = NativeCrashError(
            f"{self.engine} crashed ({how}) while {doing}; the run's progress is saved. "
            f"To try: {hint}."
        )
        return self._crash


def serve(conn: Connection, settings: LlamaSettings, repack: bool) -> None:
    """The child's loop: load the model, then answer chat requests until told to close."""
    try:
        llama = _load(settings, repack)
    except Exception as err:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("error", f"{type(err).__name__}: {err}"))
        return
    decoder = BatchDecoder(llama, context_per_sequence=settings.n_ctx)
    conn.send(("ready", bool(llama.model_params.use_extra_bufts)))
    while True:
        try:
            command, payload = conn.recv()
        except EOFError:  # the parent is gone
            break
        if command == "close":
            break
        try:
            conn.send(("ok", _handle(llama, decoder, command, payload)))
        except ValueError as err:
            conn.send(("error", str(err)))
    decoder.close()
    llama.close()


def _handle(llama: Any, decoder: BatchDecoder, command: str, payload: Any) -> Any:
    if command == "generate":
        return decoder.generate(payload)
    # Forget the previous call's KV cache: reusing a shared prefix changes the logits in the
    # last bits, so the same seeded request would sample differently depending on the request
    # before it. Re-reading the prompt is cheap next to generating.
    llama.reset()
    return llama.create_chat_completion(**payload)


def _load(settings: LlamaSettings, repack: bool) -> Any:
    import llama_cpp

    with (
        _defaults(llama_cpp, "llama_model_default_params", use_extra_bufts=repack),
        _defaults(llama_cpp, "llama_context_default_params", n_seq_max=settings.sequences),
    ):
        return llama_cpp.Llama(
            model_path=settings.model_path, n_ctx=settings.n_ctx * settings.sequences,
            n_threads=settings.n_threads, n_threads_batch=settings.n_threads,
            seed=llama_cpp.LLAMA_DEFAULT_SEED if settings.seed is None else settings.seed,
            verbose=False,
        )


@contextmanager
def _defaults(llama_cpp: Any, function: str, **fields: Any) -> Any:
    """Load with params ``Llama()`` has no keyword for (``use_extra_bufts``, ``n_seq_max``).

    ``Llama.__init__`` starts from ``llama_model_default_params()`` and
    ``llama_context_default_params()``; inside this block (in the child, which loads one model
    and has no other threads) the named function returns params with ``fields`` set.
    """
    module = llama_cpp.llama.llama_cpp
    original = getattr(module, function)

    def params() -> Any:
        made = original()
        for name, value in fields.items():
            setattr(made, name, value)
        return made

    setattr(module, function, params)
    try:
        yield
    finally:
        setattr(module, function, original)
