"""Trains small zoo models on JAX under each distribution over 4 virtual CPU devices; prints JSON.

Run by tests/training/test_jax_distribution.py as
`KERAS_BACKEND=jax XLA_FLAGS=--xla_force_host_platform_device_count=4 python -m tests.training.sharded_jax_run`
(with `--process I --processes N --port P`: one process of a multi-host run of the ME model).
For each model (SE and ME DCNv2, ME DeepFM with its first-order table) and each placement (one
device, data parallel, model parallel on the default one-axis mesh and on a 2 x 2 mesh), the
same seeded model takes `STEPS` Adam steps on the same batches; the JSON holds the losses, the
largest difference of every weight from the one-device run, each table's sharding and padding,
and the errors of meshes that can't be laid out.
"""

import argparse
import json

import keras
import numpy as np

VOCABS = [37, 101, 13, 7, 251]  # 409 rows: a multiple of no device count, so the tables are padded
BATCH, STEPS = 64, 6
MODELS = {
    "dcnv2_se": ("dcnv2", {"num_embedding_sets": 1, "embedding_dim": 8, "hidden_units": [16], "num_cross_layers": 2}),
    "dcnv2_me": ("dcnv2", {"num_embedding_sets": 4, "embedding_dim": 4, "hidden_units": [16], "num_cross_layers": 2}),
    "deepfm_me": ("deepfm", {"num_embedding_sets": 2, "embedding_dim": 4, "hidden_units": [16]}),
}
PLACEMENTS = {
    "one_device": None,
    "data_parallel": ("data_parallel", None),
    "model_parallel": ("model_parallel", None),
    "model_parallel_2x2": ("model_parallel", {"batch": 2, "model": 2}),
}


def data():
    rng = np.random.default_rng(7)
    ids = np.stack([rng.integers(0, v, BATCH * STEPS) for v in VOCABS], 1).astype("int32")
    labels = (rng.random((BATCH * STEPS, 1)) < 0.3).astype("float32")
    return {"ids": ids}, labels


def seeded_model(name):
    """`MODELS[name]`, seeded, compiled in exact mode (under the distribution set, if any)."""
    import mezoo
    from mezoo.training.training_mode import compile_model

    keras.utils.set_random_seed(1)
    family, arguments = MODELS[name]
    fields = [(f"f{i}", v) for i, v in enumerate(VOCABS)]
    model = mezoo.models.get(family)(fields, dropout=0.0, l2_regularization=1e-3, **arguments)
    return compile_model(model, "exact")


def train(name, placement):
    from mezoo.training.jax_distribution import make_distribution, table_shardings

    keras.distribution.set_distribution(None)
    record = {}
    if placement is not None:
        dist = make_distribution(placement[0], placement[1], BATCH)
        keras.distribution.set_distribution(dist.distribution)
        record["mesh"] = dist.mesh
    model = seeded_model(name)
    x, y = data()
    history = model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    record["loss"] = history.history["loss"][-1]
    record["scores"] = np.asarray(model.predict_on_batch({"ids": x["ids"][:BATCH]})).reshape(-1).tolist()
    record["weights"] = {w.path: real_rows(w, model) for w in model.weights}
    if placement is not None:
        record["tables"] = {
            path: {"spec": str(sharding.spec), "rows": int(dict((w.path, w.shape[0]) for w in model.weights)[path])}
            for path, sharding in table_shardings(model).items()
        }
        record["replicated"] = sorted(
            w.path for w in model.weights if w.path not in record["tables"] and w.value.sharding.is_fully_replicated
        )
        record["padding_zero"] = all(
            bool(np.all(np.asarray(w.value)[sum(VOCABS) :] == 0)) for w in model.weights if w.path in record["tables"]
        )
    keras.distribution.set_distribution(None)
    return record


def train_multi_process():
    """The ME model under model parallelism across the processes: fit's loss (Keras takes tf.data there,
    each process reading its share of every global batch)."""
    import tensorflow as tf

    from mezoo.training.jax_distribution import make_distribution

    dist = make_distribution("model_parallel", None, BATCH)
    keras.distribution.set_distribution(dist.distribution)
    model = seeded_model("dcnv2_me")
    x, y = data()
    history = model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH), epochs=1, verbose=0)
    return history.history["loss"][-1]


def score(run_dir, data_dir, out):
    """A run's model.keras loaded under model parallelism, scoring the test split of `data_dir` into `out` (.npy)."""
    from jax import devices as jax_devices

    from mezoo.data import FeatureSpec, make_dataset
    from mezoo.training.jax_distribution import make_distribution, table_shardings

    dist = make_distribution("model_parallel", None, len(jax_devices()))
    keras.distribution.set_distribution(dist.distribution)
    model = keras.models.load_model(f"{run_dir}/model.keras")
    spec = FeatureSpec.load(data_dir)
    scores = [
        model.predict_on_batch(keras.tree.map_structure(np.asarray, x))
        for x, _ in make_dataset(spec, "test", 1000, training=False, deterministic=True)
    ]
    np.save(out, np.concatenate(scores).reshape(-1))
    return {path: str(sharding.spec) for path, sharding in table_shardings(model).items()}


def real_rows(weight, model):
    value = np.asarray(weight.value)
    return value[: sum(VOCABS)] if value.ndim and value.shape[0] >= sum(VOCABS) else value


def mesh_errors():
    from mezoo.training.jax_distribution import DistributionError, make_distribution

    errors = {}
    for label, (kind, mesh, batch) in {
        "batch_not_divided": ("model_parallel", None, 66),
        "too_many_devices": ("model_parallel", {"batch": 4, "model": 2}, BATCH),
        "data_parallel_model_axis": ("data_parallel", {"model": 2}, BATCH),
        "unknown_axis": ("model_parallel", {"rows": 2}, BATCH),
    }.items():
        try:
            make_distribution(kind, mesh, batch)
            errors[label] = None
        except DistributionError as error:
            errors[label] = str(error)
    return errors


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--process", type=int)
    parser.add_argument("--processes", type=int)
    parser.add_argument("--port", type=int)
    parser.add_argument("--score", nargs=3, metavar=("RUN_DIR", "DATA", "OUT"))
    args = parser.parse_args()
    if args.score:
        print(json.dumps(score(*args.score)))
        return
    if args.processes:
        keras.distribution.initialize(f"localhost:{args.port}", args.processes, args.process)
        import jax

        out = {"process": jax.process_index(), "devices": len(jax.devices()), "loss": train_multi_process()}
        print(json.dumps(out))
        return
    runs = {name: {label: train(name, p) for label, p in PLACEMENTS.items()} for name in MODELS}
    result = {"errors": mesh_errors(), "models": {}}
    for name, by_placement in runs.items():
        base = by_placement["one_device"]
        result["models"][name] = {}
        for label, record in by_placement.items():
            diffs = {p: float(np.max(np.abs(np.asarray(v) - base["weights"][p]))) for p, v in record["weights"].items()}
            result["models"][name][label] = {
                **{k: v for k, v in record.items() if k != "weights"},
                "max_weight_diff": max(diffs.values()),
                "max_score_diff": float(np.max(np.abs(np.subtract(record["scores"], base["scores"])))),
                "weights": len(diffs),
            }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
