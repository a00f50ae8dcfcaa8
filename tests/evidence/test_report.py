"""mezoo.report: the claims page follows the numbers in the result tables, whichever way they go."""

import csv
import json

from mezoo.cli import report as report_cli
from mezoo.evidence import analyze, report, scaling
from tests.cli_testing import fails_with

TOY_COLUMNS = ("dim", "d3", "seed", "step", "loss", "ia", "ia_normalised", "erank")


def write_csv(path, columns, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in columns})


def write_toy(root, final_small, final_large):
    rows = []
    for seed, (small, large) in enumerate(zip(final_small, final_large)):
        for d3, final in ((3, small), (100, large)):
            rows += [
                {"dim": 8, "d3": d3, "seed": seed, "step": 0, "ia": 6.0},
                {"dim": 8, "d3": d3, "seed": seed, "step": 1000, "ia": final},
            ]
    write_csv(root / "toy" / "toy.csv", TOY_COLUMNS, rows)


def write_study(root, name, auc, ia=None, pending=(), overrides=()):
    """auc: {(variant, scale): [test AUC per seed]}; ia: {(variant, scale): mean IA}."""
    rows = []
    for (variant, scale), values in auc.items():
        for seed, value in enumerate(values):
            sets, dim = (1, 10 * scale) if variant == "SE" else (scale, 10)
            rows.append(
                {
                    "fraction": 1.0,
                    "variant": variant,
                    "scale": scale,
                    "seed": seed,
                    "num_sets": sets,
                    "embedding_dim": dim,
                    "width": 10 * scale,
                    "test_auc": value,
                    "ia_mean": (ia or {}).get((variant, scale), 3.0 * scale**0.5),
                    "ia_normalised_mean": 0.4,
                    "erank_mean": 5.0 * scale,
                }
            )
    write_csv(root / name / "scaling.csv", scaling.CSV_COLUMNS, rows)
    meta = {"pending": list(pending), "overrides": list(overrides), "data": ["/data/somewhere"]}
    (root / name / "study.json").write_text(json.dumps(meta))


def write_fields(root, name, ratios):
    rows = [
        {
            "run": "se",
            "model": "dcnv2",
            "kind": "SE",
            "epochs": 20,
            "field": f"f{i}",
            "width": 10,
            "ia": 5 * r,
            "random_ia": 5.0,
        }
        for i, r in enumerate(ratios)
    ]
    write_csv(root / name / "fields.csv", analyze.FIELD_COLUMNS, rows)


def verdicts(root):
    results = report.collect(root)
    return {
        1: report.claim_collapse(results, root).verdict,
        2: report.claim_toy(results, root).verdict,
        3: report.claim_me_abundance(results, root).verdict,
        4: report.claim_scaling(results, root).verdict,
        5: report.claim_shared_interaction(results, root).verdict,
    }


def test_every_claim_holds_when_the_numbers_say_so(tmp_path):
    write_toy(tmp_path, final_small=[4.0, 4.2, 4.1], final_large=[5.0, 5.1, 5.2])
    write_fields(tmp_path, "analysis", [0.5, 0.7, 0.9])
    write_study(
        tmp_path,
        "study",
        {
            ("SE", 1): [0.970, 0.9702],
            ("SE", 4): [0.9695, 0.9697],
            ("ME", 4): [0.9730, 0.9732],
            ("ME-SI", 4): [0.9705, 0.9707],
        },
        ia={("SE", 1): 3.0, ("SE", 4): 6.0, ("ME", 4): 7.0},
    )
    assert verdicts(tmp_path) == {k: report.HOLDS for k in range(1, 6)}


def test_the_verdicts_turn_when_the_numbers_do(tmp_path):
    write_toy(tmp_path, final_small=[5.5, 4.2, 4.1], final_large=[5.0, 5.1, 5.2])  # seed 0 reversed
    write_fields(tmp_path, "analysis", [0.5, 1.1])  # one field above random
    write_study(
        tmp_path,
        "study",
        {
            ("SE", 1): [0.970],
            ("SE", 4): [0.9750],  # SE rises
            ("ME", 4): [0.9701],  # ME flat
            ("ME-SI", 4): [0.9740],  # ME-SI well ahead of ME
        },
        ia={("SE", 1): 3.0, ("SE", 4): 12.5, ("ME", 4): 6.0},  # SE grew more than its width, above ME
    )
    assert verdicts(tmp_path) == {1: report.FAILS, 2: report.FAILS, 3: report.FAILS, 4: report.FAILS, 5: report.FAILS}


def test_mixed_evidence_is_partial_and_noise_is_not_a_result(tmp_path):
    write_study(
        tmp_path,
        "study",
        {
            ("SE", 1): [0.9700, 0.9702],
            ("SE", 2): [0.9690, 0.9692],  # falls: holds
            ("ME", 2): [0.9701, 0.9703],  # +0.0001: within the noise, so ME does not rise
            ("ME-SI", 2): [0.9700, 0.9702],
        },
        ia={("SE", 1): 3.0, ("SE", 2): 4.0, ("ME", 2): 4.5},
    )
    found = verdicts(tmp_path)
    assert found[4] == report.PARTLY and found[3] == report.HOLDS
    assert found[5] == report.NOT_SHOWN and found[2] == report.UNTESTED


def test_each_result_directory_has_its_own_verdict(tmp_path):
    write_study(tmp_path, "a_real", {("SE", 1): [0.970], ("SE", 2): [0.968], ("ME", 2): [0.972]})
    write_study(tmp_path, "b_other", {("SE", 1): [0.970], ("SE", 2): [0.975], ("ME", 2): [0.970]})
    claim = report.claim_scaling(report.collect(tmp_path), tmp_path)
    assert claim.verdict == report.PARTLY
    assert claim.sources == {"a_real": report.HOLDS, "b_other": report.FAILS}


def test_the_page_has_the_numbers_the_cuts_and_the_provenance(tmp_path, capsys):
    write_toy(tmp_path, final_small=[4.0], final_large=[5.0])
    write_study(
        tmp_path,
        "frappe_study",
        {("SE", 1): [0.97], ("SE", 2): [0.969], ("ME", 2): [0.971]},
        pending=["se_x10_seed0"],
        overrides=["train.epochs=3"],
    )
    (tmp_path / "toy" / "toy.png").write_bytes(b"png")
    report_cli.main([str(tmp_path)])
    page = (tmp_path / "README.md").read_text()
    for text in (
        "Written by `python -m mezoo.report`",
        "| 2. the interaction-collapse law (toy) | Holds | toy: holds |",
        "[frappe_study](frappe_study/scaling.md)",
        "1x 0.97000; 2x SE 0.96900, ME 0.97100",
        "every cell cut to 3 epochs",
        "1 planned cells not trained: `se_x10_seed0`",
        "one seed per cell",
        "![IA(E1) over training, small and large D3](toy/toy.png)",
        "/data/somewhere",
        "Git commit",
        "Machine",
    ):
        assert text in page, text
    assert "wrote" in capsys.readouterr().out


def test_a_directory_without_results_is_an_error_naming_it(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    fails_with(report_cli.main, [tmp_path], capsys, "no results")
