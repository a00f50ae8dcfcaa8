"""Requests to TF Serving built from raw rows: REST (JSON) and gRPC (`PredictRequest`).

    rows = [{"I1": "5", "C1": "68fd1e64"}, {"I1": "", "C3": "1f89b562"}]      # raw values
    body = rest_request(rows, spec)            # POST it to http://HOST:8501/v1/models/NAME:predict
    request = grpc_request(rows, spec, "NAME") # PredictionServiceStub(channel).Predict(request, 10.0)

`spec` is the export's `assets.extra/feature_spec.json` (`FeatureSpec.load(export_dir + "/assets.extra")`).
Both send serialized `tf.train.Example`s to `serving_default`; REST carries them base64 encoded
(`{"b64": ...}`), as TF Serving's REST API requires for binary strings.
"""

import base64
from typing import Dict, List

from mezoo.data.feature_spec import FeatureSpec
from mezoo.serving.raw_examples import serialize_rows
from mezoo.serving.warmup import predict_request


def rest_request(rows: List[Dict[str, object]], spec: FeatureSpec, signature: str = "serving_default") -> Dict:
    """The JSON body of a REST `:predict` call (columnar `inputs` form)."""
    encoded = [{"b64": base64.b64encode(s).decode("ascii")} for s in serialize_rows(rows, spec)]
    return {"signature_name": signature, "inputs": {"examples": encoded}}


def rest_raw_request(rows: List[Dict[str, object]], spec: FeatureSpec) -> Dict:
    """The JSON body of a REST `:predict` call to `predict_raw`: one list of raw strings per row, in the
    spec's field order ("" = missing), no protobuf needed (`curl -d @body.json`)."""
    if spec.numeric:
        raise ValueError("predict_raw with numeric fields takes `raw` and `dense`: use rest_request")
    return {
        "signature_name": "predict_raw",
        "instances": [[_text(row.get(name)) for name in spec.field_names] for row in rows],
    }


def _text(value) -> str:
    if value is None:
        return ""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def rest_examples(body: Dict) -> List[bytes]:
    """The serialized Examples a REST body carries (what the model server decodes)."""
    return [base64.b64decode(item["b64"]) for item in body["inputs"]["examples"]]


def grpc_request(rows: List[Dict[str, object]], spec: FeatureSpec, model_name: str = "mezoo"):
    """A `tensorflow_serving.apis.predict_pb2.PredictRequest` for `serving_default`."""
    return predict_request(serialize_rows(rows, spec), model_name)
