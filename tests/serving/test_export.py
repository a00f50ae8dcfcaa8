"""The export's layout, signatures and loading as the model server does it."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.serving.export import ExportError, export_run  # noqa: E402
from tests.serving.conftest import criteo_examples, load_signature, tf1_loader_result  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def test_layout_assets_and_spec(exported):
    export = exported("criteo", "me")
    spec = json.loads((export / "assets.extra" / "feature_spec.json").read_text())
    assert [f["name"] for f in spec["fields"]] == [f"I{i}" for i in range(1, 14)] + [f"C{i}" for i in range(1, 27)]
    for f in spec["fields"]:  # the spec in assets.extra is complete: its vocabularies beside it
        assert (export / "assets.extra" / f["vocabulary"]).is_file()
    assets = sorted(p.name for p in (export / "assets").iterdir())
    assert len(assets) == 39 and assets[0] == "0000_I1.tsv" and assets[-1] == "0038_C26.tsv"
    # one `key<TAB>id` line per kept token: ids 1..vocab_size-1
    lines = (export / "assets" / "0013_C1.tsv").read_bytes().split(b"\n")[:-1]
    assert [int(line.rsplit(b"\t", 1)[1]) for line in lines] == list(range(1, spec["fields"][13]["vocab_size"]))
    meta = json.loads((export / "assets.extra" / "mezoo_export.json").read_text())
    assert meta["version"] == 1 and set(meta["signatures"]) == {"serving_default", "predict_raw", "predict_ids"}
    assert (export / "assets.extra" / "tf_serving_warmup_requests").stat().st_size > 0


def test_saved_model_cli_shows_the_signatures(exported):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    out = subprocess.run(
        [cli, "show", "--all", "--dir", str(exported("criteo", "se"))],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    default = out.split("signature_def['serving_default']:", 1)[1].split("signature_def[", 1)[0]
    assert "inputs['examples'] tensor_info:" in default and "dtype: DT_STRING" in default
    assert "shape: (-1)" in default and "outputs['probability'] tensor_info:" in default
    assert "dtype: DT_FLOAT" in default and "shape: (-1, 1)" in default
    assert "Method name is: tensorflow/serving/predict" in default
    ids = out.split("signature_def['predict_ids']:", 1)[1].split("signature_def[", 1)[0]
    assert "inputs['ids'] tensor_info:" in ids and "DT_INT64" in ids and "shape: (-1, 39)" in ids


def test_tf1_loader_without_mezoo_or_keras_after_the_sources_are_gone(exported, tmp_path):
    source = exported("criteo", "me")
    moved = tmp_path / "served" / "1"
    shutil.copytree(source, moved)  # a copy elsewhere, and the run's own export deleted: no paths to either
    examples = criteo_examples(moved)
    expected = load_signature(moved)(examples=tf.constant(examples))["probability"].numpy().reshape(-1)
    shutil.rmtree(tmp_path / "served")
    shutil.copytree(source, moved)
    hidden = source.with_name("hidden")
    os.rename(source, hidden)
    try:
        result = tf1_loader_result(moved, examples, tmp_path)
    finally:
        os.rename(hidden, source)
    assert result["method"] == "tensorflow/serving/predict"
    np.testing.assert_allclose(result["first"], expected, atol=1e-6)
    assert result["again"] == result["first"]
    assert "I1" in result["wrong_dtype"] and "expected type: string" in result["wrong_dtype"].lower()
    assert "examples_must_be_serialized_tf_Example_protos" in result["undecodable"]


def test_export_cli_versions_and_jit(trained, tmp_path):
    run = trained("criteo", "se")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(HERE)))
    proc = subprocess.run(
        [sys.executable, "-m", "mezoo.export", "--run_dir", str(run), "--output", str(tmp_path / "m"), "--jit_compile"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "m" / "1" / "saved_model.pb").exists() and "xla_cpu_compilation_enabled" in proc.stdout
    second = export_run(run, tmp_path / "m", verbose=False)  # the next version
    assert second == tmp_path / "m" / "2"
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [".export.lock", "1", "2"]  # no scratch left
    examples = tf.constant(criteo_examples(second))
    jit = load_signature(tmp_path / "m" / "1")(examples=examples)["probability"].numpy()
    plain = load_signature(second)(examples=examples)["probability"].numpy()
    np.testing.assert_allclose(jit, plain, atol=1e-6)
    with pytest.raises(ExportError, match="exists already"):
        export_run(run, tmp_path / "m", version=2, verbose=False)


def test_missing_vocabularies_are_a_clear_error(trained, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained("avazu", "se"), run, ignore=shutil.ignore_patterns("export", "backup", "tensorboard"))
    shutil.rmtree(run / "vocab")
    # the vocabularies are found in the converted data the run recorded ...
    assert export_run(run, tmp_path / "a", verbose=False).is_dir()
    # ... and when that moved too, the error says what is missing and what to do
    meta = json.loads((run / "run.json").read_text())
    meta["data"] = str(tmp_path / "moved")
    (run / "run.json").write_text(json.dumps(meta))
    with pytest.raises(ExportError, match=r"vocabularies of 22 fields \(hour, C1, .*moved or was deleted"):
        export_run(run, tmp_path / "b", verbose=False)
    assert not (tmp_path / "b").exists()
