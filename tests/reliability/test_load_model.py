"""`import mezoo; keras.models.load_model("runs/X/model.keras")` in a fresh process, for runs of each mode."""

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.training.trainer import train  # noqa: E402
from tests.reliability import helpers  # noqa: E402
from tests.training import resumable_run  # noqa: E402

LOAD = """
import json, sys
import keras, mezoo
import numpy as np
model = keras.models.load_model(sys.argv[1])
ids = np.array(json.loads(sys.argv[2]), dtype="int32")
print(json.dumps({"optimizer": type(model.optimizer).__name__,
                  "scores": np.asarray(model.predict({"ids": ids}, verbose=0)).ravel().tolist()}))
"""


@pytest.mark.parametrize("mode,optimizer", [("exact", "FusedAdam"), ("fast", "RowSparseAdam")])
def test_a_trained_run_loads_in_a_process_that_imports_only_keras_and_mezoo(tmp_path, mode, optimizer):
    source = resumable_run.source(rows=3000)
    overrides = ["train.epochs=1", "train.steps_per_epoch=3", f"train.mode={mode}", "train.export=false"]
    train("dnn_me_criteo", resumable_run.OVERRIDES + overrides, run_dir=tmp_path, source=source, verbose=0)
    ids = source.splits["test"][0]["ids"][:8]

    result = helpers.run("-c", LOAD, tmp_path / "model.keras", json.dumps(ids.tolist()))
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["optimizer"] == optimizer

    import keras

    here = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(loaded["scores"], np.asarray(here.predict({"ids": ids}, verbose=0)).ravel(), rtol=1e-6)
