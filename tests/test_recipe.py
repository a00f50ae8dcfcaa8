"""Recipes: the installed set, inheritance, overrides and their errors."""

import dataclasses

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
                assert r.model.name == family and r.data.dataset == dataset
                sets = r.model.num_embedding_sets
                assert sets == 1 if kind == "se" else sets == (4 if (family, dataset) == ("nfwfm", "avazu") else 10)
                assert r.model.embedding_dim == (50 if family == "nfwfm" else 10)


def test_protocols_paper_for_criteo_avazu_bars_for_frappe():
    criteo, frappe = recipe.load("dcnv2_se_criteo"), recipe.load("dcnv2_se_frappe")
    assert criteo.train.early_stopping_patience == 3 and criteo.train.reduce_lr_factor is None
    assert criteo.data.batch_size == 2048 and criteo.model.l2_regularization == 5e-7
    assert frappe.train.early_stopping_patience == 2 and frappe.train.reduce_lr_factor == 0.1
    assert frappe.data.batch_size == 4096


def test_overrides_are_typed_and_applied_last():
    r = recipe.load(
        "dnn_me_avazu",
        [
            "model.num_embedding_sets=4",
            "train.learning_rate=1e-4",
            "model.hidden_units=[64, 32]",
            "train.mixed_precision=null",
        ],
    )
    assert r.model.num_embedding_sets == 4 and r.train.learning_rate == 1e-4
    assert r.model.hyperparameters["hidden_units"] == [64, 32] and r.train.mixed_precision is None
    assert recipe.load("dnn_me_avazu").model.num_embedding_sets == 10, "no state leaks between loads"


