"""BARS parity: finished Frappe_x1 runs of the zoo's families against BARS' published test AUC.

Each family BARS publishes a Frappe_x1 figure for is matched with mezoo's runs of the same
model (any number of seeds, single embedding). The gap is mezoo's mean test AUC minus BARS',
judged two-sided against `TOLERANCE`, and stated in units of mezoo's own seed spread (sd over
seeds, ddof = 1): BARS publishes one run per family (FuxiCTR, seed 2021), so its spread is not
known here. NFwFM, the paper's FwFM with an MLP, is listed beside BARS' FwFM figure and marked
as not like for like; the shallow `fwfm` is the family's match.
"""

import csv
import io
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from mezoo.evidence import provenance as prov
from mezoo.evidence.runs import FinishedRun, read_run

# BARS Frappe_x1 test AUC per family (docs/method.md §6), keyed by mezoo's model name:
# (BARS' family name, its test AUC, whether mezoo's model is the same model).
BARS_FRAPPE_X1 = {
    "dnn": ("DNN", 0.9833, True),
    "ipnn": ("IPNN", 0.9841, True),
    "deepfm": ("DeepFM", 0.9842, True),
    "dcn": ("DCN", 0.9839, True),
    "dcnv2": ("DCNv2", 0.9845, True),
    "xdeepfm": ("xDeepFM", 0.9845, True),
    "autoint_plus": ("AutoInt+", 0.9848, True),
    "fwfm": ("FwFM", 0.9776, True),
    "nfwfm": ("FwFM", 0.9776, False),  # the paper's NFwFM: FwFM followed by an MLP
    "finalmlp": ("FinalMLP", 0.9861, True),
}

# How far from BARS, either way, a family's mean may be and still count as parity.
TOLERANCE = 0.003

COLUMNS = [
    "family",
    "model",
    "like_for_like",
    "bars_test_auc",
    "runs",
    "test_auc_mean",
    "test_auc_sd",
    "gap",
    "gap_in_sd",
    "within_tolerance",
    "tolerance",
    "test_logloss_mean",
    "best_epochs",
    "epochs",
    "run_dirs",
    "train_commands",
]


def parity_rows(run_dirs: Sequence) -> List[Dict]:
    """One row per model in `BARS_FRAPPE_X1`'s order: its runs among `run_dirs` (finished, single
    embedding, any number of seeds), or a row with no run.

    Raises:
        RunDirError: a run directory that is missing or unfinished.
        ValueError: a multi-embedding run, a run given twice, or a model BARS has no figure for.
    """
    runs: Dict[str, List[FinishedRun]] = {}
    seen = set()
    for path in run_dirs:
        resolved = Path(path).resolve()
        if resolved in seen:
            raise ValueError(f"{path}: given twice")
        seen.add(resolved)
        run = read_run(path)
        if run.model_name not in BARS_FRAPPE_X1:
            raise ValueError(
                f"{path}: model {run.model_name!r} has no BARS Frappe_x1 figure (known: {', '.join(BARS_FRAPPE_X1)})"
            )
        if run.is_multi_embedding:
            raise ValueError(f"{path}: parity is for single-embedding runs, this one has {run.num_sets} sets")
        same_seed = [r for r in runs.get(run.model_name, []) if r.recipe.train.seed == run.recipe.train.seed]
        if same_seed:
            raise ValueError(
                f"two runs of {run.model_name} with seed {run.recipe.train.seed}: {same_seed[0].path} and {path}"
            )
        runs.setdefault(run.model_name, []).append(run)
    rows = []
    for model, (family, bars, like) in BARS_FRAPPE_X1.items():
        found = runs.get(model, [])
        row: Dict = {"family": family, "model": model, "like_for_like": like, "bars_test_auc": bars}
        if found:
            aucs = [float(r.metrics["test_auc"]) for r in found]
            mean = float(np.mean(aucs))
            sd = float(np.std(aucs, ddof=1)) if len(aucs) > 1 else None
            row.update(
                {
                    "runs": len(found),
                    "test_auc_mean": mean,
                    "test_auc_sd": sd,
                    "gap": mean - bars,
                    "gap_in_sd": (mean - bars) / sd if sd else None,
                    "within_tolerance": abs(mean - bars) <= TOLERANCE,
                    "tolerance": TOLERANCE,
                    "test_logloss_mean": float(np.mean([float(r.metrics["test_logloss"]) for r in found])),
                    "best_epochs": " ".join(str(r.metrics["best_epoch"]) for r in found),
                    "epochs": " ".join(str(len(r.metrics.get("epochs", []))) for r in found),
                    "run_dirs": " ".join(str(r.path) for r in found),
                    "train_commands": " | ".join(r.train_command or str(r.path) for r in found),
                }
            )
        rows.append(row)
    return rows


