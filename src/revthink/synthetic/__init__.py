"""A synthetic reasoning suite with exact answers, for fast and controlled RevThink runs.

Three families (multi-step arithmetic, date arithmetic, family relations) and their mix, in
splits train, validation, test and the out-of-distribution ``hard`` (test only), each item
carrying the forward reasoning, backward question and backward reasoning a perfect teacher
would write; ``revthink.teachers.program`` serves them through the Teacher protocol. Datasets
``synthetic_<family>`` and ``synthetic`` (the mix) are read with ``generate_problems``.
"""

from revthink.synthetic.generate import (
    DATASETS,
    FAMILIES,
    dataset_name,
    generate_items,
    generate_problems,
    item_from_id,
    reasoning_steps,
    reasoning_variant,
    rephrased_question,
)
from revthink.synthetic.item import HARD, REGULAR_SPLITS, SPLITS, SyntheticItem

__all__ = [
    "DATASETS", "FAMILIES", "HARD", "REGULAR_SPLITS", "SPLITS", "SyntheticItem", "dataset_name",
    "generate_items", "generate_problems", "item_from_id", "reasoning_steps", "reasoning_variant",
    "rephrased_question",
]
