"""mezoo.scaling: the cells, resume (a finished cell is never retrained), atomic cell locks, data fractions."""

import csv
import io
import json
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.cli import scaling as scaling_cli  # noqa: E402
from mezoo.evidence import cell_locks, scaling  # noqa: E402
from mezoo.evidence.fraction_source import TrainingFractionSource  # noqa: E402
from mezoo.evidence.scaling_cells import CSV_COLUMNS, EPOCH_COLUMNS  # noqa: E402
from mezoo.evidence.scaling_plan import Cell, StudyMismatchError, plan  # noqa: E402
from tests.cli_testing import fails_with  # noqa: E402
from tests.evidence import tiny_runs  # noqa: E402
from tests.evidence.fake_trainer import FakeTrainer  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"
TINY = tiny_runs.TINY + ["model.embedding_dim=2", "train.epochs=1"]


def test_plan_pairs_se_and_me_at_equal_width():
    cells = plan([1, 2, 4], seeds=2, ablations=True)
    assert [c.key for c in cells if c.scale == 1] == ["se_x1_seed0", "se_x1_seed1"]  # ME at 1x is SE
    assert len(cells) == 2 + 2 * 2 * 3
    me = Cell("ME", 4, 1).overrides(10, 2024, True)
    se = Cell("SE", 4, 1).overrides(10, 2024, True)
    assert me == [
        "model.num_embedding_sets=4",
        "model.embedding_dim=10",
        "train.seed=2025",
        "model.shared_interaction=false",
    ]
    assert se[:2] == ["model.num_embedding_sets=1", "model.embedding_dim=40"]
    assert Cell("ME-SI", 2, 0).overrides(10, 0, True)[-1] == "model.shared_interaction=true"
    assert Cell("ME", 2, 0, 0.25).key == "me_x2_seed0_data0.25"


