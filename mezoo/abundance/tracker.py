"""Recording abundance during training: `AbundanceTracker` (the trainer's) and `AbundanceCallback` (Keras').

Both write the long-format CSV (`CSV_COLUMNS`; the trainer's `TRACKED_COLUMNS`), TensorBoard summaries
and the latest figures;
`MetricCallback` is the design card's name for `AbundanceCallback`, the same class.
"""

import csv
import importlib.util
import os
from typing import Any, Dict, List, Optional, Sequence, Union

import keras

from mezoo.abundance.measures import METHODS
from mezoo.abundance.tables import CSV_COLUMNS, embedding_abundance, summarize
from mezoo.layers.multi_embedding import MultiEmbedding

# What the trainer's tracker writes: the measures' columns, then the tables' generation (1, then one
# more per warm start: `mezoo.training.warm_start`). Without a generation, `CSV_COLUMNS`.
TRACKED_COLUMNS = (*CSV_COLUMNS, "generation")


class AbundanceTracker:
    """Measures the information abundance of embedding tables and records it: the trainer's half.

    `measure(epoch)` runs `embedding_abundance` on each `MultiEmbedding` layer and

    - appends the rows to `csv_path`, if given: long format with the columns `CSV_COLUMNS`
      (`epoch,field,set,rows,rows_total,width,ia,ia_normalised,erank,ia_random,ia_vs_random,generation`).
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
        generation: the tables' generation, written in each CSV row as a last column (the
            trainer's: a warm-started run's tables are one generation after its parent's); None
            (the default): no such column.
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
        generation: Optional[int] = None,
    ):
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
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
        self.generation = None if generation is None else int(generation)
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
                if self.generation is not None:
                    all_rows[-1]["generation"] = self.generation
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
        columns = CSV_COLUMNS if self.generation is None else TRACKED_COLUMNS
        header = ",".join(columns)
        is_new = not os.path.exists(path) or os.path.getsize(path) == 0
        if not is_new:
            with open(path, newline="") as f:
                existing = f.readline().strip()
            if existing == ",".join(CSV_COLUMNS):  # a run from before generations, resumed: its own columns
                columns = CSV_COLUMNS
            elif existing != header:
                raise ValueError(f"{path} exists with header {existing!r}, not {header!r}: pass another csv_path")
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
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
