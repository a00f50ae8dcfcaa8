"""Warm start (`train.warm_start`): a run on grown vocabularies starts from an earlier run's weights.

In-memory planted data: the parent trains on `VOCAB` ids, the child on the same rows with every
field's vocabulary grown (ids appended after the parent's), as a conversion with
`--vocabulary_from` gives them.
"""

import csv
import json

import keras
import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.data.planted import planted_click_log  # noqa: E402
from mezoo.errors import BadInput  # noqa: E402
from mezoo.training import warm_start as warm  # noqa: E402
from mezoo.training.in_memory_source import InMemorySource  # noqa: E402
from mezoo.training.trainer import Trainer, train  # noqa: E402
from tests.models import family_cases  # noqa: E402

VOCAB = [20, 30, 10, 15, 25]
GROWN = [23, 30, 14, 15, 31]  # field 1 and 3 unchanged
BASE = [
    "model.hidden_units=[16, 8]",
    "model.embedding_dim=4",
    "data.batch_size=256",
    "train.epochs=1",
    "train.steps_per_epoch=6",
    "train.export=false",
    "train.jit_compile=false",
]


def source(vocab=VOCAB, rows=4000, seed=1):
    ids, clicks, _ = planted_click_log(rows, VOCAB, seed=seed)  # ids of the parent's values only
    a, b = int(rows * 0.8), int(rows * 0.9)
    splits = {"train": (0, a), "valid": (a, b), "test": (b, rows)}
    return InMemorySource(
        [(f"f{i}", v) for i, v in enumerate(vocab)],
        {k: ({"ids": ids[i:j]}, clicks[i:j]) for k, (i, j) in splits.items()},
    )


@pytest.fixture(scope="module", params=["exact", "fast"])
def parent(request, tmp_path_factory):
    mode = request.param
    run_dir = tmp_path_factory.mktemp(f"parent-{mode}") / "run"
    overrides = BASE + ["model.num_embedding_sets=2", f"train.mode={mode}"]
    train("dnn_me_criteo", overrides, run_dir=run_dir, source=source(), verbose=0)
    return run_dir, overrides


def set_up(overrides, run_dir, vocab=GROWN):
    """The child's model as `set_up` leaves it, before its first step (the run directory released)."""
    trainer = Trainer("dnn_me_criteo", overrides, run_dir=run_dir, source=source(vocab), verbose=0)
    policy = keras.mixed_precision.global_policy()
    try:
        return trainer.set_up()
    finally:
        trainer.held.close()
        keras.mixed_precision.set_global_policy(policy)


def table(model):
    return keras.ops.convert_to_numpy(model.multi_embedding.embeddings)


def test_copied_rows_equal_the_parents_bit_for_bit_and_appended_rows_are_a_fresh_tables(parent, tmp_path):
    run_dir, overrides = parent
    child = set_up(overrides + [f"train.warm_start={run_dir}"], tmp_path / "child").model
    fresh = set_up(overrides, tmp_path / "fresh").model  # the same seed, no warm start
    old = keras.models.load_model(run_dir / "model.keras", compile=False)
    old_table, new_table, fresh_table = table(old), table(child), table(fresh)
    old_offsets, new_offsets = np.cumsum([0] + VOCAB), np.cumsum([0] + GROWN)
    for f, (v_old, v_new) in enumerate(zip(VOCAB, GROWN)):
        kept = new_table[new_offsets[f] : new_offsets[f] + v_old]
        assert kept.tobytes() == old_table[old_offsets[f] : old_offsets[f] + v_old].tobytes()
        appended = slice(new_offsets[f] + v_old, new_offsets[f + 1])
        np.testing.assert_array_equal(new_table[appended], fresh_table[appended])
        assert v_new == v_old or np.any(new_table[appended] != 0)
    tables = {id(child.multi_embedding.embeddings)}
    for a, b in zip(old.weights, child.weights):
        if id(b) not in tables:
            assert keras.ops.convert_to_numpy(a).tobytes() == keras.ops.convert_to_numpy(b).tobytes(), b.path
    # the optimizer starts afresh: step 0, every moment (the appended rows' included) zero
    optimizer = child.optimizer
    if not optimizer.built:
        optimizer.build(child.trainable_variables)
    assert int(keras.ops.convert_to_numpy(optimizer.iterations)) == 0
    for slot in optimizer._momentums + optimizer._velocities:
        assert not np.any(keras.ops.convert_to_numpy(slot))


