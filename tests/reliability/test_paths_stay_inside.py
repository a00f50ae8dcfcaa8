"""Field names and spec paths never place or read a file outside its folder: convert, train, export."""

import json
import os

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.data.feature_spec import FeatureSpec, SpecError, file_stem  # noqa: E402
from tests.reliability import helpers  # noqa: E402
from tests.tfrecord_tools.helpers import convert  # noqa: E402
from tfrecord_tools.schema import build, load_schema  # noqa: E402

COLUMNS = ["label", "../../x", "clicks/day", "user"]


def files_under(root):
    return {os.path.relpath(os.path.join(d, f), root) for d, _, names in os.walk(root) for f in names}


def hostile_conversion(root):
    rng = np.random.default_rng(0)
    rows = [f"{rng.integers(2)},v{rng.integers(5)},d{rng.integers(3)},u{rng.integers(20)}" for _ in range(400)]
    (root / "in").mkdir()
    (root / "in" / "data.csv").write_text(",".join(COLUMNS) + "\n" + "\n".join(rows) + "\n")
    (root / "in" / "schema.yaml").write_text("format: csv\nlabel: label\ncategorical: ['../../x', clicks/day, user]\n")
    schema = load_schema(str(root / "in" / "schema.yaml"))
    files, layout, fmt = build(schema, str(root / "in"), [str(root / "in" / "data.csv")])
    output = root / "a" / "b" / "out"
    convert(files, layout, output, fmt=fmt, dataset="hostile")
    return output


def test_field_names_that_are_paths_stay_inside_conversion_run_and_export(tmp_path):
    from mezoo.training.trainer import train

    output = hostile_conversion(tmp_path)
    outside = files_under(tmp_path) - {os.path.join("a", "b", "out", f) for f in files_under(output)}
    assert outside == {os.path.join("in", "data.csv"), os.path.join("in", "schema.yaml")}
    spec = FeatureSpec.load(str(output))
    assert [f["vocabulary"] for f in spec.fields] == [f"vocab/{file_stem(n)}.txt" for n in COLUMNS[1:]]
    assert spec.fields[2]["vocabulary"] == "vocab/user.txt" and "/" not in file_stem("clicks/day")
    assert len(spec.vocabulary("../../x")) == 5

    before = files_under(tmp_path)
    run_dir = tmp_path / "runs" / "r"
    overrides = ["train.epochs=1", "data.batch_size=64", "model.hidden_units=[8]", "train.jit_compile=false"]
    train("dnn_se_criteo", overrides, data=str(output), run_dir=str(run_dir), verbose=0)
    assert (run_dir / "export" / "1" / "saved_model.pb").exists()
    new = files_under(tmp_path) - before
    assert new and all(p.startswith(os.path.join("runs", "r") + os.sep) for p in new), sorted(new)[:5]
    assert (run_dir / spec.fields[0]["vocabulary"]).exists() and (run_dir / "vocab" / "user.txt").exists()
    shipped = run_dir / "export" / "1" / "assets.extra"
    for name in ("mezoo_export.json", "feature_spec.json"):
        assert str(tmp_path) not in (shipped / name).read_text(), name  # no local path leaves the machine


@pytest.mark.parametrize("vocabulary", ["../../../etc/passwd", "/etc/passwd", "vocab/../../secret.txt"])
def test_a_spec_naming_a_file_outside_its_folder_is_refused(tmp_path, vocabulary):
    output = hostile_conversion(tmp_path)
    spec = json.loads((output / "feature_spec.json").read_text())
    spec["fields"][0]["vocabulary"] = vocabulary
    (output / "feature_spec.json").write_text(json.dumps(spec))
    with pytest.raises(SpecError, match="is not a path inside the spec's directory"):
        FeatureSpec.load(str(output))
    proc = helpers.run("-m", "mezoo.train", "--recipe", "dnn_se_criteo", "--data", output, "--run_dir", tmp_path / "r")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ") and "not a path inside" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "r" / "vocab").exists()
