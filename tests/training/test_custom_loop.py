"""The custom training loop (what multi-worker runs use) against Keras fit, in one process."""

import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.training.custom_loop import uses_custom_loop  # noqa: E402
from mezoo.training.data_sources import TFRecordSource  # noqa: E402
from mezoo.training.trainer import train  # noqa: E402
from tests.training import multi_worker_run, resumable_run  # noqa: E402


def test_custom_loop_trains_like_fit_on_one_device(tmp_path):
    overrides = resumable_run.OVERRIDES + ["model.dropout=0.0", "train.steps_per_epoch=6", "train.jit_compile=false"]
    runs = {}
    for loop in ("fit", "custom"):
        runs[loop] = train(
            "dcnv2_me_criteo",
            overrides + [f"train.loop={loop}"],
            run_dir=tmp_path / loop,
            strategy="one_device",
            source=resumable_run.source(),
            verbose=0,
        )
    fit, custom = runs["fit"], runs["custom"]
    assert custom["finished"] and custom["steps"] == fit["steps"] > 0
    # fit averages the epoch's losses in float32, the loop in float64
    assert [e["loss"] for e in custom["epochs"]] == pytest.approx([e["loss"] for e in fit["epochs"]], rel=1e-6)
    assert [e["val_auc"] for e in custom["epochs"]] == pytest.approx([e["val_auc"] for e in fit["epochs"]], rel=1e-9)
    assert custom["test_auc"] == pytest.approx(fit["test_auc"], rel=1e-9)
    for name, value in multi_worker_run.h5_arrays(tmp_path / "custom" / "best.weights.h5").items():
        np.testing.assert_allclose(
            value,
            multi_worker_run.h5_arrays(tmp_path / "fit" / "best.weights.h5")[name],
            rtol=1e-6,
            atol=1e-9,
            err_msg=name,
        )
    # the callbacks ran as under fit (TensorBoard's epoch loss); the run's backup is complete
    assert any((tmp_path / "custom" / "tensorboard" / "train").glob("events.out.tfevents*"))
    assert json.loads((tmp_path / "custom" / "backup" / "state.json").read_text())["finished"]


def test_loop_choice():
    one_device = tf.distribute.get_strategy()
    assert not uses_custom_loop("auto", one_device) and not uses_custom_loop("fit", one_device)
    assert uses_custom_loop("custom", one_device)
    with pytest.raises(ValueError, match="unknown train.loop 'keras'"):
        uses_custom_loop("keras", one_device)


@pytest.mark.parametrize("kind", ["tfrecord", "in_memory"])
def test_sources_divide_the_global_batch_among_replicas(kind, tmp_path):
    """With an input context, `batch_size` is global (as make_dataset): 64 over 2 replicas is 32."""
    if kind == "tfrecord":
        source = TFRecordSource(multi_worker_run.write_data(tmp_path, rows_per_file=64))
    else:
        source = resumable_run.source(rows=1000)
    seen = []
    for pipeline in range(2):
        context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pipeline, num_replicas_in_sync=2)
        batches = list(source.dataset("train", 64, training=True, seed=0, input_context=context))
        assert batches and all(x["ids"].shape[0] == 32 for x, _ in batches)
        seen.append({tuple(row) for x, _ in batches for row in x["ids"].numpy()})
    assert len(seen[0] | seen[1]) > len(seen[0]), "the two input pipelines read the same rows"
