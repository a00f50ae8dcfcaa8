"""Recipes: the installed set, inheritance, overrides and their errors."""

import pytest

from mezoo import recipe

FAMILIES = ("dnn", "ipnn", "nfwfm", "xdeepfm", "dcnv2", "finalmlp")


def test_the_papers_six_families_times_datasets_times_se_me_are_installed():
    installed = recipe.names()
    assert len(installed) >= 36
    for family in FAMILIES:
        for dataset in ("criteo", "avazu", "frappe"):
            for kind in ("se", "me"):
                r = recipe.load(f"{family}_{kind}_{dataset}")
                assert r["model"]["name"] == family and r["data"]["dataset"] == dataset
                sets = r["model"]["num_embedding_sets"]
                assert sets == 1 if kind == "se" else sets == (4 if (family, dataset) == ("nfwfm", "avazu") else 10)
                assert r["model"]["embedding_dim"] == (50 if family == "nfwfm" else 10)


def test_protocols_paper_for_criteo_avazu_bars_for_frappe():
    criteo, frappe = recipe.load("dcnv2_se_criteo"), recipe.load("dcnv2_se_frappe")
    assert criteo["train"]["early_stopping_patience"] == 3 and criteo["train"]["reduce_lr_factor"] is None
    assert criteo["data"]["batch_size"] == 2048 and criteo["model"]["l2_regularization"] == 5e-7
    assert frappe["train"]["early_stopping_patience"] == 2 and frappe["train"]["reduce_lr_factor"] == 0.1
    assert frappe["data"]["batch_size"] == 4096


def test_overrides_are_typed_and_applied_last():
    r = recipe.load(
        "dnn_me_avazu", ["model.num_embedding_sets=4", "train.learning_rate=1e-4", "model.hidden_units=[64, 32]",
                         "train.mixed_precision=null"]
    )
    assert r["model"]["num_embedding_sets"] == 4 and r["train"]["learning_rate"] == 1e-4
    assert r["model"]["hidden_units"] == [64, 32] and r["train"]["mixed_precision"] is None
    assert recipe.load("dnn_me_avazu")["model"]["num_embedding_sets"] == 10, "no state leaks between loads"


def test_a_recipe_file_may_extend_an_installed_base(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("model:\n  name: dcnv2\n  embedding_dim: 16\ntrain:\n  epochs: 3\n")
    mine = tmp_path / "mine.yaml"
    mine.write_text("extends: base.yaml\nmodel:\n  num_embedding_sets: 2\n")
    r = recipe.load(mine)
    assert r["model"] == {"name": "dcnv2", "embedding_dim": 16, "num_embedding_sets": 2}
    assert r["train"] == {"epochs": 3}


@pytest.mark.parametrize(
    "name,overrides,message",
    [
        ("dcnv2_me_critio", [], "unknown recipe 'dcnv2_me_critio'; installed recipes: autoint_plus_se_frappe, dcn_se_frappe, "
                                "dcnv2_me_avazu"),
        ("_base", [], "unknown recipe '_base'"),
        ("dcnv2_me_criteo", ["train.lr=1"], "unknown key 'lr' in train; known keys: backup_every_steps"),
        ("dcnv2_me_criteo", ["optim.lr=1"], "unknown section 'optim'"),
        ("dcnv2_me_criteo", ["epochs"], "must look like section.key=value"),
    ],
)
def test_errors_list_what_exists(name, overrides, message):
    with pytest.raises(recipe.RecipeError, match=message.replace("(", r"\(")):
        recipe.load(name, overrides)


def test_model_keys_can_be_restricted_to_the_constructor(tmp_path):
    keys = ["num_embedding_sets", "embedding_dim", "hidden_units"]
    with pytest.raises(recipe.RecipeError, match="unknown key 'num_sets' in model"):
        recipe.load("dnn_se_criteo", ["model.num_sets=2"], model_keys=keys)
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [1, 2]\n")
    with pytest.raises(recipe.RecipeError, match="must be a mapping"):
        recipe.load(bad)


@pytest.mark.parametrize(
    "name,model",
    [
        ("deepfm_se_frappe", {"name": "deepfm", "hidden_units": [400, 400, 400], "dropout": 0.2}),
        ("dcn_se_frappe", {"name": "dcn", "num_cross_layers": 3, "hidden_units": [400, 400, 400], "dropout": 0.2}),
        ("autoint_plus_se_frappe", {"name": "autoint_plus", "num_attention_layers": 5, "num_heads": 4, "head_dim": 32,
                                    "dropout": 0.1, "embedding_l2_regularization": 0.05}),
    ],
)
def test_bars_frappe_recipes_of_the_further_families(name, model):
    r = recipe.load(name)
    assert r["data"]["dataset"] == "frappe" and r["data"]["batch_size"] == 4096
    assert r["model"]["num_embedding_sets"] == 1 and r["model"]["embedding_dim"] == 10
    assert r["model"]["l2_regularization"] == 0.0
    assert r["model"]["embedding_l2_regularization"] == model.pop("embedding_l2_regularization", 0.025)
    assert {key: r["model"][key] for key in model} == model
    assert r["train"]["early_stopping_patience"] == 2 and r["train"]["reduce_lr_factor"] == 0.1
