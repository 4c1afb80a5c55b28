"""Training progress for people: one readable line a logged step, in a terminal or a log file.

transformers prints every log as a Python dict (``{'loss': '1.211', 'grad_norm': ...}``), and
its progress bar is off under the CLI and noise in log files and CI output anyway.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import TextIO

from transformers import TrainerCallback


def step_line(
    label: str, step: int, total: int, logs: Mapping[str, float], seconds_per_step: float | None
) -> str:
    """One readable progress line of a training or validation log, e.g.

    ``train/revthink step 12/40 | loss 1.2340 | forward 1.1020 backward_question 0.8710 |
    lr 8.1e-04 | 3.2 s/step | ETA 1m30s`` (one line), or ``... step 40/40 | validation loss
    1.0100 | forward 0.9000``.
    """
    validation = "eval_loss" in logs
    prefix = "eval_loss" if validation else "loss"
    parts = [f"{label} step {step}/{total}", f"{'validation ' if validation else ''}loss "
             f"{logs[prefix]:.4f}"]
    objectives = [
        f"{key[len(prefix) + 1:]} {value:.4f}" for key, value in logs.items()
        if key.startswith(prefix + "_")
    ]
    if objectives:
        parts.append(" ".join(objectives))
    if not validation:
        if logs.get("learning_rate") is not None:
            parts.append(f"lr {logs['learning_rate']:.1e}")
        if seconds_per_step is not None:
            parts.append(f"{seconds_per_step:.1f} s/step")
            parts.append(f"ETA {_duration(seconds_per_step * max(0, total - step))}")
    return " | ".join(parts)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class StepLine(TrainerCallback):
    """Prints ``step_line`` for every train and validation log, in place of the raw dicts."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream
        self._start: tuple[float, int] | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self._start = (time.monotonic(), state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs or not ({"loss", "eval_loss"} & set(logs)):
            return
        pace = None
        if self._start is not None and state.global_step > self._start[1]:
            pace = (time.monotonic() - self._start[0]) / (state.global_step - self._start[1])
        line = step_line(self.label, state.global_step, state.max_steps, logs, pace)
        print(line, file=self.stream or sys.stderr, flush=True)
