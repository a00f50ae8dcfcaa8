"""The ensemble baseline (ENS cells assembled from SE 1x members) and the abundance checks (centred, row-normalised)."""

import csv
import json
import shutil

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from sklearn.metrics import log_loss, roc_auc_score  # noqa: E402

from mezoo.abundance import information_abundance, random_abundance  # noqa: E402
from mezoo.cli import scaling as scaling_cli  # noqa: E402
from mezoo.evidence import ensembles, scaling  # noqa: E402
from mezoo.evidence.ensembles import EnsembleError, table_checks  # noqa: E402
from mezoo.run_layout import PREDICTIONS  # noqa: E402
from mezoo.training.predictions import load_predictions, save_predictions  # noqa: E402
from tests.evidence import tiny_runs  # noqa: E402
from tests.evidence.fake_trainer import FakeTrainer, planted_scores  # noqa: E402
from tests.evidence.result_tables import LABELS, Finder  # noqa: E402

TABLES = ("scaling.csv", "abundance_by_epoch.csv", "abundance_checks.csv", "study.json")


def ratio(table):
    return information_abundance(table) / random_abundance(*table.shape)


def ensemble_study(path, trainer, **options):
    """A study of SE and ME at 1x and 4x, one seed, with ENS cells, trained by `trainer` (a FakeTrainer)."""
    return scaling.run_study(
        "dnn_me_criteo",
        [1, 4],
        1,
        path,
        train_fn=trainer,
        source=object(),
        verbose=0,
        ensembles=True,
        label_finder=Finder(),
        **options,
    )


def test_checks_measure_a_table_centred_and_row_normalised_as_numpy_does():
    rng = np.random.default_rng(0)
    gaussian = rng.normal(size=(4000, 10))
    shifted = gaussian + 6.0 * rng.normal(size=(1, 10))  # one offset shared by every row
    checks = table_checks(shifted)
    assert checks["ia_vs_random"] == pytest.approx(ratio(shifted)) and checks["ia_vs_random"] < 0.5
    centred = shifted - shifted.mean(axis=0)
    assert checks["centred_vs_random"] == pytest.approx(ratio(centred))
    assert checks["centred_vs_random"] == pytest.approx(1.0, abs=0.03)  # full rank once the offset is gone
    # rows whose norms grow with how often they are looked up: row-normalising takes the norms out
    counts = rng.zipf(1.5, size=4000).astype(np.float64)
    scaled = gaussian * np.sqrt(counts)[:, None]
    scaled[7] = 0.0  # a row never moved: left out of the row-normalised measure
    checks = table_checks(scaled)
    live = np.delete(scaled, 7, axis=0)
    assert checks["row_normalised_vs_random"] == pytest.approx(
        ratio(live / np.linalg.norm(live, axis=1, keepdims=True))
    )
    assert checks["row_normalised_vs_random"] > checks["ia_vs_random"]


def test_ensemble_cells_average_their_members_and_are_scored_on_the_same_rows(tmp_path, capsys):
    trainer = FakeTrainer(labels=LABELS)
    result = ensemble_study(tmp_path, trainer)
    members = [f"se_x1_seed{s}" for s in (3, 4, 5, 6)]
    assert set(members) <= set(result["trained"]) and "ens_x4_seed0" not in result["trained"]
    rows = {(r["variant"], r["scale"], r["seed"]): r for r in csv.DictReader(open(tmp_path / "scaling.csv"))}
    ens = rows[("ENS", "4", "0")]
    expected = np.mean([planted_scores(LABELS, m).astype(np.float32).astype(np.float64) for m in members], axis=0)
    kept = load_predictions(tmp_path / ens["predictions"])
    np.testing.assert_allclose(kept["probability"], expected, rtol=1e-6)
    assert kept["labels_sha256"] == ens["labels_sha256"] == rows[("SE", "1", "0")]["labels_sha256"]
    assert float(ens["test_auc"]) == pytest.approx(roc_auc_score(LABELS, kept["probability"]), abs=1e-12)
    assert float(ens["test_logloss"]) == pytest.approx(log_loss(LABELS, kept["probability"].astype(np.float64)))
    assert int(ens["params"]) == 4 * 100 and float(ens["epochs"]) == np.mean([4, 5, 6, 7])
    member_width = int(rows[("SE", "1", "0")]["width"])
    assert (int(ens["num_sets"]), int(ens["embedding_dim"])) == (4, member_width)
    assert int(ens["width"]) == 4 * member_width == int(rows[("ME", "4", "0")]["width"])
    # the members have no model.keras here: no abundance, and the row says why
    assert ens["ia_vs_random_mean"] == "" and "no model.keras" in ens["run_dir"]
    md = (tmp_path / "scaling.md").read_text()
    assert "| ENS |" in md
    cost_row = next(line for line in md.splitlines() if line.startswith("| ENS | 4x | 4 x "))
    assert cost_row.split(" | ")[4] == "-"  # no speed of its own (its members are SE 1x cells), never "nan"