def test_a_real_tiny_study_writes_its_tables_and_never_retrains(tmp_path):
    out = tmp_path / "study"
    result = scaling.run_study(
        "dcnv2_me_criteo", [1, 2], 1, out, overrides=TINY, ablations=True, source=tiny_runs.source(), verbose=0
    )
    assert sorted(result["trained"]) == ["me_x2_seed0", "mesi_x2_seed0", "se_x1_seed0", "se_x2_seed0"]
    # the cells' locks keep the on-disk names older code and live studies use: OUT/claims/<cell>.<n>.claim
    assert sorted(p.name for p in (out / "claims").iterdir())[0] == "me_x2_seed0.0.claim"
    rows = (out / "scaling.csv").read_text().splitlines()
    assert len(rows) == 1 + 4 and rows[0].startswith("fraction,variant,scale,seed")
    records = {(r["variant"], r["scale"]): r for r in result["records"]}
    assert records[("SE", 2)]["width"] == records[("ME", 2)]["width"] == 4
    assert records[("ME", 2)]["num_sets"] == 2 and records[("SE", 2)]["num_sets"] == 1
    # ME-SI shares one cross net: fewer parameters than ME at the same scale
    assert records[("ME-SI", 2)]["params"] < records[("ME", 2)]["params"]
    for record in records.values():
        assert 0 < record["test_auc"] <= 1 and record["ia_mean"] >= 1 and record["examples_per_sec"] > 0
    md = (out / "scaling.md").read_text()
    for text in (
        "| SE |",
        "| ME |",
        "| ME-SI |",
        "(= SE)",
        "All cells finished",
        "Data: SYNTHETIC rows: in-memory arrays",
        "mezoo.scaling called from Python by: ",
        "Cells trained by:",
        "(4 cells)",
    ):
        assert text in md, text
    for name in ("auc_vs_scale.png", "ia_vs_scale.png"):
        assert (out / name).read_bytes()[:8] == PNG
    study = json.loads((out / "study.json").read_text())
    assert study["scales"] == [1, 2] and study["ablations"] and study["pending"] == [] and study["finished"] == 4
    assert study["overrides"] == list(TINY) and "mezoo.scaling" in study["provenance"]["command"]
    # each cell's test predictions beside the tables, its provenance, its abundance per epoch
    from mezoo.training.predictions import load_predictions
    from mezoo.training.revision import TRAINING_REVISION

    for record in records.values():
        kept = load_predictions(out / record["predictions"])
        assert kept["rows"] == record["test_rows"] == len(tiny_runs.source().splits["test"][1])
        assert record["training_revision"] == TRAINING_REVISION and len(record["git_commit"]) >= 7
        assert record["started_at"] <= record["finished_at"] and record["finished_at"].endswith("+00:00")  # ISO UTC
        assert record["tensorflow"] and record["machine"]
    table = list(csv.DictReader(open(out / "abundance_by_epoch.csv")))
    assert {r["cell"] for r in table} == set(result["trained"]) and {r["best"] for r in table} == {"True"}
    assert all(int(r["rows"]) <= int(r["rows_total"]) and float(r["ia_vs_random"]) > 0 for r in table)
    digits = [len(r["ia"].replace(".", "").lstrip("0").split("e")[0]) for r in table]
    assert max(digits) <= 7  # seven significant digits, not the float's full repr
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("cells/*/model.keras")}
    again = scaling.run_study(
        "dcnv2_me_criteo", [1, 2], 1, out, overrides=TINY, ablations=True, source=tiny_runs.source(), verbose=0
    )
    assert again["trained"] == [] and len(again["skipped_finished"]) == 4
    assert stamps == {p: p.stat().st_mtime_ns for p in out.glob("cells/*/model.keras")}
    # the same OUT with another recipe or other overrides is refused, not reported under a new title
    for other, extra in (("dcnv2_se_avazu", []), ("dcnv2_me_criteo", ["model.dropout=0.5"])):
        with pytest.raises(StudyMismatchError, match="holds cells of another study"):
            scaling.run_study(other, [1, 2], 1, out, overrides=TINY + extra, source=tiny_runs.source(), verbose=0)
    assert stamps == {p: p.stat().st_mtime_ns for p in out.glob("cells/*/model.keras")}
    # the run directories gone (a new machine): the committed tables keep every cell as it was
    tables = {name: (out / name).read_text() for name in ("scaling.csv", "abundance_by_epoch.csv")}
    shutil.rmtree(out / "cells")
    kept = scaling.run_study(
        "dcnv2_me_criteo", [1, 2], 1, out, overrides=TINY, ablations=True, source=tiny_runs.source(), verbose=0
    )
    assert kept["trained"] == [] and sorted(kept["kept"]) == sorted(result["trained"])
    assert tables == {name: (out / name).read_text() for name in tables}
    study = json.loads((out / "study.json").read_text())
    assert study["pending"] == [] and study["finished"] == 4 and study["data_label"].endswith("(a SYNTHETIC sample)")
    assert set(study["cells"]) == set(result["trained"]) and "Cells trained by:" in (out / "scaling.md").read_text()


def test_invocations_with_other_plans_add_up_in_one_study(tmp_path):
    trainer = FakeTrainer()
    scaling.run_study("dnn_me_criteo", [1, 2], 1, tmp_path, train_fn=trainer, source=object(), verbose=0)
    second = scaling.run_study("dnn_me_criteo", [1, 4], 2, tmp_path, train_fn=trainer, source=object(), verbose=0)
    assert len(trainer.calls) == 3 + 6 - 1  # se_x1_seed0 was trained once
    cells = {(r["variant"], r["scale"], r["seed"]) for r in second["records"]}
    assert ("ME", 2, 0) in cells and ("ME", 4, 1) in cells and len(cells) == 8
    study = json.loads((tmp_path / "study.json").read_text())
    assert [p["scales"] for p in study["plans"]] == [[1, 2], [1, 4]] and study["scales"] == [1, 2, 4]
    assert len(list(csv.DictReader(open(tmp_path / "scaling.csv")))) == 8


