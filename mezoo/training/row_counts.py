"""How often the training split looks up each embedding row, so that abundance leaves out the rows it never does.

A row no training batch looks up (a field's OOV row on data whose every value is in the
vocabulary, say) keeps its initial values, or decays to zero under an L2 penalty, whatever the
model learns; counted into IA it makes a table look collapsed (or abundant) for no reason.
The trainer counts the ids of the training split once (`count_training_rows`) and keeps them
in the run directory (`train_row_counts.npz`, one array per categorical field, by name), so a
resumed run, `mezoo.analyze` and `mezoo.scaling` measure the same rows.
"""

from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

from mezoo.atomic import atomic_open
from mezoo.data.multi_valued import CATEGORICAL_KINDS, id_columns
from mezoo.run_layout import ROW_COUNTS

COUNTS_FILE = ROW_COUNTS


def categorical_sizes(source) -> List[tuple]:
    """`(name, vocab_size)` of the source's categorical fields (multi-valued ones too), in field order."""
    return [
        (str(f["name"]), int(f["vocab_size"]))
        for f in source.fields
        if f.get("kind", "categorical") in CATEGORICAL_KINDS
    ]


def count_training_rows(source, batch_size: int = 8192) -> List[np.ndarray]:
    """Per categorical field, how often the training rows look up each id (an int64 array of the
    vocabulary size; a multi-valued field counts each of a row's values, padding not at all)."""
    fields = categorical_sizes(source)
    lengths = id_columns([f for f in source.fields if f.get("kind", "categorical") in CATEGORICAL_KINDS])
    offsets = np.cumsum([0] + [size for _, size in fields])
    column_offsets = np.repeat(offsets[:-1], lengths)
    total = np.zeros(int(offsets[-1]), dtype=np.int64)
    for features, _ in source.dataset("train", batch_size, training=False):
        ids = np.asarray(features["ids"]).astype(np.int64)
        rows = (ids + column_offsets)[ids >= 0]  # PADDING_ID (-1) looks nothing up
        total += np.bincount(rows.ravel(), minlength=int(offsets[-1]))[: int(offsets[-1])]
    return [total[offsets[f] : offsets[f + 1]] for f in range(len(fields))]


def save_row_counts(path: Path, names: List[str], counts: List[np.ndarray]) -> None:
    """Writes the counts (temporary name, then rename: a killed run leaves none or all of it)."""
    with atomic_open(path, "wb") as handle:
        arrays: Dict[str, Any] = dict(zip(names, counts))
        np.savez_compressed(handle, **arrays)


def load_row_counts(path: Path, names: List[str]) -> Optional[List[np.ndarray]]:
    """The counts stored at `path` in the order of `names`, or None if there are none (an older run)."""
    path = Path(path)
    if not path.exists():
        return None
    with np.load(path) as stored:
        missing = [name for name in names if name not in stored.files]
        if missing:
            raise ValueError(f"{path} has no counts for the fields {missing}: delete it to count again")
        return [stored[name] for name in names]


def training_row_counts(run_dir: Path, source, batch_size: int = 8192) -> List[np.ndarray]:
    """The run's counts: read from the run directory, else counted over the training split and stored."""
    names = [name for name, _ in categorical_sizes(source)]
    path = Path(run_dir) / COUNTS_FILE
    counts = load_row_counts(path, names)
    if counts is None:
        counts = count_training_rows(source, batch_size)
        save_row_counts(path, names, counts)
    return counts
