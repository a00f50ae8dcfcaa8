"""A model trained and exported on multi-valued data (MovieLens genres): no skew, the TF1 loader,
too many values truncated as the converter did, bad requests refused, raw files scored."""

import csv
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.data import FeatureSpec, make_dataset  # noqa: E402
from mezoo.serving.raw_examples import serialize_rows  # noqa: E402
from tests.serving.conftest import load_signature, tf1_loader_result  # noqa: E402
from tests.tfrecord_tools.helpers import (  # noqa: E402
    convert_schema,
    movielens_csv,
    read_split,  # noqa: E402
    schema,
)

HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN = ["train.epochs=1", "train.steps_per_epoch=6", "data.batch_size=32", "train.jit_compile=false"]
FIELDS = ["user_id", "movie_id", "genres", "gender", "age", "occupation"]


@pytest.fixture(scope="module")
def movielens_run(tmp_path_factory):
    """(raw rows, converted all-rows directory, run directory) of a DCNv2 ME run on genres (max_len 3)."""
    from mezoo.training.trainer import train

    root = tmp_path_factory.mktemp("movielens")
    movielens_csv(root / "ml.csv")
    with open(root / "ml.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    convert_schema(root, schema(), [root / "ml.csv"], root / "train")
    convert_schema(root, schema(), [root / "ml.csv"], root / "all_rows", split=(0.0, 0.0, 1.0))
    run_dir = root / "run"
    overrides = TRAIN + ["model.num_embedding_sets=2"]
    train("dcnv2_me_frappe", overrides, data=str(root / "train"), run_dir=str(run_dir), verbose=0)
    return rows, root / "all_rows", run_dir


def keras_scores(run_dir, data_dir):
    model = keras.models.load_model(run_dir / "model.keras")
    spec = FeatureSpec.load(str(data_dir))
    return np.concatenate(
        [model(x, training=False).numpy() for x, _ in make_dataset(spec, "test", 64, deterministic=True)]
    ).ravel()


def served(export_dir, rows, split_genres=True):
    spec = FeatureSpec.load(str(export_dir / "assets.extra"))
    requests = [
        {name: (row[name].split("|") if split_genres and name == "genres" else row[name]) or None for name in FIELDS}
        for row in rows
    ]
    serve = load_signature(export_dir)
    return serve(examples=tf.constant(serialize_rows(requests, spec)))["probability"].numpy().ravel()


def test_export_equals_keras_on_converted_rows_with_several_values_or_one_string(movielens_run):
    rows, all_rows, run_dir = movielens_run
    expected = keras_scores(run_dir, all_rows)
    export = run_dir / "export" / "1"
    spec = json.loads((export / "assets.extra" / "feature_spec.json").read_text())
    assert spec["format_version"] == 2 and spec["fields"][2]["kind"] == "multi_valued"
    as_values, as_string = served(export, rows), served(export, rows, split_genres=False)
    assert as_values.shape == expected.shape == (200,)
    assert np.max(np.abs(as_values - expected)) <= 1e-6
    assert np.max(np.abs(as_string - expected)) <= 1e-6
    raw = load_signature(export, "predict_raw")
    matrix = tf.constant([[row[name] for name in FIELDS] for row in rows])
    assert np.max(np.abs(raw(raw=matrix)["probability"].numpy().ravel() - expected)) <= 1e-6
    assert np.std(expected) > 1e-4
    # the check can fail: genres dropped, the scores move
    without = served(export, [dict(row, genres="") for row in rows])
    assert np.max(np.abs(without - expected)) > 1e-4


def test_too_many_values_are_truncated_as_the_converter_did(movielens_run):
    rows, _, run_dir = movielens_run
    export = run_dir / "export" / "1"
    long = [r for r in rows if len(r["genres"].split("|")) > 3][:5]
    assert long
    first_three = [dict(r, genres="|".join(r["genres"].split("|")[:3])) for r in long]
    np.testing.assert_allclose(served(export, long), served(export, first_three), atol=1e-7)


def test_ids_requests_take_padding_and_refuse_ids_below_it(movielens_run):
    _, all_rows, run_dir = movielens_run
    export = run_dir / "export" / "1"
    spec = FeatureSpec.load(str(all_rows))
    x, _ = next(iter(make_dataset(spec, "test", 16)))
    ids = tf.cast(x["ids"], tf.int64)
    predict_ids = load_signature(export, "predict_ids")
    model = keras.models.load_model(run_dir / "model.keras")
    np.testing.assert_allclose(predict_ids(ids=ids)["probability"].numpy(), model(x, training=False).numpy(), atol=1e-6)
    assert (ids.numpy()[:, 2:5] == -1).any()
    bad = ids.numpy().copy()
    bad[0, 3] = -2
    with pytest.raises(tf.errors.InvalidArgumentError, match="genres"):
        predict_ids(ids=tf.constant(bad))
    with pytest.raises(tf.errors.InvalidArgumentError, match="must have 8 columns"):
        predict_ids(ids=ids[:, :6])


def test_ids_of_a_field_with_no_value_score_as_the_empty_cell(movielens_run):
    """All of a multi-valued field's columns -1 is the empty cell: the missing token, as predict_raw reads it."""
    rows, all_rows, run_dir = movielens_run
    export = run_dir / "export" / "1"
    spec = FeatureSpec.load(str(all_rows))
    x, _ = next(iter(make_dataset(spec, "test", 16, deterministic=True)))  # rows[:16], in order
    ids = x["ids"].numpy().astype(np.int64)
    ids[:, 2:5] = -1
    raw = load_signature(export, "predict_raw")
    empty = raw(raw=tf.constant([[("" if name == "genres" else row[name]) for name in FIELDS] for row in rows[:16]]))
    expected = empty["probability"].numpy()
    np.testing.assert_allclose(served(export, [dict(row, genres="") for row in rows[:16]]).reshape(-1, 1), expected,
                               atol=1e-6)  # fmt: skip
    predict_ids = load_signature(export, "predict_ids")
    np.testing.assert_allclose(predict_ids(ids=tf.constant(ids))["probability"].numpy(), expected, atol=1e-6)
    # a row with one value is untouched
    ids[:, 2] = x["ids"].numpy()[:, 2]
    one = predict_ids(ids=tf.constant(ids))["probability"].numpy()
    assert np.max(np.abs(one - expected)) > 1e-4


def test_tf1_loader_serves_the_multi_valued_export(movielens_run, tmp_path):
    rows, _, run_dir = movielens_run
    export = run_dir / "export" / "1"
    spec = FeatureSpec.load(str(export / "assets.extra"))
    examples = serialize_rows([{n: r[n].split("|") if n == "genres" else r[n] for n in FIELDS} for r in rows], spec)
    np.testing.assert_allclose(tf1_loader_result(export, examples, tmp_path)["first"], served(export, rows), atol=1e-6)


def test_predict_scores_a_raw_file_with_a_multi_valued_column(movielens_run, tmp_path):
    rows, all_rows, run_dir = movielens_run
    source = tmp_path / "raw.csv"
    with open(source, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["label"] + FIELDS)
        for r in rows:
            w.writerow([r["label"]] + [r[n] for n in FIELDS])
    out = tmp_path / "scores.tsv"
    proc = subprocess.run(
        [sys.executable, "-m", "mezoo.predict", f"--export={run_dir / 'export' / '1'}", f"--input={source}",
         "--format=csv", f"--output={out}"],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    scores = np.asarray([float(line.split("\t")[-1]) for line in out.read_text().splitlines()[1:]])
    np.testing.assert_allclose(scores, keras_scores(run_dir, all_rows), atol=1e-6)


def test_abundance_and_row_counts_cover_the_multi_valued_field(movielens_run, tmp_path):
    from mezoo.training.row_counts import COUNTS_FILE

    rows, _, run_dir = movielens_run
    abundance = (run_dir / "abundance.csv").read_text()
    assert ",genres," in abundance  # per field and set, like every other field
    spec = FeatureSpec.load(str(run_dir))
    counts = np.load(run_dir / COUNTS_FILE)
    # the training split's genres: every value counted once, padding never
    _, stored, _ = read_split(run_dir.parent / "train", "train")
    genres = stored[:, 2:5]
    expected = np.bincount(genres[genres > 0] - 1, minlength=spec.field("genres")["vocab_size"])
    np.testing.assert_array_equal(counts["genres"], expected)
    proc = subprocess.run(
        [sys.executable, "-m", "mezoo.analyze", str(run_dir), f"--out={tmp_path / 'analysis'}"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "genres" in (tmp_path / "analysis" / "summary.md").read_text()
