"""The trained methods: RevThink, its ablations and the baselines, as one registry.

A method turns one AugmentedExample into *units*: each unit maps objective names to the
ObjectiveExample trained for it, and every unit of a method has the same objectives. A batch
holds whole units, so RevThink's three objectives of the same problems meet in one step
(one forward pass per objective); the trainer combines the weighted objective losses as
``train.objective_reduction`` says (their weighted mean by default, as the paper averages them).

The names and descriptions live in ``revthink.method_names``, which the config reads too;
``zero_shot`` is evaluated but never trained, so it is not registered here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from revthink.config import TrainConfig
from revthink.method_names import describe
from revthink.records import AugmentedExample
from revthink.train import objectives as obj
from revthink.train.objectives import ObjectiveExample

Unit = dict[str, ObjectiveExample]


@dataclass(frozen=True)
class Method:
    """How a method builds its training units and weighs its objectives."""

    units: Callable[[AugmentedExample], list[Unit]]
    weights: Callable[[TrainConfig], dict[str, float]]


def _revthink_weights(*names: str) -> Callable[[TrainConfig], dict[str, float]]:
    def weights(cfg: TrainConfig) -> dict[str, float]:
        return {name: getattr(cfg.weights, name) for name in names}

    return weights


def _only(objective: str) -> Callable[[TrainConfig], dict[str, float]]:
    return lambda cfg: {objective: 1.0}


def _revthink_units(*makers: Callable[[AugmentedExample], ObjectiveExample]):
    return lambda ex: [{e.objective: e for e in (make(ex) for make in makers)}]


METHODS: dict[str, Method] = {
    "sft_answer": Method(
        lambda ex: [{"answer": obj.answer(ex)}], _only("answer"),
    ),
    "skd": Method(
        lambda ex: [{"forward": obj.forward(ex)}], _only("forward"),
    ),
    "skd_equal_compute": Method(
        lambda ex: [{"forward": obj.forward(ex)}] * 3, _only("forward"),
    ),
    "step_by_step": Method(
        lambda ex: [{"forward": obj.forward(ex), "answer": obj.label(ex)}],
        lambda cfg: {"forward": 1.0, "answer": cfg.step_by_step_alpha},
    ),
    "question_aug": Method(
        lambda ex: [{"forward": obj.forward(ex)}, {"forward": obj.backward_as_forward(ex)}],
        _only("forward"),
    ),
    "answer_aug": Method(
        lambda ex: [
            {"forward": obj.forward(ex, r)} for r in (ex.forward_reasoning, *ex.extra_forward)
        ],
        _only("forward"),
    ),
    "rephrase": Method(
        lambda ex: [{"forward": obj.forward(ex)}, {"forward": obj.rephrased_forward(ex)}],
        _only("forward"),
    ),
    "revthink": Method(
        _revthink_units(obj.forward, obj.backward_question, obj.backward_reasoning),
        _revthink_weights("forward", "backward_question", "backward_reasoning"),
    ),
    "revthink_no_bq": Method(
        _revthink_units(obj.forward, obj.backward_reasoning),
        _revthink_weights("forward", "backward_reasoning"),
    ),
    "revthink_no_br": Method(
        _revthink_units(obj.forward, obj.backward_question),
        _revthink_weights("forward", "backward_question"),
    ),
}


def get(name: str) -> Method:
    """The registered method ``name``; a ConfigError lists the valid names otherwise."""
    describe(name)
    return METHODS[name]


def build_units(method: str, examples: list[AugmentedExample]) -> list[Unit]:
    """Every training unit of ``method`` over ``examples``, in record order."""
    make = get(method).units
    return [unit for ex in examples for unit in make(ex)]


def weights(method: str, cfg: TrainConfig) -> Mapping[str, float]:
    return get(method).weights(cfg)
