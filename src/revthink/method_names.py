"""The methods a config may name, and what each trains: one list that every layer reads.

The config checks names against it, the trainer builds each method's units for it
(``train.methods``), and cards and reports describe methods from it; none of them needs to
import the others for a name.
"""

from __future__ import annotations

from revthink.errors import ConfigError

ZERO_SHOT = "zero_shot"  # the student as it is: evaluated, never trained
UNTRAINED = frozenset({ZERO_SHOT})
TRAINED: dict[str, str] = {  # name -> what it trains
    "sft_answer": "Q -> 'The answer is X.' (fine-tuning on labels only)",
    "skd": "Q -> R_f (symbolic knowledge distillation)",
    "skd_equal_compute": (
        "Q -> R_f with each problem three times an epoch: as many forward and backward passes "
        "as revthink's three objectives (skd at equal compute)"
    ),
    "step_by_step": (
        "Q -> R_f and, under its own task prefix, Q -> answer weighted by step_by_step_alpha"
    ),
    "question_aug": "Q -> R_f plus Q_b -> R_b as extra training questions",
    "answer_aug": "Q -> R_f for every correct teacher reasoning of Q",
    "rephrase": "Q -> R_f plus teacher-rephrased Q -> R_f",
    "revthink": "Q -> R_f, Q -> Q_b, Q_b -> R_b trained jointly",
    "revthink_no_bq": "RevThink without the backward-question objective",
    "revthink_no_br": "RevThink without the backward-reasoning objective",
}


def describe(name: str) -> str:
    """What method ``name`` trains; a ConfigError lists the valid names otherwise."""
    if name not in TRAINED:
        raise ConfigError(
            f"key 'methods': unknown method {name!r}; trained methods: {', '.join(TRAINED)} "
            f"(untrained: {', '.join(sorted(UNTRAINED))})"
        )
    return TRAINED[name]


def trained(names: tuple[str, ...] | list[str]) -> list[str]:
    """The methods of a config that are trained, in config order, each checked."""
    chosen = [n for n in names if n not in UNTRAINED]
    for name in chosen:
        describe(name)
    return chosen
