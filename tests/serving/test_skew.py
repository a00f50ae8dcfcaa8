"""No train/serve skew: the export on raw rows == the Keras model on the converted rows."""

import keras
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.data import FeatureSpec, make_dataset  # noqa: E402
from tests.serving.conftest import export_predictions, raw_rows  # noqa: E402


def keras_predictions(run_dir, data_dir):
    """The run's model.keras on the converted rows, in input order."""
    model = keras.models.load_model(run_dir / "model.keras")
    spec = FeatureSpec.load(str(data_dir))
    out = [
        model(x, training=False).numpy()
        for x, _ in make_dataset(spec, "test", 1000, training=False, deterministic=True)
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