def test_an_ensemble_waits_for_its_members_and_says_how_many_are_missing(tmp_path):
    trainer = FakeTrainer(labels=LABELS)
    result = ensemble_study(tmp_path, trainer, max_cells=4)  # se_x1_seed0, se_x1_seed3, se_x1_seed4, se_x1_seed5
    assert "ens_x4_seed0" in result["pending"]
    assert not any(r["variant"] == "ENS" for r in csv.DictReader(open(tmp_path / "scaling.csv")))
    study = json.loads((tmp_path / "study.json").read_text())
    assert study["ensembles_waiting"] == {"ens_x4_seed0": "1 of 4 members not finished (se_x1_seed6)"}
    assert "`ens_x4_seed0`: 1 of 4 members not finished (se_x1_seed6)" in (tmp_path / "scaling.md").read_text()


def test_a_member_scored_on_other_rows_is_refused_by_name(tmp_path):
    trainer = FakeTrainer(labels=LABELS)
    scaling.run_study("dnn_me_criteo", [1], 7, tmp_path, train_fn=trainer, source=object(), verbose=0)
    other = LABELS.copy()
    other[:10] = 1 - other[:10]
    for path in (tmp_path / "cells" / "se_x1_seed5" / PREDICTIONS, tmp_path / "predictions" / "se_x1_seed5.npz"):
        save_predictions(path, other, planted_scores(other, "x"))
    with pytest.raises(EnsembleError, match="se_x1_seed5"):
        ensemble_study(tmp_path, trainer, max_cells=0)


def test_the_plan_names_the_members_an_ensemble_needs():
    from mezoo.evidence.scaling_plan import plan

    keys = [c.key for c in plan([1, 4, 10], 2, ensembles=True)]
    assert [k for k in keys if k.startswith("ens")] == [
        "ens_x4_seed0",
        "ens_x4_seed1",
        "ens_x10_seed0",
        "ens_x10_seed1",
    ]
    members = {f"se_x1_seed{s}" for s in ensembles.member_seeds(0, 10) + ensembles.member_seeds(1, 10)}
    assert members <= set(keys) and len(keys) == len(set(keys))
    assert keys == [c.key for c in plan([1, 4, 10], 2, ensembles=True)]  # the same order every time


def test_a_max_cells_0_rewrite_with_ensembles_is_byte_identical(tmp_path, capsys, monkeypatch):
    trainer = FakeTrainer(labels=LABELS)
    ensemble_study(tmp_path, trainer)
    shutil.rmtree(tmp_path / "cells")
    names = [n for n in TABLES if n != "study.json"] + ["predictions/ens_x4_seed0.npz"]
    before = {name: (tmp_path / name).read_bytes() for name in names}
    monkeypatch.setattr(scaling, "LabelFinder", lambda *a, **k: Finder())
    args = ["--recipe", "dnn_me_criteo", "--scales", "1,4", "--seeds", "1", "--ensembles", "--out", str(tmp_path)]
    scaling_cli.main(args + ["--max_cells", "0"])
    assert "ENS cells: 1 assembled" in capsys.readouterr().out
    assert before == {name: (tmp_path / name).read_bytes() for name in names}


class SourceLabels:
    """The tiny source's test labels, found by their digest as a real machine finds Frappe's."""

    def find(self, digest, rows):
        from mezoo.training.predictions import labels_digest

        labels = np.asarray(tiny_runs.source().splits["test"][1]).reshape(-1)
        return labels if labels_digest(labels) == digest and len(labels) == rows else None


