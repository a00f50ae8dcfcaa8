"""A shared contract check for every mezoo layer (in the spirit of keras-hub's LayerTestCase).

`run_layer_test` checks, for one layer class and its arguments: the config round trip (also
through Keras' registered-name serialization), the symbolic and the eager output shape and
dtype, the number of trainable and non-trainable weights once built, one training step that
changes the layer's weights, `mixed_float16` and `mixed_bfloat16` runs (float32 variables)
and a `dtype="bfloat16"` run (bfloat16 variables) that agree with float32, and a `.keras`
save / load round trip with identical predictions.
"""

import os

import keras
import numpy as np


def _as_tuple(data):
    return tuple(data) if isinstance(data, (tuple, list)) else (data,)


def _wrap_model(layer, inputs):
    symbolic = [keras.Input(shape=x.shape[1:], dtype=str(x.dtype)) for x in inputs]
    out = layer(*symbolic)
    out = keras.layers.Flatten()(out)
    out = keras.layers.Dense(1)(out)
    return keras.Model(symbolic, out)


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_data,
    expected_output_shape,
    tmp_path,
    *,
    expected_num_trainable_weights,
    expected_num_non_trainable_weights,
    expected_output_dtype="float32",
    run_mixed_precision_check=True,
):
    inputs = _as_tuple(input_data)
    batch = inputs[0].shape[0]

    # Config round trip, directly and through the registered name.
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    assert layer_cls.from_config(config).get_config() == config
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"] == f"mezoo>{layer_cls.__name__}"
    revived = keras.saving.deserialize_keras_object(serialized)
    assert type(revived) is layer_cls and revived.get_config() == config

    # Symbolic output.
    symbolic = [keras.Input(shape=x.shape[1:], dtype=str(x.dtype)) for x in inputs]
    out = layer_cls(**init_kwargs)(*symbolic)
    assert tuple(out.shape) == (None, *expected_output_shape[1:])
    assert keras.backend.standardize_dtype(out.dtype) == expected_output_dtype

    # Eager output.
    layer = layer_cls(**init_kwargs)
    out = layer(*inputs)
    assert tuple(out.shape) == tuple(expected_output_shape)
    assert keras.backend.standardize_dtype(out.dtype) == expected_output_dtype
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(out)))
    assert len(layer.trainable_weights) == expected_num_trainable_weights, [w.path for w in layer.trainable_weights]
    assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights, [
        w.path for w in layer.non_trainable_weights
    ]

    # One training step changes the layer's trainable weights and gives a finite loss.
    layer = layer_cls(**init_kwargs)
    model = _wrap_model(layer, inputs)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = [np.array(keras.ops.convert_to_numpy(w)) for w in layer.trainable_weights]
    y = np.random.default_rng(0).normal(size=(batch, 1)).astype("float32")
    history = model.fit(list(inputs), y, batch_size=batch, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = [keras.ops.convert_to_numpy(w) for w in layer.trainable_weights]
    if before:
        assert any(not np.allclose(b, a) for b, a in zip(before, after)), "no weight of the layer moved"

    # Lower precision: mixed policies keep float32 variables and compute in 16 bits; a plain
    # bfloat16 dtype stores the variables in bfloat16 too. Each agrees with float32 within
    # its format's precision (bfloat16 keeps 8 significant bits, float16 11).
    if run_mixed_precision_check:
        reference = keras.ops.convert_to_numpy(layer(*inputs))
        for dtype, variable_dtype, tolerance in (
            ("mixed_float16", "float32", 2e-2),
            ("mixed_bfloat16", "float32", 8e-2),
            ("bfloat16", "bfloat16", 1e-1),
        ):
            _assert_close_at_lower_precision(
                layer_cls, init_kwargs, inputs, layer, reference, dtype, variable_dtype, tolerance
            )

    # .keras round trip.
    path = os.path.join(str(tmp_path), f"{layer_cls.__name__}.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(list(inputs), verbose=0), model.predict(list(inputs), verbose=0), rtol=1e-6, atol=1e-6
    )


def _assert_close_at_lower_precision(
    layer_cls, init_kwargs, inputs, layer, reference, dtype, variable_dtype, tolerance
):
    """`layer_cls` at policy `dtype`, given `layer`'s weights, reproduces `reference` within `tolerance`."""
    low = layer_cls(**{**init_kwargs, "dtype": dtype})
    low(*inputs)
    low.set_weights(layer.get_weights())
    assert all(keras.backend.standardize_dtype(w.dtype) == variable_dtype for w in low.weights), dtype
    out = low(*inputs)
    compute_dtype = dtype.replace("mixed_", "")
    assert keras.backend.standardize_dtype(out.dtype) == compute_dtype, dtype
    scale = max(1.0, float(np.abs(reference).max()))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(keras.ops.cast(out, "float32")),
        reference,
        rtol=tolerance,
        atol=tolerance * scale,
        err_msg=dtype,
    )


def randomize_weights(layer, seed):
    """Gives every weight of a built layer distinct random values (variances kept positive)."""
    rng = np.random.default_rng(seed)
    values = []
    for w in layer.weights:
        v = rng.normal(scale=0.5, size=tuple(w.shape)).astype("float32")
        if "variance" in w.path:
            v = np.abs(v) + 0.5
        values.append(v)
    layer.set_weights(values)


def assert_per_set_equals_separate(layer_cls, init_kwargs, inputs, num_sets, call_kwargs=None, rtol=1e-5, atol=1e-5):
    """A layer with `num_sets=M` equals M separate layers with distinct random weights.

    `inputs` carry the set axis at position 1. Each separate layer sees its set's slice; the
    batched layer's weights are the separate layers' weights stacked on a new leading axis
    (or concatenated, for per-set BatchNorm's flattened statistics).
    """
    call_kwargs = call_kwargs or {}
    inputs = _as_tuple(inputs)
    separate = []
    for m in range(num_sets):
        layer = layer_cls(**init_kwargs)
        layer(*[x[:, m] for x in inputs], **call_kwargs)
        randomize_weights(layer, seed=100 + m)
        separate.append(layer)
    batched = layer_cls(**init_kwargs, num_sets=num_sets)
    batched(*inputs, **call_kwargs)
    stacked = []
    for k, w in enumerate(batched.weights):
        parts = [s.get_weights()[k] for s in separate]
        stacked.append(np.concatenate(parts) if tuple(w.shape) == (num_sets * parts[0].shape[0],) else np.stack(parts))
    batched.set_weights(stacked)
    # Separate layers must really differ, or the test could not catch a shared-weights bug.
    assert not np.allclose(separate[0].get_weights()[0], separate[1].get_weights()[0])
    out = keras.ops.convert_to_numpy(batched(*inputs, **call_kwargs))
    for m, layer in enumerate(separate):
        expected = keras.ops.convert_to_numpy(layer(*[x[:, m] for x in inputs], **call_kwargs))
        np.testing.assert_allclose(out[:, m], expected, rtol=rtol, atol=atol)
