"""The built-in sample is generated once, atomically, and reused."""

import json

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.data import FeatureSpec  # noqa: E402
from mezoo.training import data_sources  # noqa: E402


def test_generated_once_in_place_replacing_a_partial_one(tmp_path, monkeypatch):
    monkeypatch.setenv("MEZOO_CACHE", str(tmp_path))
    args = dict(dataset="frappe", rows=3000, seed=0, max_cardinality=0, first_order=0.3, verbose=0)
    root = tmp_path / "builtin" / f"frappe-3000-card0-fo0.3-seed0-v{data_sources.BUILTIN_VERSION}"
    (root / "raw").mkdir(parents=True)  # what a run killed mid-generation used to leave
    (root / "raw" / "train.csv").write_text("label,user\n1,")
    converted = data_sources.builtin_sample(**args)
    assert converted == root / "converted"
    spec = FeatureSpec.load(str(converted))
    assert spec.rows("train") + spec.rows("valid") + spec.rows("test") == 3000
    assert 0.5 < json.loads((converted / "planted.json").read_text())["planted_auc_heldout"] < 1
    assert [p.name for p in (tmp_path / "builtin").iterdir()] == [root.name]  # no scratch left
    stamp = (converted / "feature_spec.json").stat().st_mtime_ns
    assert data_sources.builtin_sample(**args) == converted
    assert (converted / "feature_spec.json").stat().st_mtime_ns == stamp  # cached, not regenerated


def test_a_failed_generation_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setenv("MEZOO_CACHE", str(tmp_path))
    monkeypatch.setitem(data_sources.CONVERTERS, "frappe", "tfrecord_tools.no_such_converter")
    with pytest.raises(RuntimeError, match="converting the built-in sample failed"):
        data_sources.builtin_sample("frappe", 2000, seed=0, verbose=0)
    assert list((tmp_path / "builtin").iterdir()) == []
