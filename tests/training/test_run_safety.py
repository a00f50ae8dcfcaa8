"""A run never trains on other data or settings than it says, and its errors are readable."""

import dataclasses
import json
import os

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

import mezoo  # noqa: E402
from mezoo import recipe as recipes  # noqa: E402
from mezoo.saved_models import ModelFileError  # noqa: E402
from mezoo.training import evaluation, run_directory  # noqa: E402
from mezoo.training.data_sources import DataNotFoundError, open_source  # noqa: E402
from mezoo.training.trainer import train  # noqa: E402
from tests.training import resumable_run  # noqa: E402
from tests.training.resumable_run import fake_run_dir  # noqa: E402


@pytest.mark.parametrize("how", ["flag", "recipe"])
def test_explicit_data_without_a_spec_is_an_error_not_the_builtin_sample(how, tmp_path):
    (tmp_path / "criteo").mkdir()  # e.g. being reconverted: the spec is not there yet
    (tmp_path / "criteo" / "summary.json").write_text("{}")
    data_cfg = recipes.load("dnn_me_criteo").data
    named = "--data" if how == "flag" else "data.location"

    def call():
        if how == "flag":
            return open_source(data_cfg, str(tmp_path / "criteo"), verbose=0)
        return open_source(dataclasses.replace(data_cfg, location=str(tmp_path / "criteo")), verbose=0)

    with pytest.raises(DataNotFoundError, match=rf"{named} .*criteo has no feature_spec.json"):
        call()
    with pytest.raises(DataNotFoundError, match="does not exist"):
        open_source(dataclasses.replace(data_cfg, location=str(tmp_path / "nowhere")), verbose=0)


def test_the_trainer_refuses_a_missing_recipe_location(tmp_path):
    overrides = resumable_run.OVERRIDES + [f"data.location={tmp_path / 'nowhere'}"]
    with pytest.raises(DataNotFoundError):
        train("dnn_me_criteo", overrides, run_dir=tmp_path / "run", verbose=0)
    assert not (tmp_path / "run" / "recipe.yaml").exists()


@pytest.mark.parametrize(
    "change,difference",
    [
        ("train.learning_rate=0.1", "train.learning_rate: 0.001 -> 0.1"),
        ("model.embedding_dim=20", "model.embedding_dim: 10 -> 20"),
    ],
)
def test_a_resume_with_another_recipe_is_refused_before_anything_changes(change, difference, tmp_path):
    stored = recipes.dump(recipes.load("dnn_me_criteo", resumable_run.OVERRIDES))
    (tmp_path / "recipe.yaml").write_text(stored)
    (tmp_path / "run.json").write_text("{}")
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(recipes.RecipeChangedError, match="another recipe") as raised:
        train(
            "dnn_me_criteo",
            resumable_run.OVERRIDES + [change],
            run_dir=tmp_path,
            source=resumable_run.source(600),
            verbose=0,
        )
    assert difference in str(raised.value) and "--run_dir" in str(raised.value)
    assert sorted(os.listdir(tmp_path)) == before and (tmp_path / "recipe.yaml").read_text() == stored
    assert (tmp_path / "run.json").read_text() == "{}"
    same = recipes.load("dnn_me_criteo", resumable_run.OVERRIDES)
    run_directory.check_same_recipe(tmp_path, same)  # the same: resumes


def test_a_resume_on_data_with_another_spec_is_refused(tmp_path):
    from mezoo.training.data_source import DataSource

    class Source(DataSource):
        description = "a source with a wider field a"

        def spec_json(self):
            return json.dumps({"fields": [{"name": "a", "vocab_size": 7}]})

    (tmp_path / "feature_spec.json").write_text(json.dumps({"fields": [{"name": "a", "vocab_size": 5}]}))
    with pytest.raises(recipes.RecipeChangedError, match="another feature spec .*differs in: fields"):
        run_directory.check_same_data(tmp_path, Source())


def test_override_types_are_checked_before_anything_is_built():
    with pytest.raises(
        recipes.RecipeError, match=r"override 'train.epochs=abc': 'abc' is a string; this key takes an integer"
    ):
        recipes.load("dnn_me_criteo", ["train.epochs=abc"])
    with pytest.raises(recipes.RecipeError, match="takes an integer"):
        recipes.load("dnn_me_criteo", ["model.embedding_dim=2.5"])
    assert (
        recipes.load(
            "dnn_me_criteo",
            ["train.learning_rate=1e-4", "train.jit_compile=false", "train.mixed_precision=mixed_float16"],
        ).train.learning_rate
        == 1e-4
    )


