"""A zoo model trained on another Keras backend, for tests/serving/test_other_backend_export.py.

    KERAS_BACKEND=torch python -m tests.serving.other_backend_model DATA OUT

builds DCNv2 ME on the fields of `DATA/feature_spec.json` (no TensorFlow needed), trains it a
few steps on random ids with `compile_model(model, "exact")`, and writes `OUT/model.keras` and
`OUT/predictions.npz` (`ids` and the model's predictions on them): what docs/backends.md's
"Moving a JAX- or PyTorch-trained model to TF Serving" starts from.
"""

import sys
from pathlib import Path

import keras
import numpy as np

from mezoo import models
from mezoo.data.feature_spec import FeatureSpec
from mezoo.training import compile_model


def main(data: Path, out: Path) -> None:
    spec = FeatureSpec.load(str(data / "feature_spec.json"))
    keras.utils.set_random_seed(0)
    model = models.get("dcnv2")(
        spec.model_fields, numeric_fields=spec.numeric_names, num_embedding_sets=2, embedding_dim=4, hidden_units=(16,)
    )
    compile_model(model, "exact")
    rng = np.random.default_rng(0)
    ids = np.stack([rng.integers(0, f[1], 256) for f in spec.model_fields], axis=1).astype("int32")
    inputs = {"ids": ids}
    if spec.numeric_names:
        inputs["dense"] = rng.normal(size=(256, len(spec.numeric_names))).astype("float32")
    model.fit(inputs, rng.integers(0, 2, (256, 1)).astype("float32"), batch_size=64, epochs=1, verbose=0)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    np.savez(out / "predictions.npz", predictions=model.predict(inputs, verbose=0), **inputs)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
