"""An s3:// path without the `s3` extra: one error that names the extra, on any stack."""

import sys

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.data.feature_spec import FeatureSpec, RemoteFileSystemError  # noqa: E402


def test_an_s3_path_without_tensorflow_io_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_io", None)  # as if the extra were not installed
    with pytest.raises(RemoteFileSystemError, match=r"pip install 'mezoo\[s3\]'"):
        FeatureSpec.load("s3://bucket/criteo")
