"""Trained and exported runs on the real Criteo and Avazu samples, shared by the serving tests.

Each dataset is converted twice with the same options: once with the usual 8:1:1 split to
train on, once with every row in the test split (`all_rows`), whose shards keep input order, so
that raw line i of the sample is converted row i. Both count their vocabularies over the whole
input, so they are the same vocabularies.
"""

import csv
import os

import pytest

tf = pytest.importorskip("tensorflow")

from tests.shared_data import shared_data  # noqa: E402
from tests.tfrecord_tools.helpers import convert  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN = ["train.epochs=1", "train.steps_per_epoch=4", "data.batch_size=512", "train.jit_compile=false"]
MODELS = {  # (dataset, kind) -> (recipe, overrides)
    ("criteo", "se"): ("dcnv2_se_criteo", []),
    ("criteo", "me"): ("dcnv2_me_criteo", ["model.num_embedding_sets=2"]),
    ("avazu", "se"): ("dnn_se_avazu", []),
    ("avazu", "me"): ("dnn_me_avazu", ["model.num_embedding_sets=2"]),
}


def raw_rows(dataset):
    """The sample's rows as dicts of raw text (label included), in file order."""
    from tfrecord_tools.formats import AVAZU_COLUMNS, CRITEO_CATEGORICAL, CRITEO_INTEGER

    if dataset == "criteo":
        names = ["label"] + CRITEO_INTEGER + CRITEO_CATEGORICAL
        with open(shared_data("criteo", "criteo_kaggle_head10k.tsv"), encoding="utf-8") as f:
            return [dict(zip(names, line.rstrip("\n").split("\t"))) for line in f]
    with open(shared_data("avazu", "avazu_head10k.csv"), encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        assert next(reader) == AVAZU_COLUMNS
        return [dict(zip(AVAZU_COLUMNS, r)) for r in reader]


def _layout(dataset):
    from tfrecord_tools.formats import avazu_layout, criteo_layout

    return criteo_layout() if dataset == "criteo" else avazu_layout()


@pytest.fixture(scope="session")
def converted(tmp_path_factory):
    """dataset -> {"train": dir (8:1:1), "all_rows": dir (every row in `test`, input order)}."""
    cache = {}

    def get(dataset):
        if dataset not in cache:
            path = shared_data(
                *(("criteo", "criteo_kaggle_head10k.tsv") if dataset == "criteo" else ("avazu", "avazu_head10k.csv"))
            )
            root = tmp_path_factory.mktemp(f"{dataset}-data")
            min_count = 10 if dataset == "criteo" else 4
            convert([path], _layout(dataset), root / "train", min_count=min_count, dataset=dataset)
            convert(
                [path], _layout(dataset), root / "all_rows", min_count=min_count, dataset=dataset, split=(0.0, 0.0, 1.0)
            )
            cache[dataset] = {"train": root / "train", "all_rows": root / "all_rows"}
        return cache[dataset]

    return get


@pytest.fixture(scope="session")
def trained(converted, tmp_path_factory):
    """(dataset, "se"|"me") -> a finished run directory; training exports it (train.export: true)."""
    from mezoo.training.trainer import train

    cache = {}

    def get(dataset, kind):
        key = (dataset, kind)
        if key not in cache:
            recipe, extra = MODELS[key]
            run_dir = tmp_path_factory.mktemp(f"{dataset}-{kind}") / "run"
            train(recipe, TRAIN + extra, data=str(converted(dataset)["train"]), run_dir=str(run_dir), verbose=0)
            cache[key] = run_dir
        return cache[key]

    return get


@pytest.fixture(scope="session")
def exported(trained):
    """(dataset, kind) -> the version directory the end of training wrote (`<run>/export/1`)."""

    def get(dataset, kind):
        path = trained(dataset, kind) / "export" / "1"
        assert path.is_dir(), f"training did not export {path}"
        return path

    return get


def load_signature(export_dir, name="serving_default"):
    return tf.saved_model.load(str(export_dir)).signatures[name]


def criteo_examples(export_dir, count=64):
    """The first `count` rows of the Criteo sample as serialized Examples for the export (empty cells absent)."""
    from mezoo.data import FeatureSpec
    from mezoo.serving.raw_examples import serialize_rows

    spec = FeatureSpec.load(str(export_dir / "assets.extra"))
    rows = [{k: (v or None) for k, v in row.items() if k != "label"} for row in raw_rows("criteo")[:count]]
    return serialize_rows(rows, spec)


def export_predictions(export_dir, dataset, empty_as_absent=True):
    """The export's `serving_default` probabilities on every raw row of `dataset`'s sample, in file order."""
    import numpy as np

    from mezoo.data import FeatureSpec
    from mezoo.serving.raw_examples import serialize_rows

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


def tf1_loader_result(export_dir, examples, work):
    """`tf1_loader.py` (TF1's loader, no mezoo or Keras importable) on serialized Examples: its JSON result."""
    import json
    import subprocess
    import sys

    requests = work / "requests.tfrecord"
    with tf.io.TFRecordWriter(str(requests)) as writer:
        for e in examples:
            writer.write(e)
    out = work / "out.json"
    proc = subprocess.run(
        [
            sys.executable,
            os.path.join(os.path.dirname(__file__), "tf1_loader.py"),
            str(export_dir),
            str(requests),
            str(out),
        ],
        cwd=str(work),
        env=env_without_mezoo(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def env_without_mezoo():
    """Subprocess environment: this repository not importable by path (the loader test blocks it)."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env
