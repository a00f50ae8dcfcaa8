"""mezoo.analyze on tiny trained runs: every figure, the summary, the numbers behind them."""

import csv
import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.abundance import information_abundance  # noqa: E402
from mezoo.cli import analyze as analyze_cli  # noqa: E402
from mezoo.evidence import analyze, runs  # noqa: E402
from tests.cli_testing import fails_with  # noqa: E402
from tests.evidence import tiny_runs  # noqa: E402
from tests.evidence.git_checkout import make_checkout  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory):
    return tiny_runs.train_pair(tmp_path_factory.mktemp("runs"))


def test_every_figure_and_the_summary(run_dirs, tmp_path, capsys):
    out = tmp_path / "analysis"
    analyze_cli.main([str(run_dirs["se"]), str(run_dirs["me"]), "--out", str(out)])
    expected = {
        "spectra_se.png",
        "spectra_me.png",
        "ia_per_field_se.png",
        "ia_per_field_me.png",
        "me_sets_me.png",
        "cross_blocks_se.png",
        "cross_blocks_me.png",
        "ia_over_epochs.png",
        "summary.md",
        "fields.csv",
        "provenance.json",
    }
    assert {p.name for p in out.iterdir()} == expected
    assert json.loads((out / "provenance.json").read_text())["command"].startswith("python -m mezoo.analyze ")
    for name in expected - {"summary.md", "fields.csv", "provenance.json"}:
        assert (out / name).read_bytes()[:8] == PNG, name
        assert (out / name).stat().st_size > 10_000, name  # a drawn figure, not an empty canvas
    summary = (out / "summary.md").read_text()
    for text in (
        "| se | dcnv2 | SE | 1 x 4 |",
        "| me | dcnv2 | ME | 2 x 2 |",
        "SE se: IA / norm. / erank",
        "python -m mezoo.analyze",
        "Git commit",
        "Machine",
        "](me_sets_me.png)",
        "](ia_over_epochs.png)",
        "trained by `",
    ):
        assert text in summary, text
    assert "wrote" in capsys.readouterr().out
    rows = list(csv.DictReader(open(out / "fields.csv")))
    assert len(rows) == 2 * len(tiny_runs.VOCAB)
    fields = {f.name: f for f in analyze.field_abundance(runs.read_run(run_dirs["me"]))}
    for row in (r for r in rows if r["run"] == "me"):
        field = fields[row["field"]]
        assert float(row["ia"]) == pytest.approx(field.concat["ia"])
        assert float(row["random_erank"]) == pytest.approx(field.random["erank"])
        assert float(row["sets_mean_ia"]) == pytest.approx(np.mean([s["ia"] for s in field.sets]))
        assert row["se_run"] == "se" and float(row["se_ia"]) > 0
    assert all(r["se_run"] == "" and r["kind"] == "SE" for r in rows if r["run"] == "se")


def test_field_figures_are_mezoo_abundance_of_the_saved_tables(run_dirs):
    import keras

    me = runs.read_run(run_dirs["me"])
    fields = analyze.field_abundance(me)
    layer = keras.models.load_model(run_dirs["me"] / "model.keras").multi_embedding
    assert [f.vocab_size for f in fields] == tiny_runs.VOCAB
    for f, field in enumerate(fields):
        table = keras.ops.convert_to_numpy(layer.table(f))
        assert field.width == 4 and field.concat["ia"] == pytest.approx(information_abundance(table))
        assert field.sets[1]["ia"] == pytest.approx(information_abundance(table[:, 2:]))
        assert field.random["width"] == 4 and field.random["rows"] == tiny_runs.VOCAB[f]
        np.testing.assert_allclose(field.spectrum, np.linalg.svd(table.astype(np.float64), compute_uv=False), rtol=1e-6)


def test_cross_block_norms_and_the_se_match(run_dirs):
    import keras

    me, se = runs.read_run(run_dirs["me"]), runs.read_run(run_dirs["se"])
    norms = analyze.cross_block_norms(me)
    assert norms.shape == (2, 5, 5)
    kernel = keras.ops.convert_to_numpy(me.load_model().get_layer("cross_net").cross_layers[0].kernel)
    assert norms[1, 0, 3] == pytest.approx(np.linalg.norm(kernel[1, 0:2, 6:8]), rel=1e-6)
    assert analyze.matching_se_run(me, [se, me]) is se
    assert analyze.matching_se_run(se, [se, me]) is None


def test_unfinished_or_missing_runs_are_named(run_dirs, tmp_path, capsys):
    fails_with(analyze_cli.main, [tmp_path, "--out", tmp_path / "out"], capsys, "no recipe.yaml")
    broken = tmp_path / "unfinished"
    broken.mkdir()
    for name in ("recipe.yaml", "model.keras"):
        (broken / name).write_bytes((run_dirs["se"] / name).read_bytes())
    (broken / "metrics.json").write_text('{"finished": false}')
    fails_with(analyze_cli.main, [broken, "--out", tmp_path / "out"], capsys, "has not finished")
    truncated = tmp_path / "truncated"
    truncated.mkdir()
    for name in ("recipe.yaml", "metrics.json"):
        (truncated / name).write_bytes((run_dirs["se"] / name).read_bytes())
    (truncated / "model.keras").write_bytes((run_dirs["se"] / "model.keras").read_bytes()[:4000])
    fails_with(analyze_cli.main, [truncated, "--out", tmp_path / "out"], capsys, "is damaged or truncated")


@pytest.mark.parametrize(
    "model, kind",
    [
        ({"name": "dcnv2", "num_embedding_sets": 1}, "SE"),
        ({"name": "dcnv2", "num_embedding_sets": 4}, "ME"),
        ({"name": "dcnv2", "num_embedding_sets": 4, "shared_interaction": True}, "ME-SI"),
    ],
)
def test_run_kind_follows_the_recipe(model, kind, tmp_path):
    from mezoo import recipe

    settings = [f"model.{key}={str(value).lower()}" for key, value in model.items() if key != "name"]
    run = runs.FinishedRun(tmp_path, "run", recipe.load(f"{model['name']}_se_criteo", settings), {}, [])
    assert run.kind == kind and run.is_multi_embedding == (kind != "SE")


def test_best_epoch_is_shown_as_metrics_json_has_it(run_dirs, tmp_path):
    # metrics.json and abundance.csv number epochs from 1, as the console does
    import json

    analyze_cli.main([str(run_dirs["se"]), "--out", str(tmp_path / "a")])
    metrics = json.loads((run_dirs["se"] / "metrics.json").read_text())
    row = next(line for line in (tmp_path / "a" / "summary.md").read_text().splitlines() if line.startswith("| se |"))
    assert row.split("|")[6].strip() == str(metrics["best_epoch"])


def test_uncommitted_files_in_the_out_directory_mark_the_commit_but_its_own_do_not(run_dirs, tmp_path, monkeypatch):
    out = make_checkout(tmp_path, monkeypatch) / "results" / "analysis"
    for _ in range(2):  # the second time over its own files, new and uncommitted
        analyze_cli.main([str(run_dirs["se"]), "--out", str(out)])
        assert not json.loads((out / "provenance.json").read_text())["git_commit"].endswith("+dirty")
    (out / "notes.txt").write_text("by hand\n")
    analyze_cli.main([str(run_dirs["se"]), "--out", str(out)])
    assert json.loads((out / "provenance.json").read_text())["git_commit"].endswith("+dirty")
