"""A warm-started run's export is the next version of its parent's export base (TF Serving moves on to
it); the version before stays as it was; a value only the grown vocabulary knows has its own row in
the new version and is out of vocabulary in the old one (read through TF1's loader, as TF Serving)."""

import hashlib
import shutil

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from tests.serving.conftest import TRAIN, raw_rows, tf1_loader_result  # noqa: E402
from tests.shared_data import shared_data  # noqa: E402
from tests.tfrecord_tools.helpers import convert  # noqa: E402


def _digest(directory):
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(directory)).encode() + path.read_bytes())
    return digest.hexdigest()


def test_a_warm_started_runs_export_is_the_next_version_with_the_grown_vocabularies(converted, trained, tmp_path):
    from mezoo.data import FeatureSpec
    from mezoo.serving.raw_examples import serialize_rows
    from mezoo.training.trainer import train
    from tfrecord_tools.formats import criteo_layout

    parent = tmp_path / "parent"
    shutil.copytree(trained("criteo", "se"), parent)  # the session's run stays as the other tests expect it
    old_version = parent / "export" / "1"
    before = _digest(old_version)
    grown = tmp_path / "grown"
    source = shared_data("criteo", "criteo_kaggle_head10k.tsv")
    convert(
        [source],
        criteo_layout(),
        grown,
        min_count=2,
        dataset="criteo",
        vocabulary_from=str(converted("criteo")["train"]),
    )

    child = tmp_path / "child"
    train("dcnv2_se_criteo", TRAIN + [f"train.warm_start={parent}"], data=str(grown), run_dir=str(child), verbose=0)

    new_version = parent / "export" / "2"
    assert sorted(p.name for p in (parent / "export").iterdir() if p.name.isdigit()) == ["1", "2"]
    assert _digest(old_version) == before
    old_spec, new_spec = (
        FeatureSpec.load(str(old_version / "assets.extra")),
        FeatureSpec.load(str(new_version / "assets.extra")),
    )
    categorical = [f for f in new_spec.field_names if f.startswith("C")]  # raw value = token (I fields are bucketed)
    field = next(f for f in categorical if len(new_spec.vocabulary(f)) > len(old_spec.vocabulary(f)))
    old_tokens, new_tokens = old_spec.vocabulary(field), new_spec.vocabulary(field)
    assert new_tokens[: len(old_tokens)] == old_tokens
    appended = new_tokens[len(old_tokens)].decode()

    row = {k: (v or None) for k, v in raw_rows("criteo")[0].items() if k != "label"}
    requests = [{**row, field: appended}, {**row, field: "never-seen-in-any-vocabulary"}]
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    old = tf1_loader_result(old_version, serialize_rows(requests, old_spec), tmp_path / "old")["first"]
    new = tf1_loader_result(new_version, serialize_rows(requests, new_spec), tmp_path / "new")["first"]
    assert old[0] == old[1]  # the old version: out of vocabulary, the OOV row
    assert new[0] != new[1]  # the new version: its own row
