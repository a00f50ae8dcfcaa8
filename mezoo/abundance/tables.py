"""Abundance per field and embedding set of a `MultiEmbedding`, the rows a run measures, and their summary.

Example:
>>> from mezoo.layers import MultiEmbedding
>>> layer = MultiEmbedding(vocab_sizes=[100, 50], embedding_dim=4, num_sets=2)
>>> layer.build((None, 2))
>>> sorted(summarize(embedding_abundance(layer)))
['ia_mean_concat', 'ia_mean_set_0', 'ia_mean_set_1', 'ia_vs_random_mean_concat']
"""

import math
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import keras
import numpy as np

from mezoo.abundance.measures import METHODS, abundance_stats, random_abundance
from mezoo.layers.multi_embedding import MultiEmbedding

# Columns of the long-format abundance CSV written by `AbundanceTracker`: `rows` are the rows
# measured (those training looked up, when counts are given), `rows_total` the table's rows.
CSV_COLUMNS = (
    "epoch",
    "field",
    "set",
    "rows",
    "rows_total",
    "width",
    "ia",
    "ia_normalised",
    "erank",
    "ia_random",
    "ia_vs_random",
)


def _measured_stats(block: np.ndarray, method: str) -> Dict[str, Union[int, float]]:
    """`abundance_stats` of a table's measured rows, with the random baseline beside it."""
    if block.shape[0] == 0:  # no row of this field was looked up: nothing to measure
        nan = float("nan")
        empty = {"rows": 0, "width": int(block.shape[1]), "ia": 0.0, "ia_normalised": 0.0, "erank": 0.0}
        return {**empty, "ia_random": nan, "ia_vs_random": nan}
    stats = abundance_stats(block, method)
    baseline = random_abundance(block.shape[0], block.shape[1])
    return {**stats, "ia_random": baseline, "ia_vs_random": float(stats["ia"]) / baseline}


def live_row_masks(row_counts: Sequence[Any], vocab_sizes: Sequence[int]) -> List[np.ndarray]:
    """Per field, the rows with a non-zero count (the rows training looked up)."""
    if len(row_counts) != len(vocab_sizes):
        raise ValueError(f"row_counts has {len(row_counts)} fields, the table {len(vocab_sizes)}")
    masks = []
    for field, (counts, size) in enumerate(zip(row_counts, vocab_sizes)):
        counts = np.asarray(counts)
        if counts.shape != (int(size),):
            raise ValueError(f"row_counts of field {field} has shape {counts.shape}, the field has {size} rows")
        masks.append(counts > 0)
    return masks


def embedding_abundance(
    layer: MultiEmbedding,
    field_names: Optional[Sequence[str]] = None,
    method: str = "auto",
    row_counts: Optional[Sequence[Any]] = None,
) -> List[Dict[str, Union[str, int, float]]]:
    """Abundance of every field of a `MultiEmbedding`, per embedding set and concatenated.

    For each field (in the layer's field order) there are `num_sets + 1` rows: sets
    `0 .. num_sets-1` (each the field's `vocab_size x embedding_dim` table), then `"concat"`, the
    field's `vocab_size x num_sets*embedding_dim` concatenation of all sets. The concat row is
    always present, also for `num_sets=1` where it equals set 0, so every run's table has the same
    shape and single- and multi-embedding runs line up on the `"concat"` rows.

    The fused table is copied from the device once; fields and sets are numpy views of it.

    Args:
        layer: a built `MultiEmbedding`.
        field_names: names for the `field` column; defaults to `layer.field_names`, else the
            field index as a string ("0", "1", ...).
        method: `"auto"`, `"svd"` or `"gram"`, as in `singular_values`.
        row_counts: per field, how often training looked up each row (an array of the field's
            vocabulary size); rows with count 0 are left out of every figure. None: all rows.

    Returns:
        A list of dicts with keys `field` (str), `set` (int, or the string `"concat"`), `rows`
        (rows measured), `rows_total` (the field's rows), `width`, `ia`, `ia_normalised`,
        `erank`, `ia_random` (`random_abundance` of the measured shape) and `ia_vs_random`.

    Example:
    >>> layer = MultiEmbedding(vocab_sizes=[100, 50], embedding_dim=4, num_sets=2)
    >>> layer.build((None, 2))
    >>> [(r["field"], r["set"], r["width"]) for r in embedding_abundance(layer)][:3]
    [('0', 0, 4), ('0', 1, 4), ('0', 'concat', 8)]
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if getattr(layer, "embeddings", None) is None:
        raise ValueError(
            f"Layer {getattr(layer, 'name', layer)!r} has no embeddings yet: build it (call it on "
            "a batch, or build the model) before measuring its abundance"
        )
    num_fields, num_sets, dim = layer.num_fields, layer.num_sets, layer.embedding_dim
    if field_names is None:
        field_names = layer.field_names
    if field_names is None:
        field_names = [str(f) for f in range(num_fields)]
    if len(field_names) != num_fields:
        raise ValueError(f"field_names has {len(field_names)} names for {num_fields} fields")

    table = keras.ops.convert_to_numpy(layer.embeddings)
    offsets = layer.offsets
    sizes = [int(offsets[f + 1]) - int(offsets[f]) for f in range(num_fields)]
    masks = None if row_counts is None else live_row_masks(row_counts, sizes)
    results = []
    for field in range(num_fields):
        rows = table[int(offsets[field]) : int(offsets[field + 1])]
        if masks is not None:
            rows = rows[masks[field]]
        blocks: List[Tuple[Union[int, str], np.ndarray]] = [
            (m, rows[:, m * dim : (m + 1) * dim]) for m in range(num_sets)
        ]
        blocks.append(("concat", rows))
        for set_id, block in blocks:
            stats = _measured_stats(block, method)
            results.append({"field": str(field_names[field]), "set": set_id, **stats, "rows_total": sizes[field]})
    return results


def set_sort_key(set_id) -> tuple:
    return (1, 0) if set_id == "concat" else (0, int(set_id))


def summarize(rows: Sequence[Dict]) -> Dict[str, float]:
    """Mean IA over fields, per set and of the concatenation, and the concatenation's mean IA / random IA.

    Args:
        rows: rows as returned by `embedding_abundance`.

    Returns:
        `{"ia_mean_set_0": ..., ..., "ia_mean_set_{M-1}": ..., "ia_mean_concat": ...,
        "ia_vs_random_mean_concat": ...}` (plain floats; empty for no rows; fields with no
        measured row are left out of the IA / random IA mean).
    """
    by_set: Dict = {}
    for row in rows:
        by_set.setdefault(row["set"], []).append(float(row["ia"]))
    summary = {
        (f"ia_mean_{set_id}" if set_id == "concat" else f"ia_mean_set_{set_id}"): float(np.mean(values))
        for set_id, values in sorted(by_set.items(), key=lambda item: set_sort_key(item[0]))
    }
    ratios = [float(r["ia_vs_random"]) for r in rows if r["set"] == "concat" and "ia_vs_random" in r]
    ratios = [r for r in ratios if not math.isnan(r)]
    if ratios:
        summary["ia_vs_random_mean_concat"] = float(np.mean(ratios))
    return summary