def test_a_recipe_file_is_type_checked_over_its_base(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("extends: dnn_me_criteo\ntrain:\n  epochs: many\n  learning_rate: 1e-4\n")
    with pytest.raises(recipes.RecipeError, match=r"mine.yaml: train.epochs: 'many' is a string"):
        recipes.load(mine)
    mine.write_text("extends: dnn_me_criteo\ntrain:\n  learning_rate: 1e-4\n")
    assert recipes.load(mine).train.learning_rate == 1e-4  # YAML 1.1's string "1e-4", read as the number


def test_extends_takes_an_installed_name_or_a_path_relative_to_the_recipe(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative to the recipe file, not the working directory
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "mine.yaml").write_text("extends: dcnv2_se_frappe\ntrain:\n  epochs: 3\n")
    resolved = recipes.load(folder / "mine.yaml")
    assert resolved.model.name == "dcnv2" and resolved.train.epochs == 3
    assert resolved.data == recipes.load("dcnv2_se_frappe").data
    (folder / "child.yaml").write_text("extends: mine.yaml\nmodel:\n  embedding_dim: 16\n")
    child = recipes.load(str(folder / "child.yaml"))
    assert child.train.epochs == 3 and child.model.embedding_dim == 16
    (folder / "bad.yaml").write_text("extends: no_such_recipe\n")
    with pytest.raises(recipes.RecipeError, match=r"extends 'no_such_recipe', which is neither an installed recipe"):
        recipes.load(folder / "bad.yaml")


def test_run_json_records_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.yaml").write_text("extends: dnn_me_criteo\n")
    meta = run_directory.run_metadata("mine.yaml", [], "data/criteo", 0)
    assert meta["data"] == str(tmp_path / "data" / "criteo") and meta["recipe"] == str(tmp_path / "mine.yaml")
    assert meta["cwd"] == str(tmp_path)
    assert run_directory.run_metadata("dnn_me_criteo", [], None, 0)["data"] is None


def test_a_shadowed_package_is_reported_not_a_crash(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(mezoo, "__file__", None)  # what `import mezoo` gives when ./mezoo shadows the package
    monkeypatch.setattr(mezoo, "__path__", [str(tmp_path / "mezoo")], raising=False)
    meta = run_directory.run_metadata("dnn_me_criteo", [], None, 0)
    assert meta["recipe"] == "dnn_me_criteo"
    err = capsys.readouterr().err
    assert "found a folder without __init__.py" in err and str(tmp_path / "mezoo") in err and "shadows" in err


def test_evaluate_says_where_recorded_data_went(tmp_path, monkeypatch):
    fake_run_dir(tmp_path / "run")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(evaluation, "load_keras_file", lambda path: None)  # the data is what is missing here
    with pytest.raises(
        DataNotFoundError,
        match=r"records the data data/criteo \(a path relative to the directory .* was "
        r"trained from\), which holds no feature_spec.json now .*pass --data",
    ):
        evaluation.evaluate_run(tmp_path / "run")


def test_evaluate_names_a_truncated_model_file(tmp_path):
    fake_run_dir(tmp_path)
    data = (tmp_path / "model.keras").read_bytes()
    (tmp_path / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"model.keras is damaged or truncated \(.* bytes, not a .keras archive\)"):
        evaluation.evaluate_run(tmp_path, source=resumable_run.source(600))


def test_the_epoch_loss_of_a_resume_is_carried_across_backups_or_left_unknown():
    from types import SimpleNamespace

    from mezoo.training.callbacks import StepBackup
    from mezoo.training.run_state import RunState

    saved = []
    backup = SimpleNamespace(save=lambda model, state: saved.append(state.epoch_loss_sum))
    model = SimpleNamespace(optimizer=SimpleNamespace(iterations=4))
    resumed = StepBackup(backup, RunState(step_in_epoch=2, epoch_loss_sum=1.5), every_steps=1, first_step_in_epoch=2)
    resumed.set_model(model)
    resumed.on_train_batch_end(1, {"loss": 0.25})  # two steps after the resume, mean loss 0.25
    assert saved == [1.5 + 0.5]
    older = StepBackup(backup, RunState(step_in_epoch=2, epoch_loss_sum=None), every_steps=1, first_step_in_epoch=2)
    older.set_model(model)
    older.on_train_batch_end(1, {"loss": 0.25})  # an older backup didn't keep the sum: it stays unknown
    assert saved[-1] is None
