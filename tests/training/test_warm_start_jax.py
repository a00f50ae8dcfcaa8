"""Warm start on JAX with row-sharded tables (4 virtual CPU devices): the parent's rows go to the same
ids of the padded, sharded table, the padding stays zero, the model scores the parent's ids as the
parent did, and one training step runs.

The run is a subprocess (`python -m tests.training.test_warm_start_jax DIR`): the virtual devices
must be configured before JAX starts.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("jax")

OLD = [37, 101, 13, 7, 251]  # 409 rows: padded to 412 on 4 devices
NEW = [40, 101, 19, 7, 260]  # 427 rows: padded to 428
FAMILIES = {
    "dcnv2_me": ("dcnv2", {"num_embedding_sets": 2, "embedding_dim": 4, "hidden_units": [16], "num_cross_layers": 2}),
    "deepfm_me": ("deepfm", {"num_embedding_sets": 2, "embedding_dim": 4, "hidden_units": [16]}),
}


def test_a_sharded_jax_model_warm_starts_id_for_id(tmp_path):
    from tests.training.jax_processes import ROOT, jax_env

    done = subprocess.run(
        [sys.executable, "-m", "tests.training.test_warm_start_jax", str(tmp_path)],
        cwd=ROOT,
        env=jax_env(4),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for name in FAMILIES:
        record = result[name]
        assert record["rows"] == {"multi_embedding/embeddings": 428} | (
            {"first_order/table": 428} if name.startswith("deepfm") else {}
        )
        assert record["sharded"] and record["kept_equal"] and record["padding_zero"]
        assert record["max_score_diff"] <= 1e-6
        assert np.isfinite(record["loss"])


def main(directory):
    import os

    import keras

    import mezoo
    from mezoo.training import warm_start
    from mezoo.training.jax_distribution import make_distribution
    from mezoo.training.training_mode import compile_model

    class NoSpec:
        spec = None

    rng = np.random.default_rng(7)
    ids = np.stack([rng.integers(0, v, 64) for v in OLD], 1).astype("int32")
    labels = (rng.random((64, 1)) < 0.3).astype("float32")
    result = {}
    for name, (family, arguments) in FAMILIES.items():
        run_dir = f"{directory}/{name}"
        keras.distribution.set_distribution(None)
        keras.utils.set_random_seed(1)
        parent = mezoo.models.get(family)([(f"f{i}", v) for i, v in enumerate(OLD)], dropout=0.0, **arguments)
        compile_model(parent, "exact")
        parent.fit({"ids": ids}, labels, batch_size=32, epochs=1, verbose=0)  # first-order weights off zero
        parent_scores = np.asarray(parent.predict_on_batch({"ids": ids[:32]}))
        os.makedirs(run_dir)
        parent.save(f"{run_dir}/model.keras")
        keras.distribution.set_distribution(make_distribution("model_parallel", None, 32).distribution)
        keras.utils.set_random_seed(2)
        child = mezoo.models.get(family)([(f"f{i}", v) for i, v in enumerate(NEW)], dropout=0.0, **arguments)
        compile_model(child, "exact")
        warm_start.WarmStart.open(run_dir, child, NoSpec()).apply(child)
        layers = list(zip(warm_start.row_table_layers(parent), warm_start.row_table_layers(child)))
        record = {"rows": {}, "kept_equal": True, "padding_zero": True, "sharded": True}
        for old_layer, new_layer in layers:
            old_var, new_var = warm_start.table_variable(old_layer), warm_start.table_variable(new_layer)
            record["rows"][new_var.path] = int(new_var.shape[0])
            record["sharded"] &= not new_var.value.sharding.is_fully_replicated
            old_value, new_value = np.asarray(old_var.value), np.asarray(new_var.value)
            old_offsets, new_offsets = np.cumsum([0] + OLD), np.cumsum([0] + NEW)
            for f, rows in enumerate(OLD):
                kept = new_value[new_offsets[f] : new_offsets[f] + rows]
                record["kept_equal"] &= kept.tobytes() == old_value[old_offsets[f] : old_offsets[f] + rows].tobytes()
            record["padding_zero"] &= bool(np.all(new_value[sum(NEW) :] == 0))
        scores = np.asarray(child.predict_on_batch({"ids": ids[:32]}))
        record["max_score_diff"] = float(np.max(np.abs(scores - parent_scores)))
        record["loss"] = float(child.fit({"ids": ids}, labels, batch_size=32, epochs=1, verbose=0).history["loss"][-1])
        result[name] = record
    keras.distribution.set_distribution(None)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
