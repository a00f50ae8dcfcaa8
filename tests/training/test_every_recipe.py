"""Every installed recipe, shrunk (ME keeps 2 sets), trains one short epoch on synthetic data."""

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo import recipe  # noqa: E402
from mezoo.training.trainer import train  # noqa: E402
from tests.training import resumable_run  # noqa: E402

RECIPES = recipe.names()


def test_there_are_at_least_36_recipes():
    assert len(RECIPES) >= 36


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_trains_one_short_epoch(name, tmp_path):
    model = recipe.load(name).model
    sets = model.num_embedding_sets
    # widths divisible by every head count a recipe uses (FinalMLP's 5)
    small = {"stream2_hidden_units": "[10]", "gate_hidden_units": "[8]", "cin_layer_sizes": "[4]"}
    overrides = [
        f"model.num_embedding_sets={min(sets, 2)}",
        "model.embedding_dim=4",
        *(["model.hidden_units=[10, 10]"] if model.hyperparameters.get("hidden_units") else []),  # (FwFM has none)
        *[f"model.{key}={value}" for key, value in small.items() if key in model.hyperparameters],
        "data.batch_size=256",
        "train.epochs=1",
        "train.steps_per_epoch=2",
        "train.backup_every_steps=0",
    ]
    metrics = train(name, overrides, run_dir=tmp_path, source=resumable_run.source(rows=3000), verbose=0)
    assert metrics["finished"] and metrics["steps"] == 2 and len(metrics["epochs"]) == 1
    assert metrics["epochs"][0]["loss"] > 0 and 0 <= metrics["test_auc"] <= 1
    assert (tmp_path / "model.keras").exists()
    assert "num_embedding_sets: " + str(min(sets, 2)) in (tmp_path / "recipe.yaml").read_text()
