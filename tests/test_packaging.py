"""Packaging: every package listed, one version, console scripts that exist, recipes in the wheel."""

import importlib
import importlib.metadata
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import mezoo
from mezoo import recipe

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_directory_is_listed():
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in ROOT.glob("mezoo/**/__init__.py")}
    found |= {".".join(p.parent.relative_to(ROOT).parts) for p in ROOT.glob("tfrecord_tools/**/__init__.py")}
    assert sorted(found | {"mezoo.recipes"}) == sorted(PROJECT["tool"]["setuptools"]["packages"])


def test_one_version_and_scripts_that_exist():
    assert importlib.metadata.version("mezoo") == mezoo.__version__
    for name, target in PROJECT["project"]["scripts"].items():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function)), name


def test_the_recipes_install_as_mezoo_recipes():
    assert recipe.RECIPES_DIR == Path(importlib.import_module("mezoo.recipes").__file__).parent
    assert len(recipe.names()) >= 36 and (recipe.RECIPES_DIR / "_base.yaml").exists()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel of this tree, built by this environment's setuptools, and the build's output."""
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    return next(out.glob("mezoo-*.whl")), built.stdout + built.stderr


def test_a_wheel_holds_the_package_and_every_recipe(wheel):
    names = zipfile.ZipFile(wheel[0]).namelist()
    yamls = sorted(Path(n).name for n in names if n.startswith("mezoo/recipes/") and n.endswith(".yaml"))
    assert yamls == sorted(p.name for p in (ROOT / "recipes").glob("*.yaml"))
    assert "mezoo/cli/train.py" in names and "tfrecord_tools/criteo.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "mezoo-train = mezoo.cli.train:main" in zipfile.ZipFile(wheel[0]).read(entry_points).decode()


def test_the_license_is_pep_639_metadata_and_the_build_warns_of_nothing(wheel):
    path, output = wheel
    archive = zipfile.ZipFile(path)
    metadata = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    headers = metadata.split("\n\n", 1)[0].splitlines()
    assert "License-Expression: MIT" in headers and "License-File: LICENSE" in headers
    assert not [h for h in headers if h.startswith(("License:", "Classifier: License"))]
    licenses = [n for n in archive.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
    assert licenses and archive.read(licenses[0]) == (ROOT / "LICENSE").read_bytes()
    assert "Warning" not in output, output[-3000:]
