"""TF Serving warm-up requests (`assets.extra/tf_serving_warmup_requests`).

TF Serving replays this TFRecord file of `PredictionLog`s when it loads a version, before it
answers, so the first client request doesn't pay for graph initialisation. The protos come
from `tensorflow-serving-api` (`pip install mezoo[serving]`).
"""

from pathlib import Path
from typing import Dict, List

from mezoo.data.feature_spec import FeatureSpec
from mezoo.serving.raw_examples import serialize_rows

WARMUP_FILE = "tf_serving_warmup_requests"


def serving_apis():
    """`(predict_pb2, prediction_log_pb2)`, or an error saying which extra to install."""
    try:
        from tensorflow_serving.apis import predict_pb2, prediction_log_pb2
    except ImportError as error:  # pragma: no cover - the serving extra is part of make install
        raise ImportError(
            "TF Serving's protos are missing: pip install 'mezoo[serving]' (tensorflow-serving-api)"
        ) from error
    return predict_pb2, prediction_log_pb2


def predict_request(serialized: List[bytes], model_name: str = "mezoo", signature: str = "serving_default"):
    """A `PredictRequest` for `serving_default` with these serialized Examples (gRPC clients send this)."""
    import tensorflow as tf

    predict_pb2, _ = serving_apis()
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature
    request.inputs["examples"].CopyFrom(tf.make_tensor_proto(serialized, dtype=tf.string, shape=[len(serialized)]))
    return request


def write_warmup_requests(path: Path, spec: FeatureSpec, rows: List[Dict[str, object]]) -> int:
    """One request with every row and one per row (batch sizes 1 and n); returns the request count."""
    import tensorflow as tf

    _, prediction_log_pb2 = serving_apis()
    serialized = serialize_rows(rows, spec)
    batches = [serialized] + [[s] for s in serialized[:4]]
    with tf.io.TFRecordWriter(str(path)) as writer:
        for batch in batches:
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=predict_request(batch))
            )
            writer.write(log.SerializeToString())
    return len(batches)


def read_warmup_requests(path: Path):
    """The `PredictRequest`s of a warm-up file, in order."""
    import tensorflow as tf

    _, prediction_log_pb2 = serving_apis()
    requests = []
    for record in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record)
        requests.append(log.predict_log.request)
    return requests
