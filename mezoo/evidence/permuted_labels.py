"""A trainer data source whose training labels are permuted: the null a claim's evidence must fail.

The training split's labels are shuffled once over the whole split with a fixed seed (the
classic random-label experiment): each row keeps its features and gets another row's click,
so the click rate stays the same but nothing a model can learn generalises. Validation and
test splits keep their true labels, so a model trained on it scores about 0.5 AUC there.
Everything else (fields, spec, vocabularies) is the base source's.

Args:
    base: a trainer source (`TFRecordSource`, `InMemorySource`, a fraction of one).
    seed: the permutation's seed (the same for every cell of a study: one null data set).

Example:
>>> null = PermutedTrainingLabels(source, seed=0)  # doctest: +SKIP
>>> null.rows("train") == source.rows("train")  # doctest: +SKIP
True
"""

from typing import Any, Dict, List, Optional

import numpy as np

from mezoo.training.data_source import DataSource


class PermutedTrainingLabels(DataSource):
    def __init__(self, base, seed: int = 0):
        self.base, self.seed = base, int(seed)
        self.description = f"{base.description}, training labels permuted (seed {self.seed})"
        self.fields: List[Dict[str, Any]] = base.fields
        self.numeric: List[Any] = base.numeric
        self.synthetic, self.planted_auc, self.builtin = base.synthetic, base.planted_auc, base.builtin
        self.spec = getattr(base, "spec", None)
        self._train: Optional[tuple] = None

    def read_error(self, split: str, error: Exception) -> Exception:
        return self.base.read_error(split, error)

    def spec_json(self) -> Optional[str]:
        return self.base.spec_json()

    def save_spec(self, run_dir) -> None:
        self.base.save_spec(run_dir)

    def rows(self, split: str) -> int:
        return self.base.rows(split)

    def training_rows(self) -> tuple:
        """(features, permuted labels) of the whole training split, read once in file order."""
        if self._train is None:
            features: Dict[str, List[np.ndarray]] = {}
            labels = []
            for x, y in self.base.dataset("train", 8192, training=False):
                for key, value in x.items():
                    features.setdefault(key, []).append(np.asarray(value))
                labels.append(np.asarray(y))
            joined = {key: np.concatenate(parts) for key, parts in features.items()}
            clicks = np.concatenate(labels)
            self._train = joined, clicks[np.random.default_rng(self.seed).permutation(len(clicks))]
        return self._train

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

        x, y = self.training_rows()
        if input_context is not None:
            batch_size = input_context.get_per_replica_batch_size(batch_size)
            if input_context.num_input_pipelines > 1:
                keep = np.arange(len(y)) % input_context.num_input_pipelines == input_context.input_pipeline_id
                x, y = {k: v[keep] for k, v in x.items()}, y[keep]
        if training:  # each epoch in its own seeded order, the same however often it is iterated
            order = np.random.default_rng(seed).permutation(len(y))
            x, y = {k: v[order] for k, v in x.items()}, y[order]
        data = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size, drop_remainder=training)
        return (data.skip(skip_batches) if skip_batches else data).prefetch(2)
