"""Data contracts and the TensorFlow input side of mezoo.

- `FeatureSpec` (`feature_spec.py`): the `feature_spec.json` contract (no TensorFlow needed).
- `transform.py`: the single raw -> id transform, in TF ops (vocabulary lookups, OOV id 0,
  Criteo's integer bucketing with exact integer thresholds), plus its numpy/integer reference.
- `examples.py`: batched `tf.train.Example` serialisation and parsing of the TFRecord layout.
- `pipeline.py`: the `tf.data` input pipeline from a spec and a split.
- `shard_errors.py`: naming the damaged shard behind a `tf.data` read error.

TensorFlow is imported lazily, so `from mezoo.data import FeatureSpec` works without it.
"""

from typing import Any

from mezoo.data.feature_spec import FeatureSpec

__all__ = ["FeatureSpec"]  # and, imported on first use, the names in _LAZY

_LAZY = {
    "RawToIds": "mezoo.data.transform",
    "log_square_bucket": "mezoo.data.transform",
    "log_square_bucket_reference": "mezoo.data.transform",
    "log_square_thresholds": "mezoo.data.transform",
    "serialize_examples": "mezoo.data.examples",
    "parse_examples": "mezoo.data.examples",
    "make_dataset": "mezoo.data.pipeline",
    "dataset_fn": "mezoo.data.pipeline",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mezoo.data' has no attribute {name!r}")
