"""Keras' distribution API on JAX, on 4 virtual CPU devices: sharded training equals one device.

The runs are a subprocess (`sharded_jax_run.py`): the virtual devices must be configured before
JAX starts, and this process may be on another backend.
"""

import socket

import pytest

pytest.importorskip("jax")

from tests.training.jax_processes import result_of, run_script  # noqa: E402

MODELS = ("dcnv2_se", "dcnv2_me", "deepfm_me")
SHARDED = ("data_parallel", "model_parallel", "model_parallel_2x2")


@pytest.fixture(scope="module")
def runs():
    return result_of(run_script())


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("placement", SHARDED)
def test_sharded_training_equals_one_device(runs, model, placement):
    one, sharded = runs["models"][model]["one_device"], runs["models"][model][placement]
    assert sharded["weights"] == one["weights"] > 0
    # six Adam steps of 1e-3 move a weight by up to 6e-3; float32 sums in another order differ far less
    assert sharded["max_weight_diff"] <= 5e-5
    assert sharded["max_score_diff"] <= 1e-6
    assert sharded["loss"] == pytest.approx(one["loss"], rel=1e-6)


@pytest.mark.parametrize("model", MODELS)
def test_every_table_is_sharded_as_laid_out_and_padded_with_zeros(runs, model):
    by_placement = runs["models"][model]
    tables = ["multi_embedding/embeddings"] + (["first_order/table"] if model.startswith("deepfm") else [])
    expected = {"data_parallel": ("P(None, None)", 409), "model_parallel": ("P('batch', None)", 412),
                "model_parallel_2x2": ("P('model', None)", 412)}  # fmt: skip
    for placement, (spec, rows) in expected.items():
        record = by_placement[placement]
        assert sorted(record["tables"]) == sorted(tables)
        for table in tables:
            assert record["tables"][table] == {"spec": spec, "rows": rows}
        assert record["padding_zero"]
        # every other weight is replicated
        assert len(record["replicated"]) == record["weights"] - len(tables)
    assert by_placement["model_parallel"]["mesh"] == {"batch": 4, "model": 4}
    assert by_placement["model_parallel_2x2"]["mesh"] == {"batch": 2, "model": 2}


def test_meshes_that_cannot_be_laid_out_are_refused_by_name(runs):
    errors = runs["errors"]
    assert "data.batch_size 66 does not split over the mesh's batch axis of 4 devices" in errors["batch_not_divided"]
    assert "does not lay out the 4 devices here" in errors["too_many_devices"]
    assert "train.mesh.model must be 1" in errors["data_parallel_model_axis"]
    assert "unknown axes ['rows']" in errors["unknown_axis"]


@pytest.mark.tensorflow
def test_two_processes_of_two_devices_train_as_one_process_of_four(runs):
    pytest.importorskip("tensorflow")  # Keras takes tf.data only, across processes
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    processes = [run_script("--process", i, "--processes", 2, "--port", port, devices=2) for i in range(2)]
    results = [result_of(p, timeout=600) for p in processes]
    assert [r["process"] for r in results] == [0, 1]
    assert all(r["devices"] == 4 for r in results)  # each sees the whole mesh, two of them its own
    one = runs["models"]["dcnv2_me"]["one_device"]["loss"]
    for r in results:
        assert r["loss"] == pytest.approx(one, rel=1e-6)
