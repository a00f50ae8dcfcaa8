"""Information abundance (IA) of embedding tables, a tracker that records it and a Keras callback that runs it.

For an embedding matrix `E` with `D` rows and `K` columns and singular values `s_1 >= ... >= s_n`
(`n = min(D, K)`), the information abundance is

    IA(E) = sum_k s_k / max_k s_k,        1 <= IA <= min(D, K).

A random matrix with `D >> K` has IA close to `K`; a collapsed (near low-rank) table has IA close
to 1. mezoo reports it per field, uncentred, over all of the field's vocabulary rows:

- for every embedding set `m`: `IA(E_i^(m))`, a `D_i x d` matrix;
- for the field as a whole: the IA of the concatenation `[E_i^(1) .. E_i^(M)]` (`D_i x M*d`), the
  same shape as the single-embedding table of width `M*d` it is compared against;
- beside IA: `ia_random`, the mean IA of standard Gaussian matrices of the same shape
  (`random_abundance`), and `ia_vs_random = IA / ia_random`, the headline measure of collapse:
  about 1 for an untrained (random) table, lower the more it has collapsed, and comparable
  across widths. `ia_normalised = IA / min(D, K)` and the effective rank `erank = exp(H(p))`
  with `p = s / sum(s)` are reported too; `ia_normalised` moves with the aspect ratio `D / K`
  even for random matrices (a 80-row random table has 0.80 at K = 10 and 0.47 at K = 100), so
  it does not compare tables of different widths fairly.

Rows a training run never looked up (each field's OOV row on data where every value is in the
vocabulary, say) keep their initial values, or decay to zero under an L2 penalty, whatever the
model learns: `embedding_abundance(..., row_counts=...)` leaves them out, so that IA describes
the rows training shaped. The trainer passes the training split's id counts.

Singular values come from the exact SVD for small tables and from the eigenvalues of the
`K x K` Gram matrix `E^T E`, accumulated in float64 over row chunks, for tall ones (a
1,000,000 x 100 float32 table takes well under a second on two CPU cores). Every row is used:
there is no row sampling.

Conventions for degenerate input: an all-zero matrix has no largest singular value to divide
by; mezoo defines its IA, normalised IA and effective rank as 0.0 (it carries no information).
Input that is not 2-D, has no rows or no columns, or contains NaN or infinity raises
`ValueError`.

Only numpy and Keras are needed; TensorFlow is imported only when abundance is written as
TensorBoard summaries.

Example:
>>> import numpy as np
>>> information_abundance(np.eye(4))
4.0
>>> information_abundance(np.outer(np.arange(1.0, 6.0), [1.0, 2.0, 3.0]))  # rank 1
1.0
"""

import csv
import functools
import importlib.util
import math
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import keras
import numpy as np

from mezoo.layers.multi_embedding import MultiEmbedding

__all__ = [
    "singular_values",
    "information_abundance",
    "normalized_information_abundance",
    "effective_rank",
    "abundance_stats",
    "random_abundance",
    "embedding_abundance",
    "summarize",
    "AbundanceTracker",
    "AbundanceCallback",
    "MetricCallback",
    "CSV_COLUMNS",
]

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

_METHODS = ("auto", "svd", "gram")
# Rows converted to float64 at a time on the Gram path: 16,384 x 100 float64 is 13 MB, small
# enough to stay near the caches; larger chunks measured slower on a 2-core CPU.
_GRAM_CHUNK_ROWS = 16_384
# "auto" uses the Gram path once the long side exceeds this many times the short side: there
# the SVD's cost grows with D while the Gram path's K x K eigenproblem does not.
_GRAM_ASPECT = 4


