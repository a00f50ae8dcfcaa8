"""No train/serve skew: the export on raw rows == the Keras model on the converted rows."""

import keras
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.data import FeatureSpec, make_dataset  # noqa: E402
from mezoo.serving.raw_examples import serialize_rows  # noqa: E402
from tests.serving.conftest import load_signature, raw_rows  # noqa: E402


def keras_predictions(run_dir, data_dir):
    """The run's model.keras on the converted rows, in input order."""
    model = keras.models.load_model(run_dir / "model.keras")
    spec = FeatureSpec.load(str(data_dir))
    out = [
        model(x, training=False).numpy()
        for x, _ in make_dataset(spec, "test", 1000, training=False, deterministic=True)
    ]
    return np.concatenate(out).reshape(-1)


def export_predictions(export_dir, dataset, empty_as_absent=True):
    spec = FeatureSpec.load(str(export_dir / "assets.extra"))
    rows = [
        {name: (None if empty_as_absent and row[name] == "" else row[name]) for name in spec.field_names}
        for row in raw_rows(dataset)
    ]
    serve = load_signature(export_dir)
    serialized = serialize_rows(rows, spec)
    out = [
        serve(examples=tf.constant(serialized[i : i + 1000]))["probability"].numpy()
        for i in range(0, len(serialized), 1000)
    ]
    return np.concatenate(out).reshape(-1)


@pytest.mark.parametrize("dataset", ["criteo", "avazu"])
@pytest.mark.parametrize("kind", ["se", "me"])
def test_export_on_raw_rows_equals_keras_on_converted_rows(dataset, kind, trained, exported, converted):
    expected = keras_predictions(trained(dataset, kind), converted(dataset)["all_rows"])
    served = export_predictions(exported(dataset, kind), dataset)
    assert served.shape == expected.shape == (len(raw_rows(dataset)),)
    assert np.max(np.abs(served - expected)) <= 1e-6
    # the check can fail: one row off, the predictions no longer agree
    assert np.max(np.abs(served[1:] - expected[:-1])) > 1e-3
    assert np.std(expected) > 1e-4  # the model tells rows apart
    if dataset == "criteo" and kind == "se":  # empty cells sent as b"" take the same (missing) path
        assert (
            np.max(np.abs(export_predictions(exported(dataset, kind), dataset, empty_as_absent=False) - expected))
            <= 1e-6
        )