def test_a_real_tiny_ensemble_has_its_members_abundance_and_every_cell_its_checks(tmp_path):
    overrides = tiny_runs.TINY + ["model.embedding_dim=2", "train.epochs=1"]
    out = tmp_path / "study"
    scaling.run_study(
        "dcnv2_me_criteo",
        [1, 2],
        1,
        out,
        overrides=overrides,
        source=tiny_runs.source(),
        verbose=0,
        ensembles=True,
        label_finder=SourceLabels(),
    )
    rows = {(r["variant"], r["scale"]): r for r in csv.DictReader(open(out / "scaling.csv"))}
    ens = rows[("ENS", "2")]
    assert ens["width"] == rows[("ME", "2")]["width"] == "4" and float(ens["ia_vs_random_mean"]) > 0
    checks = list(csv.DictReader(open(out / "abundance_checks.csv")))
    assert {r["cell"] for r in checks} == {
        "se_x1_seed0",
        "se_x2_seed0",
        "me_x2_seed0",
        "se_x1_seed3",
        "se_x1_seed4",
        "ens_x2_seed0",
    }
    ens_checks = [r for r in checks if r["cell"] == "ens_x2_seed0"]
    assert {r["width"] for r in ens_checks} == {"4"}
    assert float(ens["ia_vs_random_mean"]) == pytest.approx(np.mean([float(r["ia_vs_random"]) for r in ens_checks]))
    before = {name: (out / name).read_bytes() for name in TABLES[:3]}
    scaling.run_study(
        "dcnv2_me_criteo",
        [1, 2],
        1,
        out,
        overrides=overrides,
        source=tiny_runs.source(),
        verbose=0,
        ensembles=True,
        label_finder=SourceLabels(),
        max_cells=0,
    )
    assert before == {name: (out / name).read_bytes() for name in before}


def test_the_claims_page_compares_me_with_the_ensemble_and_prints_the_checks(tmp_path):
    import json as json_module

    from mezoo.evidence import report
    from tests.evidence.result_tables import GOOD_RATIO, GOOD_SIGNAL, write_checks, write_study

    signal = {**GOOD_SIGNAL, ("ENS", 4): 1.1, ("ENS", 10): 1.4}
    write_study(tmp_path, "frappe", signal, {**GOOD_RATIO, ("ENS", 4): 0.6, ("ENS", 10): 0.5})
    checks = {("SE", 1): (0.7, 0.9, 0.8), ("SE", 10): (0.15, 0.9, 0.3), ("ME", 10): (0.45, 0.95, 0.6)}
    write_checks(tmp_path, "frappe", {**checks, ("SE", 4): (0.3, 0.9, 0.5), ("ME", 4): (0.55, 0.9, 0.7)})
    meta = json_module.loads((tmp_path / "frappe" / "study.json").read_text())
    meta["ensembles_waiting"] = {"ens_x10_seed3": "7 of 10 members not finished (se_x1_seed36, ...)"}
    (tmp_path / "frappe" / "study.json").write_text(json_module.dumps(meta))
    page = report.write_report(tmp_path, finder=Finder()).read_text()
    section = page.split("## ME against an ensemble of the same size")[1].split("\n## ")[0]
    assert "4x: ME " in section and "10x: ME " in section
    assert "ME - ENS +" in section and ", MDE " in section  # ME ahead at 4x
    assert "ME - ENS -0.0" in section or "ME - ENS +0.0" in section
    assert "`ens_x10_seed3` not assembled: 7 of 10 members not finished" in section
    claim1 = page.split("## Claim 1")[1].split("## Claim 2")[0]
    assert "centred" in claim1 and "row-normalised" in claim1
    # SE 1x minus SE 10x: paper IA +0.55, centred 0 (the offset was all of it), row-normalised +0.5
    assert "do not all agree" in claim1 and "centred +0.000" in claim1
    claim3 = page.split("## Claim 3")[1].split("## Claim 4")[0]
    assert "centred" in claim3 and "agree" in claim3
    assert "Holds" in page.split("| 1. ")[1].split("\n")[0]  # the verdict stays on the paper's IA


def test_the_claims_page_reads_a_studys_abundance_checks(tmp_path):
    from mezoo.evidence.report_inputs import collect
    from mezoo.evidence.scaling_ensembles import CHECK_COLUMNS, CHECKS_FILE
    from tests.evidence.result_tables import GOOD_RATIO, GOOD_SIGNAL, write_csv, write_study

    write_study(tmp_path, "frappe", GOOD_SIGNAL, GOOD_RATIO)
    row = {"cell": "se_x1_seed0", "fraction": 1.0, "variant": "SE", "scale": 1, "seed": 0, "width": 10}
    row.update(field="item", rows=50, ia_vs_random=0.7, centred_vs_random=0.71, row_normalised_vs_random=0.75)
    write_csv(tmp_path / "frappe" / CHECKS_FILE, CHECK_COLUMNS, [row])
    (study,) = [r for r in collect(tmp_path) if r.kind == "study"]
    assert [c["cell"] for c in study.checks] == ["se_x1_seed0"] and tmp_path / "frappe" / CHECKS_FILE in study.files
