"""Result tables as mezoo.scaling, mezoo.toy and mezoo.parity write them, made without training, for the
report's tests: planted scores whose AUC and IA ratios are chosen per cell, and ways to damage a table."""

import csv
import json

import numpy as np

from mezoo.evidence import report_claims
from mezoo.evidence.noise import PairedAUC
from mezoo.evidence.report_inputs import collect
from mezoo.evidence.report_study import Study
from mezoo.evidence.scaling_cells import CSV_COLUMNS, EPOCH_COLUMNS
from mezoo.evidence.scaling_plan import Cell
from mezoo.training.predictions import labels_digest, save_predictions

TOY_COLUMNS = ("dim", "d3", "seed", "step", "loss", "ia", "ia_normalised", "erank")
ROWS = 4000
LABELS = (np.random.default_rng(0).random(ROWS) < 0.33).astype(np.float32)
FIELDS = {"user": 955, "item": 4083, "city": 234, "weekday": 8}


class Finder:
    """The test labels, wherever a real run would find them."""

    def find(self, digest, rows):
        return LABELS if digest == labels_digest(LABELS) and rows == ROWS else None


def write_csv(path, columns, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in columns})


def write_toy(root, final_small, final_large, name="toy"):
    rows = []
    for seed, (small, large) in enumerate(zip(final_small, final_large)):
        for d3, final in ((3, small), (100, large)):
            rows += [
                {"dim": 8, "d3": d3, "seed": seed, "step": 0, "ia": 6.0, "loss": 0.9},
                {"dim": 8, "d3": d3, "seed": seed, "step": 1000, "ia": final, "loss": 0.6},
            ]
    write_csv(root / name / "toy.csv", TOY_COLUMNS, rows)


def write_study(root, name, signal, ratio, seeds=3, structure="stacked", synthetic=False, predictions=True):
    """A study's tables as mezoo.scaling writes them.

    signal[(variant, scale)]: how strongly a cell's scores follow the labels (its AUC); ratio[(variant, scale)]:
    its mean IA / random IA on every field. Each seed adds its own noise.
    """
    rng = np.random.default_rng(1)
    rows, epochs = [], []
    for (variant, scale), strength in signal.items():
        for seed in range(seeds):
            cell = Cell(variant, scale, seed)
            scores = 1 / (1 + np.exp(-(strength * (LABELS - 0.5) * 4 + rng.normal(size=ROWS))))
            if predictions:
                (root / name / "predictions").mkdir(parents=True, exist_ok=True)
                save_predictions(root / name / "predictions" / f"{cell.key}.npz", LABELS, scores)
            width = 10 * scale
            auc = PairedAUC(LABELS, replicates=2).auc(scores)
            rows.append(
                {
                    "fraction": 1.0,
                    "variant": variant,
                    "scale": scale,
                    "seed": seed,
                    "width": width,
                    "test_auc": auc,
                    "epochs": 12,
                    "best_epoch": 9,
                    "predictions": f"predictions/{cell.key}.npz" if predictions else "",
                    "test_rows": ROWS,
                    "labels_sha256": labels_digest(LABELS),
                    "git_commit": "abc1234",
                    "training_revision": 2,
                }
            )
            value = ratio[(variant, scale)] + rng.normal(scale=0.005)
            for epoch in (9, 12):
                for field, size in FIELDS.items():
                    epochs.append(
                        {
                            "cell": cell.key,
                            "variant": variant,
                            "scale": scale,
                            "seed": seed,
                            "width": width,
                            "epoch": epoch,
                            "best": epoch == 9,
                            "field": field,
                            "rows": size - 1,
                            "rows_total": size,
                            "ia_vs_random": value,
                        }
                    )
    write_csv(root / name / "scaling.csv", CSV_COLUMNS, rows)
    write_csv(root / name / "abundance_by_epoch.csv", EPOCH_COLUMNS, epochs)
    resolved = {
        "model": {"name": "dcnv2", "structure": structure, "embedding_l2_regularization": 0.025},
        "train": {"reduce_lr_factor": 0.1, "early_stopping_patience": 2},
        "data": {"batch_size": 4096},
    }
    data = ["SYNTHETIC rows: built-in sample"] if synthetic else ["/data/frappe_x1"]
    meta = {"recipe": "dcnv2_se_frappe", "resolved_recipe": resolved, "data": data, "synthetic": synthetic}
    (root / name / "study.json").write_text(json.dumps(meta))


def grid(values):
    """{(variant, scale): value} over SE 1x/4x/10x, ME and ME-SI 4x/10x from `values[variant][scale]`."""
    out = {("SE", 1): values["SE"][1]}
    for variant, scales in values.items():
        for scale, value in scales.items():
            out[(variant, scale)] = value
    return out


GOOD_SIGNAL = grid({"SE": {1: 1.0, 4: 1.0, 10: 0.98}, "ME": {4: 1.25, 10: 1.4}, "ME-SI": {4: 1.0, 10: 1.0}})
GOOD_RATIO = grid({"SE": {1: 0.70, 4: 0.30, 10: 0.15}, "ME": {4: 0.55, 10: 0.45}, "ME-SI": {4: 0.40, 10: 0.30}})


def claims_of(root):
    results = collect(root)
    finder = Finder()
    studies = [Study(r, finder) for r in results if r.kind == "study"]
    real = [s for s in studies if not s.synthetic and s.has_predictions]
    toys = [r for r in results if r.kind == "toy"]
    return {
        1: report_claims.claim_collapse(real, root),
        2: report_claims.claim_toy(toys, root),
        3: report_claims.claim_abundance(real, root),
        4: report_claims.claim_scaling(real, root),
        5: report_claims.claim_shared_interaction(real, root),
    }


def verdicts(root):
    return {number: claim.verdict for number, claim in claims_of(root).items()}


def set_value(path, line, column, value):
    """`path` with the field `column` of line `line` (1 is the header) replaced by `value`."""
    rows = list(csv.reader(open(path, newline="")))
    rows[line - 1][rows[0].index(column)] = value
    with open(path, "w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def copy_line(path, line):
    """`path` with line `line` appended again at the end."""
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines + [lines[line - 1]]))


def write_parity(root):
    from mezoo.evidence import parity

    rows = [
        {"family": "DNN", "model": "dnn", "bars_test_auc": 0.9833, "runs": 2, "test_auc_mean": 0.984, "gap": 0.0007},
        {"family": "IPNN", "model": "ipnn", "bars_test_auc": 0.9841, "runs": 0},
    ]
    write_csv(root / "parity" / "parity.csv", parity.COLUMNS, rows)


def write_checks(root, name, values):
    """A study's `abundance_checks.csv`: values[(variant, scale)] = (paper, centred, row-normalised) IA / random
    IA on every field of each seed's cell (seeds 0-2), as `mezoo.scaling` writes it from kept weights."""
    from mezoo.evidence.scaling_ensembles import CHECK_COLUMNS

    rows = []
    for (variant, scale), (paper, centred, normalised) in values.items():
        for seed in range(3):
            for number, (field, size) in enumerate(FIELDS.items()):
                shift = 0.002 * seed + 0.001 * number
                rows.append(
                    {
                        "cell": Cell(variant, scale, seed).key,
                        **{"fraction": 1.0, "variant": variant, "scale": scale, "seed": seed, "field": field},
                        **{"rows": size - 1, "width": 10 * scale, "ia_vs_random": paper + shift},
                        **{"centred_vs_random": centred + shift, "row_normalised_vs_random": normalised + shift},
                    }
                )
    write_csv(root / name / "abundance_checks.csv", CHECK_COLUMNS, rows)