def _as_matrix(matrix) -> np.ndarray:
    """Any 2-D array-like (numpy, list, backend tensor, Keras variable) as a numpy array."""
    if isinstance(matrix, np.ndarray):
        array = matrix
    elif isinstance(matrix, (list, tuple)):
        array = np.asarray(matrix, dtype=np.float64)
    else:
        array = keras.ops.convert_to_numpy(matrix)
    if array.ndim != 2:
        raise ValueError(f"Expected a 2-D matrix (rows x columns), got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"Expected a non-empty matrix, got shape {array.shape}")
    if np.iscomplexobj(array):
        raise ValueError("Expected a real matrix, got complex values")
    return array


def _gram(matrix: np.ndarray, chunk_rows: int = _GRAM_CHUNK_ROWS) -> np.ndarray:
    """`A^T A` in float64, converting at most `chunk_rows` rows of `A` to float64 at a time."""
    cols = matrix.shape[1]
    gram = np.zeros((cols, cols), dtype=np.float64)
    for start in range(0, matrix.shape[0], chunk_rows):
        chunk = matrix[start : start + chunk_rows].astype(np.float64)
        gram += chunk.T @ chunk
    return gram


def _singular_values(array: np.ndarray, method: str) -> np.ndarray:
    rows, cols = array.shape
    if method == "auto":
        method = "gram" if max(rows, cols) > _GRAM_ASPECT * min(rows, cols) else "svd"
    if method == "svd":
        values = array.astype(np.float64)
        if not np.all(np.isfinite(values)):
            raise ValueError("The matrix contains NaN or infinite values")
        return np.linalg.svd(values, compute_uv=False)
    if method != "gram":
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    # Singular values of A and A^T agree: use the smaller Gram matrix.
    gram = _gram(array if rows >= cols else array.T)
    if not np.all(np.isfinite(gram)):
        # NaN or inf anywhere in the matrix reaches the Gram matrix; this check is O(K^2).
        raise ValueError("The matrix contains NaN or infinite values")
    eigenvalues = np.linalg.eigvalsh(gram)
    # Rounding leaves zero eigenvalues of the positive semi-definite Gram matrix slightly
    # negative; they are zeros.
    values = np.sqrt(np.clip(eigenvalues, 0.0, None))
    return values[::-1].copy()


def singular_values(matrix, method: str = "auto") -> np.ndarray:
    """Singular values of a 2-D matrix in float64, in descending order (`min(D, K)` of them).

    Args:
        matrix: a `D x K` array-like (numpy array, nested list, backend tensor or Keras variable).
        method: `"svd"`: `np.linalg.svd` in float64. `"gram"`: square roots of the eigenvalues of
            the Gram matrix, accumulated in float64 over row chunks (of the smaller of `E^T E`
            and `E E^T`), so a `1,000,000 x 100` float32 table never needs a float64 copy; it
            squares the condition number, so singular values below about `1e-7 * s_max` are
            resolved only roughly: exact zeros come out as rounding noise of that size. IA, a
            sum dominated by the large values, agrees with the SVD to about 1e-6 relative;
            erank, which weighs the small values more, to about 1e-5. `"auto"` (default): `"gram"` when the
            long side is more than 4 times the short side, else `"svd"`.

    Returns:
        float64 array of the singular values, largest first.

    Raises:
        ValueError: for input that is not 2-D, empty, complex, or not finite, or an unknown method.
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    return _singular_values(_as_matrix(matrix), method)


def _ia(values: np.ndarray) -> float:
    largest = float(values[0]) if values.size else 0.0
    return float(np.sum(values) / largest) if largest > 0.0 else 0.0


def _erank(values: np.ndarray) -> float:
    total = float(np.sum(values))
    if total <= 0.0:
        return 0.0
    p = values[values > 0.0] / total
    return float(math.exp(-np.sum(p * np.log(p))))


def information_abundance(matrix, method: str = "auto") -> float:
    """`sum(s) / max(s)` over the singular values `s` of `matrix`; 0.0 for an all-zero matrix.

    Args:
        matrix: a `D x K` array-like.
        method: `"auto"`, `"svd"` or `"gram"`, as in `singular_values`.

    Returns:
        The information abundance, in `[1, min(D, K)]` (0.0 for an all-zero matrix).
    """
    return _ia(singular_values(matrix, method))


def normalized_information_abundance(matrix, method: str = "auto") -> float:
    """Information abundance divided by its upper bound `min(D, K)`: in `(0, 1]` (0.0 if all zero)."""
    return abundance_stats(matrix, method)["ia_normalised"]


def effective_rank(matrix, method: str = "auto") -> float:
    """Effective rank `exp(H(p))`, `p = s / sum(s)` (Roy and Vetterli, 2007); 0.0 if all zero.

    It lies in `[1, min(D, K)]` like IA but weighs every singular value by its share of the sum,
    where IA measures the sum against the largest one only.
    """
    return _erank(singular_values(matrix, method))


def abundance_stats(matrix, method: str = "auto") -> Dict[str, Union[int, float]]:
    """All abundance figures of one matrix, from one singular value computation.

    Args:
        matrix: a `D x K` array-like.
        method: `"auto"`, `"svd"` or `"gram"`, as in `singular_values`.

    Returns:
        `{"rows": D, "width": K, "ia": ..., "ia_normalised": ..., "erank": ...}`.
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    array = _as_matrix(matrix)
    values = _singular_values(array, method)
    ia = _ia(values)
    return {
        "rows": int(array.shape[0]),
        "width": int(array.shape[1]),
        "ia": ia,
        "ia_normalised": ia / min(array.shape),
        "erank": _erank(values),
    }


@functools.lru_cache(maxsize=4096)
def random_abundance(rows: int, width: int, draws: Optional[int] = None, seed: int = 0) -> float:
    """Mean IA of standard Gaussian `rows x width` matrices: the same-shape random baseline.

    The singular values of an `n x k` Gaussian matrix (`n >= k`) are distributed as those of
    the `k x k` lower-triangular Bartlett factor of its Wishart matrix `G^T G` (diagonal
    `sqrt(chi2(n - i))`, standard normal below), so each draw costs an SVD of `k x k`
    whatever `n` is: a 4,000,000-row table's baseline takes as long as a 100-row one's.

    Args:
        rows: D (>= 1).
        width: K (>= 1).
        draws: matrices averaged; default 32, fewer for wide ones (IA varies less there).
        seed: seed of the draws (the result is a deterministic function of its arguments).

    Returns:
        The mean IA over the draws.

    Example:
    >>> round(random_abundance(1_000_000, 10), 1)  # tall: close to K
    10.0
    >>> random_abundance(10, 10) < 6  # square: far from it
    True
    """
    rows, width = int(rows), int(width)
    if rows < 1 or width < 1:
        raise ValueError(f"random_abundance needs rows >= 1 and width >= 1, got {rows} x {width}")
    n, k = max(rows, width), min(rows, width)
    if draws is None:
        draws = max(4, min(32, 4096 // k))
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(int(draws)):
        factor = np.tril(rng.standard_normal((k, k)), -1)
        factor[np.diag_indices(k)] = np.sqrt(rng.chisquare(n - np.arange(k)))
        values.append(_ia(np.linalg.svd(factor, compute_uv=False)))
    return float(np.mean(values))


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
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
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


def _set_sort_key(set_id) -> tuple:
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
        for set_id, values in sorted(by_set.items(), key=lambda item: _set_sort_key(item[0]))
    }
    ratios = [float(r["ia_vs_random"]) for r in rows if r["set"] == "concat" and "ia_vs_random" in r]
    ratios = [r for r in ratios if not math.isnan(r)]
    if ratios:
        summary["ia_vs_random_mean_concat"] = float(np.mean(ratios))
    return summary


class AbundanceTracker:
    """Measures the information abundance of embedding tables and records it: the trainer's half.

    `measure(epoch)` runs `embedding_abundance` on each `MultiEmbedding` layer and

    - appends the rows to `csv_path`, if given: long format with the columns `CSV_COLUMNS`
      (`epoch,field,set,rows,rows_total,width,ia,ia_normalised,erank,ia_random,ia_vs_random`).
      The header is written only when the file is new or empty, so a resumed run keeps
      appending to the same file (an existing file with another header raises `ValueError`);
    - writes the `summarize` figures as TensorBoard scalars `abundance/ia_mean_concat` etc. at
      step `epoch` to `log_dir`, if given (this needs TensorFlow);
    - keeps the rows (each with its `epoch`) in `latest_rows`, the summary in `latest_summary`
      and the epoch in `latest_epoch`, and returns the summary.

    Epochs count from 1 everywhere abundance is recorded (the CSV, TensorBoard, metrics.json, the
    console): `epoch` is the number of epochs trained when the tables were measured, so the
    first epoch's figures are epoch 1. `AbundanceCallback` passes Keras' 0-based epoch index + 1.

    With several `MultiEmbedding` layers, each layer's figures carry its name as a prefix:
    summary keys and TensorBoard tags `"{layer}/ia_mean_concat"`, CSV fields `"{layer}/{field}"`.

    Args:
        layers: the `MultiEmbedding` layer(s) to measure, or a callable returning them (the
            callback finds them in its model once it has one).
        csv_path: long-format CSV to append to, or None.
        log_dir: TensorBoard log directory for the summary scalars, or None. Requires TensorFlow.
        field_names: field names for a single layer; defaults to the layer's `field_names`, else
            field indices.
        method: `"auto"`, `"svd"` or `"gram"`, as in `singular_values`.
        row_counts: for a single layer, per field the training split's count of each id
            (`embedding_abundance`): rows never looked up are left out. None: every row.

    Example:
    >>> emb = MultiEmbedding([10, 20, 5], embedding_dim=4, num_sets=2)
    >>> emb.build((None, 3))
    >>> summary = AbundanceTracker(emb).measure(epoch=1)
    >>> sorted(summary)[:2]
    ['ia_mean_concat', 'ia_mean_set_0']
    """

    def __init__(
        self,
        layers: Any,
        csv_path: Optional[Union[str, os.PathLike]] = None,
        log_dir: Optional[Union[str, os.PathLike]] = None,
        field_names: Optional[Sequence[str]] = None,
        method: str = "auto",
        row_counts: Optional[Sequence[Any]] = None,
    ):
        if method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
        if log_dir is not None and importlib.util.find_spec("tensorflow") is None:
            raise ImportError(
                "abundance written to TensorBoard (log_dir=...) uses tf.summary, which needs "
                "TensorFlow: install tensorflow, or pass log_dir=None"
            )
        self._layers = layers
        self.csv_path = None if csv_path is None else os.fspath(csv_path)
        self.log_dir = None if log_dir is None else os.fspath(log_dir)
        self.field_names = None if field_names is None else [str(n) for n in field_names]
        self.method = method
        self.row_counts = row_counts
        self.latest_rows: List[Dict] = []
        self.latest_summary: Dict[str, float] = {}
        self.latest_epoch: Optional[int] = None
        self._writer: Any = None  # a tf.summary writer, made on first use

    def layers(self) -> List[MultiEmbedding]:
        """The layers measured (found in the model now, for a callback without `layer=`)."""
        found = (
            self._layers()
            if callable(self._layers) and not isinstance(self._layers, keras.layers.Layer)
            else self._layers
        )
        layers = [found] if isinstance(found, keras.layers.Layer) else list(found)
        for option in ("field_names", "row_counts"):
            if getattr(self, option) is not None and len(layers) > 1:
                raise ValueError(
                    f"{option} applies to a single embedding layer, but there are {len(layers)}: "
                    f"{[sub.name for sub in layers]}"
                )
        return layers

    def measure(self, epoch: int) -> Dict[str, float]:
        """Measures every embedding layer now, records the result as `epoch` (epochs trained), returns the summary."""
        layers = self.layers()
        all_rows: List[Dict[str, Any]] = []
        summary: Dict[str, float] = {}
        for sub in layers:
            rows = embedding_abundance(sub, self.field_names, self.method, self.row_counts)
            prefix = f"{sub.name}/" if len(layers) > 1 else ""
            for row in rows:
                all_rows.append({"epoch": int(epoch), **row, "field": prefix + str(row["field"])})
            summary.update({prefix + key: value for key, value in summarize(rows).items()})
        self.latest_rows, self.latest_summary, self.latest_epoch = all_rows, summary, int(epoch)
        if self.csv_path is not None:
            self._append_csv(all_rows)
        if self.log_dir is not None:
            self._write_tensorboard(summary, int(epoch))
        return summary

    def _append_csv(self, rows: List[Dict]) -> None:
        path = self.csv_path
        assert path is not None, "called only when csv_path is set"
        header = ",".join(CSV_COLUMNS)
        is_new = not os.path.exists(path) or os.path.getsize(path) == 0
        if not is_new:
            with open(path, newline="") as f:
                existing = f.readline().strip()
            if existing != header:
                raise ValueError(f"{path} exists with header {existing!r}, not {header!r}: pass another csv_path")
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, lineterminator="\n")
            if is_new:
                writer.writeheader()
            writer.writerows(rows)

    def _write_tensorboard(self, summary: Dict[str, float], step: int) -> None:
        import tensorflow as tf  # only here: the rest of mezoo.abundance runs without TensorFlow

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        writer = self._writer
        with writer.as_default():
            for key, value in summary.items():
                tf.summary.scalar(f"abundance/{key}", value, step=step)
        writer.flush()

    def close(self) -> None:
        """Closes the TensorBoard writer (a later `measure` opens it again)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class AbundanceCallback(keras.callbacks.Callback):
    """Tracks the information abundance of a model's `MultiEmbedding` tables during `fit`.

    An `AbundanceTracker` run by Keras: every `every_n_epochs` epochs (the first epoch always
    measured, then every n-th: epochs 1, 1 + n, 1 + 2n, ... counted from 1, like the
    `histogram_freq` of Keras' TensorBoard callback) it measures the tables, records them as the
    tracker does (CSV, TensorBoard, `latest_*`) and adds the summary figures (`ia_mean_set_0`,
    ..., `ia_mean_concat`) to the epoch's `logs`, so callbacks after it (`History`,
    `ProgbarLogger`, `CSVLogger`, Keras' `TensorBoard`) see them. On epochs it skips they are
    absent, so `History` lists hold one value per measured epoch only.

    The epoch recorded is the number of epochs trained (Keras' 0-based epoch index + 1), as in
    `AbundanceTracker`. With `at_train_end=True`, the final weights are measured when training
    stops (last epoch or early stopping) on an epoch that the schedule skipped; those rows go to
    the CSV, TensorBoard and `latest_rows` under that last epoch, but no longer reach `History`.

    Args:
        every_n_epochs: measure every this many epochs (>= 1).
        csv_path: long-format CSV to append to, or None.
        log_dir: TensorBoard log directory for the summary scalars, or None. Requires TensorFlow.
        layer: the `MultiEmbedding` (or a list of them) to measure; None finds every
            `MultiEmbedding` in the model, searching nested layers too.
        field_names: field names for a single layer; defaults to the layer's `field_names`, else
            field indices.
        at_train_end: measure the final weights at the end of training if the last epoch was
            skipped by `every_n_epochs`.
        method: `"auto"`, `"svd"` or `"gram"`, as in `singular_values`.
        row_counts: for a single layer, per field the training split's count of each id
            (`embedding_abundance`): rows never looked up are left out. None: every row.

    Example:
    >>> import keras, numpy as np
    >>> ids = keras.Input((3,), dtype="int32")
    >>> emb = MultiEmbedding([10, 20, 5], embedding_dim=4, num_sets=2)(ids)
    >>> out = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(emb))
    >>> model = keras.Model(ids, out)
    >>> model.compile("adam", "binary_crossentropy")
    >>> x = np.zeros((8, 3), "int32"); y = np.ones((8, 1))
    >>> abundance = AbundanceCallback(csv_path="abundance.csv")  # doctest: +SKIP
    >>> history = model.fit(x, y, epochs=2, callbacks=[abundance], verbose=0)  # doctest: +SKIP
    >>> len(history.history["ia_mean_concat"])  # doctest: +SKIP
    2
    """

    def __init__(
        self,
        every_n_epochs: int = 1,
        csv_path: Optional[Union[str, os.PathLike]] = None,
        log_dir: Optional[Union[str, os.PathLike]] = None,
        layer: Optional[Union[MultiEmbedding, Sequence[MultiEmbedding]]] = None,
        field_names: Optional[Sequence[str]] = None,
        at_train_end: bool = True,
        method: str = "auto",
        row_counts: Optional[Sequence[Any]] = None,
    ):
        super().__init__()
        if int(every_n_epochs) < 1:
            raise ValueError(f"every_n_epochs must be >= 1, got {every_n_epochs}")
        self.every_n_epochs = int(every_n_epochs)
        self.layer = layer
        self.at_train_end = bool(at_train_end)
        self.tracker = AbundanceTracker(
            self._find_layers if layer is None else layer, csv_path, log_dir, field_names, method, row_counts
        )
        self._last_seen_epoch: Optional[int] = None
        self._last_measured_epoch: Optional[int] = None

    @property
    def latest_rows(self) -> List[Dict]:
        return self.tracker.latest_rows

    @property
    def latest_summary(self) -> Dict[str, float]:
        return self.tracker.latest_summary

    @property
    def latest_epoch(self) -> Optional[int]:
        return self.tracker.latest_epoch

    def _find_layers(self) -> List[MultiEmbedding]:
        if self.model is None:
            raise ValueError("AbundanceCallback has no model: pass layer=, or use it in model.fit")
        layers = [
            sub
            for sub in self.model._flatten_layers(include_self=False, recursive=True)
            if isinstance(sub, MultiEmbedding)
        ]
        if not layers:
            raise ValueError(
                f"AbundanceCallback found no MultiEmbedding layer in model {self.model.name!r}; "
                "pass the embedding layer as layer="
            )
        return layers

    def compute(self, epoch: int) -> Dict[str, float]:
        """Measures now and records the result as `epoch` (epochs trained, from 1); returns the summary."""
        self._last_measured_epoch = int(epoch)
        return self.tracker.measure(epoch)

    def on_train_begin(self, logs=None):
        self._last_seen_epoch = self._last_measured_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        trained = int(epoch) + 1
        self._last_seen_epoch = trained
        if epoch % self.every_n_epochs != 0:
            return
        summary = self.compute(trained)
        if logs is not None:
            logs.update(summary)

    def on_train_end(self, logs=None):
        if (
            self.at_train_end
            and self._last_seen_epoch is not None
            and self._last_measured_epoch != self._last_seen_epoch
        ):
            self.compute(self._last_seen_epoch)
        self.tracker.close()


MetricCallback = AbundanceCallback  # the name it had first; kept for existing code