def test_the_warm_started_model_scores_the_parents_ids_as_the_parent_did(parent, tmp_path):
    run_dir, overrides = parent
    child = set_up(overrides + [f"train.warm_start={run_dir}"], tmp_path / "child").model
    old = keras.models.load_model(run_dir / "model.keras", compile=False)
    x = {"ids": source().splits["test"][0]["ids"][:64]}
    np.testing.assert_allclose(child.predict(x, verbose=0), old.predict(x, verbose=0), rtol=1e-6, atol=1e-7)


def test_a_warm_started_run_records_its_parent_and_continues_its_abundance(parent, tmp_path):
    run_dir, overrides = parent
    child_dir = tmp_path / "child"
    train(
        "dnn_me_criteo", overrides + [f"train.warm_start={run_dir}"], run_dir=child_dir, source=source(GROWN), verbose=0
    )
    record = json.loads((child_dir / "run.json").read_text())
    parent_json = json.loads((run_dir / "run.json").read_text())
    assert record["warm_start"]["path"] == str(run_dir.resolve())
    assert record["warm_start"]["git_commit"] == parent_json["git_commit"]
    assert record["warm_start"]["generation"] == record["generation"] == 2
    assert record["warm_start"]["optimizer_slots"] == "reset"
    assert record["warm_start"]["export_base"] == str(run_dir.resolve() / "export")
    with open(child_dir / "abundance.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with open(run_dir / "abundance.csv", newline="") as handle:
        parent_rows = list(csv.DictReader(handle))
    assert [r["generation"] for r in parent_rows] == ["1"] * len(parent_rows)
    assert rows[: len(parent_rows)] == parent_rows
    own = rows[len(parent_rows) :]
    assert own and {r["generation"] for r in own} == {"2"} and {r["epoch"] for r in own} == {"1"}
    # the tables' own rows: the appended ids were never looked up, so they stay out of the measure
    grown = [r for r in own if r["field"] == "f0" and r["set"] == "concat"]
    assert int(grown[0]["rows"]) <= VOCAB[0] < int(grown[0]["rows_total"]) == GROWN[0]


def test_a_resumed_warm_started_run_keeps_its_parents_abundance_rows(tmp_path):
    from mezoo.training.run_directory import truncate_abundance_csv

    path = tmp_path / "abundance.csv"
    header = "epoch,field,set,rows,rows_total,width,ia,ia_normalised,erank,ia_random,ia_vs_random,generation\n"
    lines = [f"{e},f0,0,1,1,1,1,1,1,1,1,{g}\n" for g, e in ((1, 1), (1, 2), (1, 3), (2, 1), (2, 2))]
    path.write_text(header + "".join(lines))
    truncate_abundance_csv(path, 1, generation=2)
    assert path.read_text() == header + "".join(lines[:4])


REFUSED = {
    "another family": (["model.name=dcnv2"], "the parent is a DNN, this run a DCNv2"),
    "another width": (["model.embedding_dim=6"], "model.embedding_dim is 4 in the parent, 6 here"),
    "other sets": (["model.num_embedding_sets=3"], "model.num_embedding_sets is 2 in the parent, 3 here"),
    "other layers": (["model.hidden_units=[16, 4]"], "model.hidden_units: [16, 8] in the parent, [16, 4] here"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_model_that_does_not_descend_from_the_parent_is_refused_naming_what_differs(parent, tmp_path, case):
    run_dir, overrides = parent
    extra, message = REFUSED[case]
    with pytest.raises(warm.WarmStartError, match=message.replace("[", r"\[")) as refused:
        set_up(overrides + extra + [f"train.warm_start={run_dir}"], tmp_path / "child")
    assert isinstance(refused.value, BadInput) and "\n" not in str(refused.value)
    assert not (tmp_path / "child").exists()  # refused before anything was written


def test_fewer_ids_or_other_fields_are_refused(parent, tmp_path):
    run_dir, overrides = parent
    with pytest.raises(warm.WarmStartError, match="field 'f2' has 9 ids here, fewer than the parent's 10"):
        set_up(overrides + [f"train.warm_start={run_dir}"], tmp_path / "a", vocab=[20, 30, 9, 15, 25])
    with pytest.raises(warm.WarmStartError, match="the categorical fields differ"):
        set_up(overrides + [f"train.warm_start={run_dir}"], tmp_path / "b", vocab=VOCAB[:4])


def test_a_warm_start_from_nothing_or_an_unfinished_run_is_refused(tmp_path):
    with pytest.raises(warm.WarmStartError, match="no such run directory or export version"):
        warm.find_parent_run(str(tmp_path / "missing"))
    (tmp_path / "unfinished").mkdir()
    (tmp_path / "unfinished" / "run.json").write_text("{}")
    with pytest.raises(warm.WarmStartError, match="the run has not finished"):
        warm.find_parent_run(str(tmp_path / "unfinished"))


def test_grown_rows_copies_each_fields_rows_to_the_same_ids():
    old = np.arange(6, dtype="float32").reshape(6, 1)  # fields of 2 and 4 rows
    fresh = np.full((9, 1), -1.0, "float32")  # fields of 3 and 5 rows, one padding row
    out = warm.grown_rows(old, fresh, [2, 4], [3, 5])
    assert out.reshape(-1).tolist() == [0, 1, -1, 2, 3, 4, 5, -1, -1]


# ---- every family, SE and ME: a parent saved as a run directory's model.keras, a child on grown fields


def _grown_fields(fields):
    return [(f[0], f[1] + 3, *f[2:]) for f in fields]


FAMILY_CASES = [name for name in family_cases.cases() if name.rsplit("_", 1)[-1] in ("1", "3")]


class _NoSpec:
    spec = None


@pytest.mark.parametrize("name", FAMILY_CASES)
def test_every_family_warm_starts_id_for_id(name, tmp_path):
    from mezoo import models
    from mezoo.training.training_mode import compile_model

    key, fields, arguments = family_cases.cases()[name]
    parent = family_cases.build(name, seed=1)
    family_cases.randomize(parent, seed=2)  # no weight at its initial value (first-order tables start at zero)
    parent.save(tmp_path / "model.keras")
    keras.utils.set_random_seed(3)
    child = models.get(key)(_grown_fields(fields), **arguments)
    compile_model(child, "exact", jit_compile=False)
    warm.WarmStart.open(str(tmp_path), child, _NoSpec()).apply(child)
    x = family_cases.inputs(name)  # ids of the parent's values only
    np.testing.assert_allclose(child.predict(x, verbose=0), parent.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    tables = warm.row_table_layers(child)
    assert tables and len(tables) == len(warm.row_table_layers(parent))
    for old_layer, new_layer in zip(warm.row_table_layers(parent), tables):
        old_value = keras.ops.convert_to_numpy(warm.table_variable(old_layer))
        new_value = keras.ops.convert_to_numpy(warm.table_variable(new_layer))
        old_offsets, new_offsets = np.cumsum([0] + old_layer.vocab_sizes), np.cumsum([0] + new_layer.vocab_sizes)
        for f, rows in enumerate(old_layer.vocab_sizes):
            kept = new_value[new_offsets[f] : new_offsets[f] + rows]
            assert kept.tobytes() == old_value[old_offsets[f] : old_offsets[f] + rows].tobytes()


def test_a_run_from_before_generations_resumes_writing_its_own_columns(tmp_path):
    from mezoo.abundance import CSV_COLUMNS, AbundanceTracker
    from mezoo.layers import MultiEmbedding

    path = tmp_path / "abundance.csv"
    path.write_text(",".join(CSV_COLUMNS) + "\n")
    layer = MultiEmbedding([5, 7], embedding_dim=3)
    layer.build((None, 2))
    AbundanceTracker(layer, csv_path=path, generation=1).measure(epoch=1)
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 and "generation" not in rows[0]
