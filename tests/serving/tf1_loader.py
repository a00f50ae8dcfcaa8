"""Loads an export the way TF Serving does, with mezoo and keras unimportable (run as a script).

    python tf1_loader.py EXPORT_DIR REQUESTS.tfrecord OUT.json

TF1 loader (`tf.compat.v1.saved_model.loader.load`, tag `serve`) into a session, then the
`serving_default` SignatureDef run by its tensor names: the requests file's examples, then a
request with `I1` as int64_list and an undecodable one (both must fail with a clear error),
then the examples again (the model must keep answering).
"""

import json
import sys

sys.modules["mezoo"] = None  # TF Serving is C++: nothing of mezoo or Keras exists there
sys.modules["keras"] = None

import tensorflow as tf  # noqa: E402


def main(export_dir, requests_path, out_path):
    for blocked in ("mezoo", "keras"):
        try:
            __import__(blocked)
        except ImportError:
            pass
        else:
            raise SystemExit(f"{blocked} is importable: the test would not show anything")
    examples = [r.numpy() for r in tf.data.TFRecordDataset(requests_path)]
    wrong_dtype = tf.train.Example(
        features=tf.train.Features(feature={"I1": tf.train.Feature(int64_list=tf.train.Int64List(value=[5]))})
    ).SerializeToString()
    result = {}
    with tf.compat.v1.Session(graph=tf.Graph()) as session:
        meta = tf.compat.v1.saved_model.loader.load(session, ["serve"], export_dir)
        signature = meta.signature_def["serving_default"]
        feed = signature.inputs["examples"].name
        fetch = signature.outputs["probability"].name
        result["method"] = signature.method_name
        result["first"] = session.run(fetch, {feed: examples}).reshape(-1).tolist()
        for name, request in (("wrong_dtype", [wrong_dtype]), ("undecodable", [b"\x01\x02garbage"])):
            try:
                session.run(fetch, {feed: request})
                result[name] = None
            except tf.errors.OpError as error:
                result[name] = error.message
        result["again"] = session.run(fetch, {feed: examples}).reshape(-1).tolist()
    with open(out_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
