"""Training dashboards (``train.report_to``): checked before training, kept with each method.

    revthink train config.yaml train.report_to=tensorboard
    tensorboard --logdir runs/<name>/train      # one curve per method

``none`` (the default) sends nothing anywhere. ``tensorboard`` writes event files into
``train/<method>/tensorboard/``; ``wandb`` logs to Weights & Biases (``wandb login`` and
``WANDB_PROJECT`` as usual). Both receive what ``trainer.ObjectiveTrainer.log`` logs every
step: ``train/loss`` and each objective's ``train/loss_<objective>``, ``train/learning_rate``,
``train/grad_norm``, ``train/tokens_per_second``, and ``eval/loss_*`` on a validation slice.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from transformers import TrainerCallback

from revthink.errors import ConfigError

TENSORBOARD = "tensorboard"  # the event-file folder inside train/<method>/

# logger -> (modules any one of which its transformers callback writes with, install command)
PACKAGES: dict[str, tuple[tuple[str, ...], str]] = {
    "tensorboard": (("tensorboardX", "tensorboard"), "pip install 'revthink[dashboards]'"),
    "wandb": (("wandb",), "pip install wandb"),
}


def require(report_to: Sequence[str]) -> None:
    """Fail before any work when a chosen logger's package is missing, saying how to get it."""
    for logger in report_to:
        modules, install = PACKAGES[logger]
        if not any(importlib.util.find_spec(module) for module in modules):
            raise ConfigError(
                f"key 'train.report_to': {logger} needs the {' or '.join(modules)} package, "
                f"which is not installed; run `{install}`, or set train.report_to=none"
            )


def tensorboard(out_dir: Path, resumed_from_step: int = 0) -> TrainerCallback:
    """transformers' TensorBoard logger, writing into ``out_dir/tensorboard``.

    Left to the Trainer it would write under its output folder, the checkpoints, which are
    deleted once a method has finished. A run resumed from the checkpoint of
    ``resumed_from_step`` logs the steps after it again, so TensorBoard is told to purge what
    the interrupted run logged from the next step on (each step is then drawn once).
    """
    from transformers.integrations import TensorBoardCallback

    try:  # the writer transformers would pick
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        from tensorboardX import SummaryWriter

    folder = str(out_dir / TENSORBOARD)
    if resumed_from_step:  # a file of its own: names hold the second, which may repeat
        writer = SummaryWriter(log_dir=folder, purge_step=resumed_from_step + 1,
                               filename_suffix=f".resumed-{resumed_from_step}")
    else:
        writer = SummaryWriter(log_dir=folder)
    callback = TensorBoardCallback(writer)
    callback.logging_dir = folder
    return callback