def markdown(rows: List[Dict], info: Dict[str, str]) -> str:
    """The parity table with the reading rule, each run's command and the provenance."""
    lines = [
        "# BARS parity on Frappe_x1",
        "",
        "Written by `python -m mezoo.parity`; do not edit by hand. Each row is a family's single-embedding runs "
        "(width 10; NFwFM 50) of its `*_se_frappe` recipe on the real Frappe_x1 (202,027 / 57,722 / 28,860 rows), "
        "every one trained with the recipe's whole protocol, against the test AUC BARS publishes for the family. "
        f"Gap = mezoo's mean - BARS; parity is a gap within ±{TOLERANCE}. BARS publishes one run per family "
        "(FuxiCTR, seed 2021), so its seed spread is not known: the gap is also given in units of mezoo's own "
        "seed spread (sd over seeds, ddof = 1). NFwFM is the paper's FwFM with an MLP, listed beside BARS' "
        "shallow FwFM and not like for like; `fwfm` is the family's match.",
        "",
        "| family | mezoo model | BARS test AUC | mezoo test AUC (mean ± sd, seeds) | gap | gap / sd | parity |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        name = row["model"] + ("" if row["like_for_like"] else " (not like for like)")
        if "test_auc_mean" not in row:
            lines.append(f"| {row['family']} | {name} | {row['bars_test_auc']:.4f} | not run | | | |")
            continue
        spread = (
            f"{row['test_auc_mean']:.5f} ± {row['test_auc_sd']:.5f} ({row['runs']})"
            if row["test_auc_sd"] is not None
            else f"{row['test_auc_mean']:.5f} (n = 1)"
        )
        in_sd = "-" if row["gap_in_sd"] is None else f"{row['gap_in_sd']:+.1f}"
        verdict = (
            f"within ±{TOLERANCE}" if row["within_tolerance"] else ("**above**" if row["gap"] > 0 else "**below**")
        )
        lines.append(
            f"| {row['family']} | {name} | {row['bars_test_auc']:.4f} | {spread} | {row['gap']:+.5f} | {in_sd} | "
            f"{verdict} |"
        )
    lines += ["", "## Runs", ""]
    ran = [row for row in rows if "test_auc_mean" in row]
    lines += [f"- {row['model']}: `{row['train_commands']}`" for row in ran] or ["- none"]
    lines += ["", "## Provenance", "", prov.provenance_markdown(info)]
    return "\n".join(lines)


def to_csv(rows: List[Dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row.get(key) is None else row.get(key, "") for key in COLUMNS})
    return out.getvalue()


def write_parity(run_dirs: Sequence, out, argv: Optional[List[str]] = None) -> Dict[str, Path]:
    """Writes `parity.md` and `parity.csv` into `out` and returns their paths."""
    rows = parity_rows(run_dirs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    info = prov.provenance("mezoo.parity", None if argv is None else list(argv))
    prov.write_provenance(out, info)
    paths = {"md": out / "parity.md", "csv": out / "parity.csv"}
    paths["md"].write_text(markdown(rows, info))
    paths["csv"].write_text(to_csv(rows))
    return paths
