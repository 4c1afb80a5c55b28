"""What an evaluation engine does, and which one a config asks for.

An engine holds one base model for the whole evaluation and switches the fine-tuned weights
per method (``use_weights``), so ``revthink evaluate`` loads the student once however many
methods it compares. Engines take prompts as token ids made by ``prompting.encode_prompt``, the
function the training collator uses too, so no engine can add or drop a special token that
training did not see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from revthink.errors import ModelError
from revthink.prompting import completion_suffix

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


AnswerCheck = Callable[[str], bool]  # does this text already state the problem's final answer?


@dataclass(frozen=True)
class Generation:
    """One completion: its text (special tokens removed) and how many tokens it took."""

    text: str
    tokens: int


@dataclass(frozen=True)
class Batch:
    """Completions for ``indices`` (positions in the prompt list) and the seconds they took."""

    indices: tuple[int, ...]
    generations: tuple[Generation, ...]
    seconds: float


class Engine(Protocol):
    name: str

    def use_weights(self, folder: Path | None) -> None:
        """Answer with the weights in ``folder`` (LoRA adapter or full model); None: the base."""

    def generate(
        self, prompts: Sequence[list[int]], checks: Sequence[AnswerCheck] | None = None
    ) -> Iterator[Batch]:
        """Complete every prompt (token ids), yielding batches as they finish, in any order.

        ``checks`` (one per prompt) let an engine end an output once its answer is stated.
        """

    def close(self) -> None:
        """Free the model's memory."""


WEIGHT_FILES = ("*.safetensors", "*.bin", "adapter_config.json", "config.json")


def weight_files(folder: Path | None) -> list[Path]:
    """The files that make up trained weights (not logs or manifests), for the fingerprint."""
    if folder is None:
        return []
    return sorted({p for pattern in WEIGHT_FILES for p in folder.glob(pattern) if p.is_file()})


def weights_kind(folder: Path) -> str:
    """``"lora"`` for a peft adapter folder, ``"full"`` for a whole saved model."""
    if (folder / "adapter_config.json").is_file():
        return "lora"
    if (folder / "config.json").is_file():
        return "full"
    raise ModelError(
        f"{folder}: neither a LoRA adapter (adapter_config.json) nor a saved model (config.json); "
        "run `revthink train` first"
    )



def end_token_ids(
    tokenizer: PreTrainedTokenizerBase, model_eos: int | list[int] | None
) -> list[int]:
    """Ids that end an answer: EOS of the tokenizer and model, and the chat end-of-turn token."""
    ids = set(model_eos if isinstance(model_eos, list) else [model_eos])
    ids.add(tokenizer.eos_token_id)
    if tokenizer.chat_template:
        turn_end = tokenizer(completion_suffix(tokenizer, "chat"), add_special_tokens=False)
        if len(turn_end.input_ids) == 1:
            ids.add(turn_end.input_ids[0])
    return sorted(i for i in ids if i is not None)
