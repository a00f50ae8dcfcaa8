"""Runs TFRS `Cross` (Keras 2) on cases from an .npz file and writes its outputs.

Started by tests in a subprocess with TF_USE_LEGACY_KERAS=1, since TFRS cannot import under
Keras 3. Usage: python tfrs_cross_oracle.py CASES.npz OUT.npz
"""

import json
import sys

import numpy as np
import tensorflow as tf
import tf_keras

assert tf.keras.Model is tf_keras.Model, "tf.keras is not tf_keras: TF_USE_LEGACY_KERAS=1 missing"
import tensorflow_recommenders as tfrs  # noqa: E402

cases = np.load(sys.argv[1])
specs = json.loads(str(cases["specs"]))
outputs = {}
for i, spec in enumerate(specs):
    layer = tfrs.layers.dcn.Cross(
        projection_dim=spec["projection_dim"], diag_scale=spec["diag_scale"], use_bias=spec["use_bias"]
    )
    x0, x = cases[f"x0_{i}"], cases[f"x_{i}"]
    layer(x0, x)
    layer.set_weights([cases[f"w{i}_{k}"] for k in range(spec["num_weights"])])
    outputs[f"out_{i}"] = layer(x0, x).numpy()
np.savez(sys.argv[2], **outputs)
