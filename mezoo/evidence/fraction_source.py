"""A trainer data source that trains on a fixed fraction of another source's training split."""

import math
from typing import Any, Dict, List, Optional

from mezoo.training.data_source import DataSource


class TrainingFractionSource(DataSource):
    """The first `fraction` of `base`'s training rows, the same rows every epoch; other splits whole.

    The converters write the training split in a uniformly shuffled order (`mezoo.data`), so its
    first rows are a uniform random subset. Each epoch shuffles that subset with the epoch's
    seed (a buffer of up to `shuffle_buffer` rows) and drops the short last batch, as the
    trainer's sources do. Everything else (fields, spec, its vocabularies, ...) is `base`'s.

    Args:
        base: a trainer source (`TFRecordSource`, `InMemorySource`).
        fraction: in (0, 1].

    Example:
    >>> half = TrainingFractionSource(source, 0.5)  # doctest: +SKIP
    >>> half.rows("train") == source.rows("train") // 2  # doctest: +SKIP
    """

    def __init__(self, base, fraction: float):
        if not 0.0 < float(fraction) <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        self.base = base
        self.fraction = float(fraction)
        self.train_rows = max(1, int(math.floor(base.rows("train") * self.fraction)))
        self.description = f"the first {self.fraction:g} of the training split ({self.train_rows:,} rows) of " + str(
            base.description
        )
        self.fields: List[Dict[str, Any]] = base.fields
        self.numeric: List[Any] = base.numeric
        self.synthetic, self.planted_auc, self.builtin, self.spec = (
            base.synthetic,
            base.planted_auc,
            base.builtin,
            base.spec,
        )

    def read_error(self, split: str, error: Exception) -> Exception:
        return self.base.read_error(split, error)

    def spec_json(self) -> Optional[str]:
        return self.base.spec_json()

    def save_spec(self, run_dir) -> None:
        self.base.save_spec(run_dir)

    def rows(self, split: str) -> int:
        return self.train_rows if split == "train" else self.base.rows(split)

    def dataset(
        self,
        split: str,
        batch_size: int,
        training: bool = False,
        seed: int = 0,
        skip_batches: int = 0,
        input_context=None,
    ):
        if split != "train":
            return self.base.dataset(
                split, batch_size, training=training, seed=seed, skip_batches=skip_batches, input_context=input_context
            )
        import tensorflow as tf

        # Read in file order (no shuffling) so the subset is the same rows every epoch.
        rows = self.base.dataset("train", 4096, training=False).unbatch().take(self.train_rows)
        if input_context is not None:
            batch_size = input_context.get_per_replica_batch_size(batch_size)
            if input_context.num_input_pipelines > 1:
                rows = rows.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
        if training:
            buffer = min(self.train_rows, int(self.base.shuffle_buffer or 262144))
            rows = rows.shuffle(buffer, seed=seed, reshuffle_each_iteration=False)
        data = rows.batch(batch_size, drop_remainder=training)
        return (data.skip(skip_batches) if skip_batches else data).prefetch(tf.data.AUTOTUNE)
