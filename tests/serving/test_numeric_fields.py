"""An export of a data set with numeric fields: float_list features in, the same as training."""

import keras
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.data import FeatureSpec, make_dataset  # noqa: E402
from mezoo.serving.raw_examples import serialize_rows  # noqa: E402
from tests.serving.conftest import TRAIN, load_signature  # noqa: E402


def test_numeric_fields_through_every_signature(tmp_path):
    from mezoo.training.trainer import train
    from tests.tfrecord_tools.helpers import convert
    from tfrecord_tools.schema import build

    rng = np.random.default_rng(3)
    rows = [
        {
            "label": str(rng.integers(2)),
            "site": f"s{rng.integers(30)}",
            "hour": str(rng.integers(24)),
            "price": "" if i % 7 == 0 else f"{rng.normal(3, 2):.3f}",
            "depth": f"{rng.integers(1, 5)}",
        }
        for i in range(3000)
    ]
    csv = tmp_path / "log.csv"
    csv.write_text(
        "label,site,hour,price,depth\n"
        + "".join(f"{r['label']},{r['site']},{r['hour']},{r['price']},{r['depth']}\n" for r in rows)
    )
    schema = {"label": "label", "categorical": ["site"], "integer": ["hour"], "numeric": ["price", "depth"]}
    for name, split in (("train", (0.8, 0.1, 0.1)), ("all_rows", (0.0, 0.0, 1.0))):
        files, layout, fmt = build(schema, str(tmp_path), [str(csv)])
        convert(files, layout, tmp_path / name, fmt=fmt, split=split, dataset="csv")
    run = tmp_path / "run"
    train(
        "dnn_me_criteo",
        TRAIN + ["model.num_embedding_sets=2"],
        data=str(tmp_path / "train"),
        run_dir=str(run),
        verbose=0,
    )
    export = run / "export" / "1"
    spec = FeatureSpec.load(str(export / "assets.extra"))
    assert spec.numeric_names == ["price", "depth"]
    model = keras.models.load_model(run / "model.keras")
    converted = FeatureSpec.load(str(tmp_path / "all_rows"))
    expected = np.concatenate(
        [
            model(x, training=False).numpy()
            for x, _ in make_dataset(converted, "test", 1000, training=False, deterministic=True)
        ]
    ).reshape(-1)
    raw = [{"site": r["site"], "hour": r["hour"], "price": r["price"] or None, "depth": r["depth"]} for r in rows]
    served = load_signature(export)(examples=tf.constant(serialize_rows(raw, spec)))["probability"].numpy().reshape(-1)
    np.testing.assert_allclose(served, expected, atol=1e-6)  # an absent price is 0.0, as the converter made it
    assert np.max(np.abs(served[1:] - expected[:-1])) > 1e-4
    predict_raw = load_signature(export, "predict_raw")
    dense = np.asarray([[float(r["price"] or 0), float(r["depth"])] for r in rows], np.float32)
    via_raw = predict_raw(raw=tf.constant([[r["site"], r["hour"]] for r in rows]), dense=tf.constant(dense))
    np.testing.assert_allclose(via_raw["probability"].numpy().reshape(-1), expected, atol=1e-6)

    # widths and values the graph refuses, whatever loads the export
    assert_refused = pytest.raises(tf.errors.OpError, match="dense must have 2 columns")
    with assert_refused:
        predict_raw(raw=tf.constant([["s1", "3"]]), dense=tf.constant([[1.0, 2.0, 3.0]]))
    for bad in (np.inf, -np.inf, np.nan):
        with pytest.raises(tf.errors.OpError, match="dense values must be finite"):
            predict_raw(raw=tf.constant([["s1", "3"]]), dense=tf.constant([[bad, 2.0]], tf.float32))
    infinite = serialize_rows([{"site": "s1", "hour": "3", "price": float("inf"), "depth": "2"}], spec)
    with pytest.raises(tf.errors.OpError, match="dense values must be finite"):
        load_signature(export)(examples=tf.constant(infinite))
