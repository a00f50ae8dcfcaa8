"""Warm-up requests replay through the loaded SavedModel; REST and gRPC requests fit the signature."""

import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.data import FeatureSpec  # noqa: E402
from mezoo.serving.clients import grpc_request, rest_examples, rest_raw_request, rest_request  # noqa: E402
from mezoo.serving.warmup import read_warmup_requests  # noqa: E402
from tests.serving.conftest import raw_rows  # noqa: E402


def signature_inputs(function):
    """{name: TensorSpec} of a loaded signature."""
    return function.structured_input_signature[1]


def test_warmup_requests_replay(exported):
    export = exported("avazu", "me")
    loaded = tf.saved_model.load(str(export))
    requests = read_warmup_requests(export / "assets.extra" / "tf_serving_warmup_requests")
    meta = json.loads((export / "assets.extra" / "mezoo_export.json").read_text())
    assert len(requests) == 5 and meta["warmup_requests"] == 9  # 8 rows of vocabulary values + one all-absent
    sizes = []
    for request in requests:
        function = loaded.signatures[request.model_spec.signature_name]
        inputs = {name: tf.constant(tf.make_ndarray(proto)) for name, proto in request.inputs.items()}
        assert set(inputs) == set(signature_inputs(function))
        probability = function(**inputs)["probability"].numpy()
        assert np.all((probability > 0) & (probability < 1))
        sizes.append(len(probability))
    assert sizes == [9, 1, 1, 1, 1]


def test_warmup_from_real_raw_rows(trained, tmp_path):
    from mezoo.serving.export import export_run
    from tests.shared_data import shared_data

    export = export_run(
        trained("criteo", "se"),
        tmp_path,
        warmup_input=shared_data("criteo", "criteo_kaggle_head10k.tsv"),
        num_warmup=3,
        verbose=False,
    )
    requests = read_warmup_requests(export / "assets.extra" / "tf_serving_warmup_requests")
    first = tf.train.Example.FromString(tf.make_ndarray(requests[0].inputs["examples"])[0])
    row = raw_rows("criteo")[0]
    assert {k: v.bytes_list.value[0].decode() for k, v in first.features.feature.items()} == {
        k: v for k, v in row.items() if k != "label" and v != ""
    }
    assert [len(tf.make_ndarray(r.inputs["examples"])) for r in requests] == [3, 1, 1, 1]


def test_rest_and_grpc_requests_from_raw_rows(exported):
    export = exported("criteo", "se")
    spec = FeatureSpec.load(str(export / "assets.extra"))
    rows = [{k: (v or None) for k, v in row.items() if k != "label"} for row in raw_rows("criteo")[:5]]
    serve = tf.saved_model.load(str(export)).signatures["serving_default"]
    body = json.loads(json.dumps(rest_request(rows, spec)))  # what goes over the wire
    assert body["signature_name"] == "serving_default" and set(body["inputs"]) == set(signature_inputs(serve))
    spec_in = signature_inputs(serve)["examples"]
    assert spec_in.dtype == tf.string and spec_in.shape.rank == 1
    via_rest = serve(examples=tf.constant(rest_examples(body)))["probability"].numpy()
    request = grpc_request(rows, spec, model_name="ctr")
    assert request.model_spec.name == "ctr" and request.model_spec.signature_name == "serving_default"
    assert request.inputs["examples"].dtype == tf.string.as_datatype_enum
    via_grpc = serve(examples=tf.constant(tf.make_ndarray(request.inputs["examples"])))["probability"].numpy()
    assert via_rest.shape == (5, 1)
    np.testing.assert_array_equal(via_rest, via_grpc)
    raw_body = json.loads(json.dumps(rest_raw_request(rows, spec)))
    predict_raw = tf.saved_model.load(str(export)).signatures[raw_body["signature_name"]]
    assert set(signature_inputs(predict_raw)) == {"raw"}
    via_raw = predict_raw(raw=tf.constant(raw_body["instances"]))["probability"].numpy()
    np.testing.assert_allclose(via_raw, via_rest, atol=1e-6)
    with pytest.raises(ValueError, match="does not know"):
        rest_request([{"I1": "1", "label": "0", "bogus": "x"}], spec)
