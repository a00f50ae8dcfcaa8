"""InMemorySource: numpy arrays as a trainer data source (tests, notebooks, small data)."""

from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from mezoo.training.data_source import DataSource


class InMemorySource(DataSource):
    """Splits held in memory, served as `tf.data` batches the way the TFRecord source serves them.

    Args:
        fields: `(name, vocab_size)` pairs of the categorical fields.
        splits: `{"train": (features, labels), "valid": ..., "test": ...}` with features the
            model input dict (`{"ids": (rows, fields)}`, plus `"dense"` with numeric fields) and
            labels `(rows,)` or `(rows, 1)` in {0, 1}.
        numeric: names of the numeric fields.
        synthetic: whether the rows are generated (recorded in metrics.json).
        planted_auc: the generating model's own test AUC, when known.
    """

    def __init__(
        self,
        fields: Sequence[Tuple[str, int]],
        splits: Dict[str, Tuple[Dict[str, np.ndarray], np.ndarray]],
        numeric: Sequence[str] = (),
        synthetic: bool = False,
        planted_auc: Optional[float] = None,
        description: str = "in-memory arrays",
    ):
        self.fields = [{"name": n, "vocab_size": int(v), "kind": "categorical"} for n, v in fields]
        self.numeric = list(numeric)
        self.splits = {
            name: ({k: np.asarray(v) for k, v in x.items()}, np.asarray(y, "float32").reshape(-1, 1))
            for name, (x, y) in splits.items()
        }
        self.synthetic = synthetic
        self.planted_auc = planted_auc
        self.description = description

    def rows(self, split: str) -> int:
        return len(self.splits[split][1])

    def dataset(
        self,
        split: str,
        batch_size: int,
        training: bool = False,
        seed: int = 0,
        skip_batches: int = 0,
        input_context=None,
    ):
        """Batches of `split`: shuffled with `seed` and without a short last batch when training.

        With `input_context` (`tf.distribute`), `batch_size` is the global batch size, divided
        among the replicas (as `mezoo.data.make_dataset`), and each input pipeline serves every
        n-th row.
        """
        import tensorflow as tf

        x, y = self.splits[split]
        if input_context is not None:
            batch_size = input_context.get_per_replica_batch_size(batch_size)
        if input_context is not None and input_context.num_input_pipelines > 1:
            keep = np.arange(len(y)) % input_context.num_input_pipelines == input_context.input_pipeline_id
            x, y = {k: v[keep] for k, v in x.items()}, y[keep]
        if training:
            order = np.random.default_rng(seed).permutation(len(y))
            x, y = {k: v[order] for k, v in x.items()}, y[order]
        data = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size, drop_remainder=training)
        return data.skip(skip_batches).prefetch(2)