def test_a_study_whose_run_directories_are_gone_adds_cells_to_its_committed_tables(tmp_path):
    trainer = FakeTrainer()
    scaling.run_study("dnn_me_criteo", [1, 2], 1, tmp_path, train_fn=trainer, source=object(), verbose=0)
    first = {r["seed"] + r["variant"] + r["scale"]: r for r in csv.DictReader(open(tmp_path / "scaling.csv"))}
    shutil.rmtree(tmp_path / "cells")
    study = json.loads((tmp_path / "study.json").read_text())
    del study["cells"]  # tables written before per-cell origins were recorded
    study["commands"] = {"python -m mezoo.scaling --scales 1,2 (earlier)": 3}
    (tmp_path / "study.json").write_text(json.dumps(study))
    more = scaling.run_study("dnn_me_criteo", [1, 2], 2, tmp_path, train_fn=trainer, source=object(), verbose=0)
    assert sorted(more["kept"]) == ["me_x2_seed0", "se_x1_seed0", "se_x2_seed0"]
    assert sorted(more["trained"]) == ["me_x2_seed1", "se_x1_seed1", "se_x2_seed1"] and len(trainer.calls) == 6
    rows = {r["seed"] + r["variant"] + r["scale"]: r for r in csv.DictReader(open(tmp_path / "scaling.csv"))}
    assert len(rows) == 6 and all(rows[k] == first[k] for k in first)
    study = json.loads((tmp_path / "study.json").read_text())
    assert study["finished"] == 6 and study["pending"] == []
    # the kept cells' command stays, counted for its cells (the stand-in trainer records no command)
    assert (
        study["legacy_origins"]["commands"]
        == study["commands"]
        == {"python -m mezoo.scaling --scales 1,2 (earlier)": 3}
    )
    # another recipe or other overrides on the same tables are refused before anything trains
    shutil.rmtree(tmp_path / "cells")
    for recipe, extra in (("dnn_me_criteo", ["model.dropout=0.5"]), ("dcnv2_me_criteo", [])):
        with pytest.raises(StudyMismatchError, match="holds the tables of"):
            scaling.run_study(recipe, [1, 2], 3, tmp_path, overrides=extra, train_fn=trainer, source=object())
    assert len(trainer.calls) == 6
    # new cells scored on other test rows than the kept ones are refused
    lines = (tmp_path / "scaling.csv").read_text().splitlines()
    header = lines[0].split(",")
    for number in (1, 2):
        fields = lines[number].split(",")
        fields[header.index("labels_sha256")], fields[header.index("test_rows")] = f"digest{number}", "10"
        lines[number] = ",".join(fields)
    (tmp_path / "scaling.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(StudyMismatchError, match="scored on different test rows"):
        scaling.run_study("dnn_me_criteo", [1, 2], 2, tmp_path, train_fn=trainer, source=object(), verbose=0)


def test_a_stopped_study_continues_with_the_cells_it_had_not_finished(tmp_path):
    trainer = FakeTrainer()
    first = scaling.run_study(
        "dnn_me_criteo", [1, 2, 4], 2, tmp_path, train_fn=trainer, source=object(), max_cells=3, verbose=0
    )
    assert len(first["trained"]) == 3 and len(first["pending"]) == 10 - 3  # 2 SE at 1x, 2 x 2 x 2 at 2x and 4x
    assert "Cells not finished (7)" in (tmp_path / "scaling.md").read_text()
    second = scaling.run_study("dnn_me_criteo", [1, 2, 4], 2, tmp_path, train_fn=trainer, source=object(), verbose=0)
    assert sorted(second["skipped_finished"]) == sorted(first["trained"])
    trained = [name for name, _ in trainer.calls]
    assert len(trained) == len(set(trained)) == 10, "every cell trained exactly once over both runs"
    assert second["pending"] == []


def test_workers_sharing_a_study_never_train_the_same_cell(tmp_path):
    trainer = FakeTrainer(seconds=0.05)
    errors = []

    def worker():
        try:
            scaling.run_study(
                "dcnv2_me_criteo",
                [1, 2, 4, 10],
                3,
                tmp_path,
                ablations=True,
                train_fn=trainer,
                source=object(),
                verbose=0,
            )
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    trained = [name for name, _ in trainer.calls]
    expected = {c.key for c in plan([1, 2, 4, 10], 3, ablations=True)}
    assert len(trained) == len(set(trained)), "a cell was trained twice"
    assert set(trained) == expected
    assert len({thread for _, thread in trainer.calls}) > 1, "the work was shared"


def test_cell_locks_are_exclusive_and_stale_ones_are_taken_over_once(tmp_path):
    held = cell_locks.try_lock(tmp_path, "cell")
    assert held is not None and cell_locks.try_lock(tmp_path, "cell") is None  # our own process is alive
    held.release()
    # a claim by a process of this host that has exited is stale: the next generation takes it, once
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    owner = {**cell_locks.owner_record(), "pid": int(dead.stdout)}
    (tmp_path / "other.0.claim").write_text(json.dumps(owner))
    taken = [cell_locks.try_lock(tmp_path, "other") for _ in range(3)]
    assert [t is not None for t in taken] == [True, False, False]
    assert taken[0].path.name == "other.1.claim"
    taken[0].release()
    # another host's claim: stale only once its heartbeat is older than stale_after_s
    remote = tmp_path / "remote.0.claim"
    remote.write_text(json.dumps({"host": "elsewhere", "pid": 1}))
    assert cell_locks.try_lock(tmp_path, "remote", stale_after_s=3600) is None
    assert cell_locks.is_stale(remote, stale_after_s=3600, now=time.time() + 7200)
    assert cell_locks.holder(tmp_path, "remote")["host"] == "elsewhere"


def test_a_training_fraction_is_the_same_rows_every_epoch():
    source = tiny_runs.source(rows=1000)  # 800 training rows
    quarter = TrainingFractionSource(source, 0.25)
    assert quarter.rows("train") == 200 and quarter.rows("valid") == source.rows("valid")
    assert [f["name"] for f in quarter.fields] == [f["name"] for f in source.fields]

    def rows(seed):
        batches = list(quarter.dataset("train", 32, training=True, seed=seed))
        return np.concatenate([np.asarray(x["ids"]) for x, _ in batches])

    first, second = rows(1), rows(2)
    assert len(first) == 192  # 6 full batches of 32; the short last batch is dropped
    whole = {tuple(r) for r in source.splits["train"][0]["ids"][:200]}
    assert {tuple(r) for r in first} <= whole and {tuple(r) for r in second} <= whole
    assert not np.array_equal(first, second)  # reshuffled per epoch
    with pytest.raises(ValueError):
        TrainingFractionSource(source, 0.0)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--recipe", "dnn_se_frappe", "--out", "x", "--scales", "0,2"], "--scales"),
        (["--recipe", "dnn_se_frappe", "--out", "x", "--data_fractions", "0,1"], "--data_fractions"),
    ],
)
def test_cli_rejects_bad_arguments(args, message, capsys):
    fails_with(scaling_cli.main, args, capsys, message)


