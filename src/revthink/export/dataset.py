"""The augmented records as a Hugging Face dataset: one parquet file and a dataset card.

    datasets.load_dataset("parquet", data_files="DIR/dataset/data/*.parquet")

One row a record, the problem's fields flattened beside the teacher's texts (columns:
``cards.COLUMNS``); the schema is fixed, so a column that is empty in every record (no
consistency verdicts, no rephrasings) keeps its type.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from revthink.config import ExperimentConfig
from revthink.errors import DataError
from revthink.export.cards import CARD, COLUMNS, dataset_card
from revthink.records import AugmentedExample, read_jsonl

DATA_FILE = "data/train-00000-of-00001.parquet"
DATA_GLOB = "data/train-*.parquet"
LISTS = frozenset({"options", "extra_forward", "flags"})


def write_dataset(cfg: ExperimentConfig, run_dir: Path, folder: Path) -> Path:
    """Write ``folder/data/*.parquet`` and ``folder/README.md``; returns the parquet file."""
    import pyarrow.parquet as pq
    from datasets import Dataset

    path = run_dir / "augment" / "records.jsonl"
    if not path.is_file():
        raise DataError(f"{path}: no augmented records; run `revthink augment` first")
    records = read_jsonl(path, AugmentedExample)
    out = folder / DATA_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    table = Dataset.from_list([row(r) for r in records], features=features()).data.table
    pq.write_table(table, out)  # with the features in its metadata; no progress bar
    card = dataset_card(cfg, run_dir, len(records), DATA_GLOB)
    (folder / CARD).write_text(card, encoding="utf-8")
    return out


def row(record: AugmentedExample) -> dict[str, Any]:
    """One record as a flat row of ``COLUMNS``."""
    p = record.problem
    return {
        "id": record.id, "dataset": p.dataset, "question": p.question, "answer": p.answer,
        "answer_type": p.answer_type, "options": list(p.options), "reference": p.reference,
        "forward_reasoning": record.forward_reasoning,
        "backward_question": record.backward_question,
        "backward_reasoning": record.backward_reasoning, "consistent": record.consistent,
        "backward_answer": record.backward_answer, "extra_forward": list(record.extra_forward),
        "rephrased_question": record.rephrased_question, "teacher": record.teacher,
        "flags": list(record.flags),
    }


def features() -> Any:
    """The parquet schema: strings, lists of strings, and the consistency verdict."""
    from datasets import Features, List, Value

    def kind(name: str) -> Any:
        if name in LISTS:
            return List(Value("string"))
        return Value("bool") if name == "consistent" else Value("string")

    return Features({name: kind(name) for name in COLUMNS})
