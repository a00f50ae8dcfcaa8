"""Helpers for the multi-worker test: data, the worker command, and the one-process reference.

    python -m tests.training.multi_worker_run DATA OUT EPOCHS [OVERRIDE ...]

runs, in one process on one device with Keras `fit`, the reference (each step's batch is the
concatenation of the batches the two workers' input pipelines read: the same global batches)
into OUT/reference, and a control into OUT/unsharded whose two halves both come from every
file (what an unsharded multi-worker input would feed).
"""

import json
import sys
from pathlib import Path

import numpy as np

VOCAB = [20, 30, 10, 15, 25]
WORKERS = 2
TRAIN_FILES = 4
OVERRIDES = [
    "model.num_embedding_sets=2",
    "model.hidden_units=[16, 16]",
    "model.dropout=0.0",  # dropout masks would differ between one device and two workers
    "data.batch_size=64",
    "train.steps_per_epoch=4",
    "train.backup_every_steps=3",  # a mid-epoch backup in each epoch
    "train.early_stopping_patience=5",
    "train.jit_compile=false",  # multi-worker runs without XLA; so does the reference
    "train.learning_rate=0.003",
]
RECIPE = "dcnv2_me_criteo"


def write_data(directory, rows_per_file: int = 256, seed: int = 1) -> Path:
    """A converted directory: feature_spec.json and gzip TFRecord shards of planted clicks."""
    import tensorflow as tf

    from mezoo.data.examples import serialize_examples
    from mezoo.data.planted import planted_click_log

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    split_files = {"train": TRAIN_FILES, "valid": 1, "test": 1}
    ids, clicks, _ = planted_click_log(rows_per_file * sum(split_files.values()), VOCAB, seed=seed)
    start, splits = 0, {}
    for split, files in split_files.items():
        for i in range(files):
            rows = slice(start, start + rows_per_file)
            start += rows_per_file
            with tf.io.TFRecordWriter(str(directory / f"{split}-{i:05d}.tfrecord.gz"), "GZIP") as writer:
                for record in serialize_examples(clicks[rows, 0], ids[rows]).numpy():
                    writer.write(record)
        splits[split] = {"files": f"{split}-*.tfrecord.gz", "rows": files * rows_per_file}
    spec = {
        "format_version": 1,
        "dataset": "criteo",
        "label": "label",
        "fields": [{"name": f"f{i}", "kind": "categorical", "vocab_size": v} for i, v in enumerate(VOCAB)],
        "numeric": [],
        "splits": splits,
    }
    (directory / "feature_spec.json").write_text(json.dumps(spec, indent=1))
    return directory


def worker_command(data, run_dir, epochs: int, extra=()):
    overrides = OVERRIDES + [f"train.epochs={epochs}", *extra]
    return [
        sys.executable,
        "-m",
        "mezoo.train",
        "--recipe",
        RECIPE,
        "--data",
        str(data),
        "--run_dir",
        str(run_dir),
        "--strategy",
        "multi_worker",
        *[f"--set={o}" for o in overrides],
    ]


class ConcatenatedPipelines:
    """A source whose training batches concatenate what several input pipelines read.

    `pipelines`: `(num_input_pipelines, input_pipeline_id)` per part, in batch order. With
    `[(2, 0), (2, 1)]` a step sees what two workers together see; with `[(1, 0), (1, 0)]` both
    halves come from all the files, as if the workers did not shard. Evaluation is unchanged.
    """

    def __init__(self, source, pipelines):
        self.source, self.pipelines = source, pipelines

    def __getattr__(self, name):
        return getattr(self.source, name)

    def dataset(self, split, batch_size, training=False, seed=0, skip_batches=0, input_context=None):
        import tensorflow as tf

        if not training:
            return self.source.dataset(split, batch_size, training=False)
        assert input_context is None, "the reference runs on one device"
        parts = [
            self.source.dataset(
                split,
                batch_size,
                training=True,
                seed=seed,
                input_context=tf.distribute.InputContext(n, i, len(self.pipelines)),
            )
            for n, i in self.pipelines
        ]
        joined = tf.data.Dataset.zip(tuple(parts)).map(lambda *b: tf.nest.map_structure(lambda *t: tf.concat(t, 0), *b))
        return joined.skip(skip_batches)


def reference(data, out, epochs: int, extra=()) -> None:
    from mezoo.training.data_sources import TFRecordSource
    from mezoo.training.trainer import train

    controls = {"reference": [(WORKERS, i) for i in range(WORKERS)], "unsharded": [(1, 0)] * WORKERS}
    for name, pipelines in controls.items():
        source = ConcatenatedPipelines(TFRecordSource(data), pipelines)
        train(
            RECIPE,
            OVERRIDES + [f"train.epochs={epochs}", "train.loop=fit", *extra],
            run_dir=Path(out) / name,
            strategy="one_device",
            source=source,
            verbose=0,
        )


def h5_arrays(path) -> dict:
    """Every array in a `.weights.h5` file (model and optimizer variables) by its path."""
    import h5py

    arrays = {}
    with h5py.File(path, "r") as f:
        f.visititems(
            lambda name, obj: arrays.__setitem__(name, np.asarray(obj)) if isinstance(obj, h5py.Dataset) else None
        )
    return arrays


if __name__ == "__main__":
    reference(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:])
