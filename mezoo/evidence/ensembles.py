"""The ensemble baseline of a scaling study, and abundance checks that tell collapse from simpler effects.

**Ensemble** (`ENS` cells): is ME better than simply averaging k independently trained
single-embedding models? An ensemble cell at scale k is k SE 1x runs of the study (each with its
own table of width d, interaction module and head, trained alone with its own seed) whose test
probabilities are averaged. Its embedding parameters equal ME's and SE's at scale k (k tables of
width d); its other parameters are k full towers, more than ME's (the row says how many). It is
not trained itself: its members are the study's SE 1x cells `member_seeds(seed, k)`, seeds from
`FIRST_MEMBER_SEED` on (the seeds below it are the study's own SE 1x baseline), `POOL` per
ensemble seed, so that an ensemble seed's members at 4x are the first four of its members at 10x.
Its abundance is that of the members' tables concatenated per field, the shape of ME's
concatenation at the same scale.

**Checks** (`table_checks`): information abundance reads a table's singular values, which a
shared mean offset of the rows or row norms that grow with a value's frequency also shape,
without any collapse of the directions the model uses. Beside the paper's IA / random IA, a
field's table is measured centred (column means removed) and row-normalised (each row scaled
to unit length); where the three agree, collapse is the simpler reading.

Example:
>>> member_seeds(0, 4), member_seeds(2, 10)[:2]
([3, 4, 5, 6], [23, 24])
"""

from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from mezoo.abundance import information_abundance, random_abundance
from mezoo.errors import BadInput

FIRST_MEMBER_SEED = 3
POOL = 10  # members per ensemble seed: the largest ensemble scale


class EnsembleError(BadInput, ValueError):
    """An ensemble that can't be assembled (a scale above the pool, members on other test rows)."""


def member_seeds(seed: int, scale: int) -> List[int]:
    """The SE 1x seeds whose runs make ensemble `seed` at `scale`."""
    if not 1 < scale <= POOL:
        raise EnsembleError(f"an ensemble has 2 to {POOL} members; scale {scale} asked for")
    return [FIRST_MEMBER_SEED + POOL * int(seed) + j for j in range(int(scale))]


def ratio_to_random(table: np.ndarray) -> float:
    """IA of a table over that of a random table of its shape (nan for an empty table)."""
    if table.shape[0] == 0:
        return float("nan")
    return information_abundance(table) / random_abundance(table.shape[0], table.shape[1])


def table_checks(table: np.ndarray) -> Dict[str, float]:
    """A field's table (live rows x width): the paper's IA / random IA, and the same of the table centred
    (column means removed) and row-normalised (rows scaled to unit length; all-zero rows left out)."""
    table = np.asarray(table, dtype=np.float64)
    norms = np.linalg.norm(table, axis=1, keepdims=True)
    live = norms[:, 0] > 0
    return {
        "ia_vs_random": ratio_to_random(table),
        "centred_vs_random": ratio_to_random(table - table.mean(axis=0, keepdims=True)),
        "row_normalised_vs_random": ratio_to_random(table[live] / norms[live]),
    }


def field_tables(models: Sequence, row_counts: Optional[Sequence[np.ndarray]]) -> Dict[str, np.ndarray]:
    """Per field, the concatenation over `models` of its table's rows training looked up (all rows
    without counts): ME's sets side by side for one ME model, the members' tables for an ensemble."""
    tables: Dict[str, List[np.ndarray]] = {}
    for model in models:
        layer = model.multi_embedding
        embeddings = np.asarray(layer.embeddings.numpy() if hasattr(layer.embeddings, "numpy") else layer.embeddings)
        offsets, names = layer.offsets, layer.field_names or [str(f) for f in range(layer.num_fields)]
        for field, name in enumerate(names):
            rows = embeddings[int(offsets[field]) : int(offsets[field + 1])]
            if row_counts is not None:
                rows = rows[np.asarray(row_counts[field]) > 0]
            tables.setdefault(str(name), []).append(rows)
    return {name: np.concatenate(parts, axis=1) for name, parts in tables.items()}


def checks_rows(cell_key: str, tables: Dict[str, np.ndarray]) -> List[Dict]:
    """The rows of a study's `abundance_checks.csv` for one cell: one per field."""
    return [
        {"cell": cell_key, "field": name, "rows": int(t.shape[0]), "width": int(t.shape[1]), **table_checks(t)}
        for name, t in tables.items()
    ]


def averaged_predictions(member_files: Sequence[Path]) -> Dict:
    """The members' kept test predictions averaged, refused unless all were scored on the same rows."""
    from mezoo.training.predictions import load_predictions

    kept = [load_predictions(path) for path in member_files]
    rows = {(k["labels_sha256"], k["rows"]) for k in kept}
    if len(rows) != 1:
        raise EnsembleError(f"the members {', '.join(map(str, member_files))} were scored on different test rows")
    digest, count = rows.pop()
    probability = np.mean([k["probability"].astype(np.float64) for k in kept], axis=0)
    return {"probability": probability.astype(np.float32), "labels_sha256": digest, "rows": count}