def test_a_recipe_file_may_extend_an_installed_base(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("model:\n  name: dcnv2\n  embedding_dim: 16\ntrain:\n  epochs: 3\n")
    mine = tmp_path / "mine.yaml"
    mine.write_text("extends: base.yaml\nmodel:\n  num_embedding_sets: 2\n")
    r, default = recipe.load(mine), recipe.load("dnn_se_criteo")
    assert (r.model.name, r.model.embedding_dim, r.model.num_embedding_sets) == ("dcnv2", 16, 2)
    assert r.train == dataclasses.replace(default.train, epochs=3), "every recipe resolves over _base.yaml"
    assert r.model.dropout == default.model.dropout and r.model.hyperparameters == {}


@pytest.mark.parametrize(
    "name,overrides,message",
    [
        (
            "dcnv2_me_critio",
            [],
            "unknown recipe 'dcnv2_me_critio'; installed recipes: autoint_plus_se_frappe, dcn_se_frappe, "
            "dcnv2_me_avazu",
        ),
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


def test_a_misspelt_model_key_in_a_recipe_file_is_refused_like_an_override(tmp_path):
    typo = tmp_path / "typo.yaml"
    typo.write_text("extends: dcnv2_se_criteo\nmodel:\n  embeding_dim: 20\n")
    with pytest.raises(
        recipe.RecipeError, match=r"recipe .*typo.yaml: unknown key 'embeding_dim' in model \(model 'dcnv2'\)"
    ):
        recipe.load(typo)
    with pytest.raises(recipe.RecipeError, match=r"override 'model.embeding_dim=20': unknown key 'embeding_dim'"):
        recipe.load("dcnv2_se_criteo", ["model.embeding_dim=20"])
    # a key of another family is unknown to this one, whether it comes from a file or an override
    with pytest.raises(recipe.RecipeError, match="unknown key 'num_cross_layers' in model"):
        recipe.load("dnn_se_criteo", ["model.num_cross_layers=2"])
    assert recipe.load("dnn_se_criteo", ["model.name=dcnv2", "model.num_cross_layers=2"]).model.name == "dcnv2"


@pytest.mark.parametrize(
    "text,line",
    [("train:\n  epochs: 1\ntrain:\n  epochs: 2\n", 3), ("train:\n  epochs: 1\n  seed: 2\n  epochs: 3\n", 4)],
)
def test_a_key_given_twice_in_a_recipe_file_is_an_error(tmp_path, text, line):
    twice = tmp_path / "twice.yaml"
    twice.write_text("extends: dnn_se_criteo\n" + text)
    with pytest.raises(recipe.RecipeError, match=f"line {line + 1}: key '(train|epochs)' is given twice"):
        recipe.load(twice)


@pytest.mark.parametrize(
    "name,model",
    [
        ("deepfm_se_frappe", {"name": "deepfm", "hidden_units": [400, 400, 400], "dropout": 0.2}),
        ("dcn_se_frappe", {"name": "dcn", "num_cross_layers": 3, "hidden_units": [400, 400, 400], "dropout": 0.2}),
        (
            "autoint_plus_se_frappe",
            {
                "name": "autoint_plus",
                "num_attention_layers": 5,
                "num_heads": 4,
                "head_dim": 32,
                "dropout": 0.1,
                "embedding_l2_regularization": 0.05,
            },
        ),
    ],
)
def test_bars_frappe_recipes_of_the_further_families(name, model):
    r = recipe.load(name)
    assert r.data.dataset == "frappe" and r.data.batch_size == 4096
    assert r.model.num_embedding_sets == 1 and r.model.embedding_dim == 10
    assert r.model.l2_regularization == 0.0
    assert r.model.hyperparameters["embedding_l2_regularization"] == model.pop("embedding_l2_regularization", 0.025)
    assert {key: r.model.to_dict()[key] for key in model} == model
    assert r.train.early_stopping_patience == 2 and r.train.reduce_lr_factor == 0.1


def test_base_yaml_sets_every_typed_setting_and_nothing_else():
    """The defaults are written once, in _base.yaml: the dataclasses declare names and types only."""
    import yaml

    base = yaml.safe_load((recipe.RECIPES_DIR / "_base.yaml").read_text())
    for section in recipe.SECTIONS:
        assert set(base[section]) == set(recipe.field_types(section)), section
    for cls in (recipe.DataConfig, recipe.TrainConfig):
        assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(cls)), cls


def test_an_override_error_names_the_settings_type():
    with pytest.raises(recipe.RecipeError, match=r"'abc' is a string; this key takes an integer \(train.epochs: int\)"):
        recipe.load("dnn_se_criteo", ["train.epochs=abc"])
    with pytest.raises(
        recipe.RecipeError, match=r"takes a number or null \(train.reduce_lr_factor: Optional\[float\]\)"
    ):
        recipe.load("dnn_se_criteo", ["train.reduce_lr_factor=fast"])
    with pytest.raises(recipe.RecipeError, match="this key takes true/false"):
        recipe.load("dnn_se_criteo", ["train.export=3"])
    assert recipe.load("dnn_se_criteo", ["train.jit_compile=false"]).train.jit_compile is False


def test_a_recipe_file_with_an_unknown_setting_is_refused(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("extends: dnn_se_criteo\ntrain:\n  epoch: 3\n")
    with pytest.raises(recipe.RecipeError, match=r"mine.yaml: train.epoch: unknown key 'epoch' in train; known keys: "):
        recipe.load(mine)


def test_a_recorded_recipe_loads_back_to_the_same_recipe(tmp_path):
    for name in ("dcnv2_me_frappe", "nfwfm_me_avazu", "autoint_plus_se_frappe"):
        resolved = recipe.load(name, ["train.epochs=2"])
        (tmp_path / "recipe.yaml").write_text(recipe.dump(resolved))
        assert recipe.load(tmp_path / "recipe.yaml") == resolved
        assert recipe.differences(resolved.to_dict(), resolved) == []


def test_an_me_recipe_is_its_se_recipe_with_more_embedding_sets():
    for name in recipe.names():
        if "_me_" in name:
            me, se = recipe.load(name), recipe.load(name.replace("_me_", "_se_"))
            assert me == dataclasses.replace(
                se, model=dataclasses.replace(se.model, num_embedding_sets=me.model.num_embedding_sets)
            ), name


def test_a_recipe_stored_before_a_setting_existed_reads_as_that_settings_old_default():
    resolved = recipe.load("dcnv2_me_criteo")
    stored = resolved.to_dict()
    del stored["train"]["distribution"], stored["train"]["mesh"]  # a run directory of an earlier mezoo
    assert recipe.differences(stored, resolved) == []
    changed = recipe.load("dcnv2_me_criteo", ["train.distribution=model_parallel"])
    assert recipe.differences(stored, changed) == ["train.distribution: 'auto' -> 'model_parallel'"]


@pytest.mark.parametrize(
    "target", ["../../../../../../etc/shadow", "/etc/passwd", "../outside.yaml", "sub/../../x.yaml"]
)
def test_extends_reads_nothing_outside_the_recipes_folder(tmp_path, target):
    (tmp_path / "outside.yaml").write_text("model:\n  name: dcnv2\n")
    folder = tmp_path / "recipes"
    folder.mkdir()
    mine = folder / "mine.yaml"
    mine.write_text(f"extends: {target}\n")
    with pytest.raises(recipe.RecipeError, match="nor a .yaml file in the recipe's folder") as raised:
        recipe.load(mine)
    assert "99999" not in str(raised.value)  # /etc/shadow's and /etc/passwd's lines are not quoted


def test_a_base_in_a_subfolder_is_read(tmp_path):
    (tmp_path / "bases").mkdir()
    (tmp_path / "bases" / "b.yaml").write_text("model:\n  embedding_dim: 12\n")
    (tmp_path / "mine.yaml").write_text("extends: bases/b.yaml\n")
    assert recipe.load(tmp_path / "mine.yaml").model.embedding_dim == 12


def test_an_error_about_a_file_that_is_no_recipe_does_not_quote_it(tmp_path):
    secret = "root:$6$c2VjcmV0aGFzaA:20228:0:99999:7:::"
    not_a_recipe = tmp_path / "shadow"
    not_a_recipe.write_text("\n".join(f"{secret}{i}: x" for i in range(3)) + "\n")
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text(f"model:\n  name: dnn\n{secret} [unclosed\n")
    twice = tmp_path / "twice.yaml"
    twice.write_text(f"{secret}: 1\n{secret}: 2\n")
    for path in (not_a_recipe, bad_yaml, twice):
        with pytest.raises(recipe.RecipeError) as raised:
            recipe.load(path)
        assert "c2VjcmV0aGFzaA" not in str(raised.value), str(raised.value)
        assert str(path) in str(raised.value)