def test_ablations_need_a_shared_interaction_model(tmp_path, capsys):
    fails_with(
        scaling_cli.main, ["--recipe", "dnn_se_frappe", "--out", tmp_path, "--ablations"], capsys, "shared_interaction"
    )


def test_an_out_that_is_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    args = ["--recipe", "dnn_se_frappe", "--out", tmp_path / "file", "--scales", "1", "--seeds", "1"]
    fails_with(scaling_cli.main, args, capsys, "is a file, not a study directory")


def test_a_max_cells_0_rewrite_leaves_committed_tables_byte_identical(tmp_path, capsys):
    """Kept cells' rows are written back as read: full-precision values are not reformatted."""
    scaling.run_study("dnn_me_criteo", [1, 2], 1, tmp_path, train_fn=FakeTrainer(), source=object(), verbose=0)
    shutil.rmtree(tmp_path / "cells")
    rows = list(csv.DictReader(open(tmp_path / "scaling.csv", newline="")))
    rows[0]["test_auc"] = "0.94561897081505912345"  # more digits than a float's repr
    rows[1]["ia_vs_random_mean"] = "0.80"
    with open(tmp_path / "scaling.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    epochs = []
    by_key = {Cell(r["variant"], int(r["scale"]), int(r["seed"])).key: r for r in rows}
    for key in [c.key for c in plan([1, 2], 1)]:  # the writer's order of cells
        row = by_key[key]
        for epoch in (1, 2):
            for number, field in enumerate(("user", "item")):
                ia = 1 + (epoch + number) / 3
                epochs.append(
                    {
                        **{k: row[k] for k in ("fraction", "variant", "scale", "seed", "width")},
                        **{"cell": key, "epoch": epoch, "best": epoch == 2, "field": field, "rows": 90},
                        **{"rows_total": 100, "ia": repr(ia), "ia_random": "1.6749766609223382"},
                        **{"ia_vs_random": repr(ia / 1.6749766609223382), "ia_normalised": repr(ia / 2)},
                        "erank": "1.9999999999999998",
                    }
                )
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=EPOCH_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(epochs)
    (tmp_path / "abundance_by_epoch.csv").write_text(table.getvalue())
    before = {name: (tmp_path / name).read_bytes() for name in ("scaling.csv", "abundance_by_epoch.csv")}
    scaling_cli.main(
        ["--recipe", "dnn_me_criteo", "--scales", "1,2", "--seeds", "2", "--out", str(tmp_path), "--max_cells", "0"]
    )
    assert "3 of 6 planned cells finished" in capsys.readouterr().out
    assert before == {name: (tmp_path / name).read_bytes() for name in before}


def test_permuted_training_labels_keep_the_rows_and_the_click_rate_but_not_the_signal(tmp_path):
    from mezoo.evidence.permuted_labels import PermutedTrainingLabels

    source = tiny_runs.source(rows=3000)
    null = PermutedTrainingLabels(source, seed=0)
    x, y = null.training_rows()
    true_x, true_y = source.splits["train"]
    np.testing.assert_array_equal(x["ids"], true_x["ids"])  # every row keeps its features
    assert sorted(y.ravel()) == sorted(np.asarray(true_y).ravel()) and not np.array_equal(y, true_y)
    first = [np.asarray(b[1]) for b in null.dataset("train", 64, training=True, seed=3)]
    again = [np.asarray(b[1]) for b in null.dataset("train", 64, training=True, seed=3)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))  # an epoch replays
    valid = [np.asarray(b[1]) for b in null.dataset("valid", 64)]
    np.testing.assert_array_equal(np.concatenate(valid).ravel(), np.asarray(source.splits["valid"][1]).ravel())

    out, source = tmp_path / "null", tiny_runs.source(rows=12000)
    overrides = TINY[:-1] + ["train.epochs=3"]
    scaling.run_study(
        "dcnv2_me_criteo", [1], 1, out, overrides=overrides, source=source, verbose=0, permuted_labels=True
    )
    real = scaling.run_study(
        "dcnv2_me_criteo", [1], 1, tmp_path / "real", overrides=overrides, source=source, verbose=0
    )
    null_auc = json.loads((out / "cells" / "se_x1_seed0" / "metrics.json").read_text())["test_auc"]
    assert real["records"][0]["test_auc"] > 0.6 and abs(null_auc - 0.5) < 0.06, (
        real["records"][0]["test_auc"],
        null_auc,
    )
    assert json.loads((out / "study.json").read_text())["train_labels"] == "permuted (seed 0)"
    with pytest.raises(StudyMismatchError, match="permuted"):
        scaling.run_study("dcnv2_me_criteo", [1], 2, out, overrides=overrides, source=source, verbose=0)
