"""BARS parity: finished Frappe_x1 runs of the zoo's families against BARS' published test AUC."""

import csv
import io
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from mezoo.evidence import provenance as prov
from mezoo.evidence.runs import FinishedRun, read_run

# BARS Frappe_x1 test AUC per family (docs/method.md §6 and issue 12; FuxiCTR, embedding width 10 but
# FwFM's 50), keyed by mezoo's model name.
BARS_FRAPPE_X1 = {
    "dnn": ("DNN", 0.9833),
    "ipnn": ("IPNN", 0.9841),
    "deepfm": ("DeepFM", 0.9842),
    "dcn": ("DCN", 0.9839),
    "dcnv2": ("DCNv2", 0.9845),
    "xdeepfm": ("xDeepFM", 0.9845),
    "autoint_plus": ("AutoInt+", 0.9848),
    "nfwfm": ("FwFM", 0.9776),
    "finalmlp": ("FinalMLP", 0.9861),
}

# How far below BARS a run may be and still count as parity.
TOLERANCE = 0.003

COLUMNS = [
    "family",
    "model",
    "bars_test_auc",
    "test_auc",
    "gap",
    "within_tolerance",
    "test_logloss",
    "best_epoch",
    "epochs",
    "run_dir",
    "train_command",
]


def parity_rows(run_dirs: Sequence) -> List[Dict]:
    """One row per BARS family, in BARS_FRAPPE_X1's order: the run of that model among
    `run_dirs` (finished, single embedding), or a row with no run.

    Raises:
        RunDirError: a run directory that is missing or unfinished.
        ValueError: two runs of one model, a multi-embedding run, or a model BARS has no figure for.
    """
    runs: Dict[str, FinishedRun] = {}
    for path in run_dirs:
        run = read_run(path)
        if run.model_name not in BARS_FRAPPE_X1:
            raise ValueError(
                f"{path}: model {run.model_name!r} has no BARS Frappe_x1 figure (known: {', '.join(BARS_FRAPPE_X1)})"
            )
        if run.is_multi_embedding:
            raise ValueError(f"{path}: parity is for single-embedding runs, this one has {run.num_sets} sets")
        if run.model_name in runs:
            raise ValueError(f"two runs of {run.model_name}: {runs[run.model_name].path} and {path}")
        runs[run.model_name] = run
    rows = []
    for model, (family, bars) in BARS_FRAPPE_X1.items():
        found = runs.get(model)
        row = {"family": family, "model": model, "bars_test_auc": bars}
        if found is not None:
            metrics = found.metrics
            auc = float(metrics["test_auc"])
            row.update(
                {
                    "test_auc": auc,
                    "gap": auc - bars,
                    "within_tolerance": auc >= bars - TOLERANCE,
                    "test_logloss": float(metrics["test_logloss"]),
                    "best_epoch": int(metrics["best_epoch"]),
                    "epochs": len(metrics.get("epochs", [])),
                    "run_dir": str(found.path),
                    "train_command": found.train_command or "",
                }
            )
        rows.append(row)
    return rows


def markdown(rows: List[Dict], info: Dict[str, str]) -> str:
    """The parity table with the reading rule, each run's command and the provenance."""
    lines = [
        "# BARS parity on Frappe_x1",
        "",
        "Written by `python -m mezoo.parity`; do not edit by hand. "
        "Each row is one single-embedding run (width 10; FwFM 50) of the family's `*_se_frappe` "
        "recipe, trained once with the recipe's whole protocol on the real Frappe_x1 "
        "(202,027 / 57,722 / 28,860 rows), against the test AUC BARS publishes for the family. "
        f"Gap = mezoo - BARS; a run more than {TOLERANCE} below BARS is marked **below**, and its "
        "recipe names the model differences from BARS. BARS' figures are FuxiCTR runs (PyTorch, "
        "seed 2021); one mezoo run varies by a few 1e-4 with its seed.",
        "",
        "| family | BARS test AUC | mezoo test AUC | gap | parity | test log loss | best epoch / epochs |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if "test_auc" not in row:
            lines.append(f"| {row['family']} | {row['bars_test_auc']:.4f} | not run | | | | |")
            continue
        verdict = f"within {TOLERANCE}" if row["within_tolerance"] else "**below**"
        lines.append(
            f"| {row['family']} | {row['bars_test_auc']:.4f} | {row['test_auc']:.5f} | {row['gap']:+.5f} | "
            f"{verdict} | {row['test_logloss']:.5f} | {row['best_epoch']} / {row['epochs']} |"
        )
    ran = [row for row in rows if "test_auc" in row]
    lines += ["", "## Runs", ""]
    lines += [f"- {row['family']}: `{row['train_command'] or row['run_dir']}`" for row in ran] or ["- none"]
    lines += ["", "## Provenance", "", prov.provenance_markdown(info)]
    return "\n".join(lines)


def to_csv(rows: List[Dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: row.get(key, "") for key in COLUMNS})
    return out.getvalue()


def write_parity(run_dirs: Sequence, out, argv: Optional[List[str]] = None) -> Dict[str, Path]:
    """Writes `parity.md` and `parity.csv` into `out` and returns their paths."""
    rows = parity_rows(run_dirs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    info = prov.provenance("mezoo.parity", None if argv is None else list(argv))
    paths = {"md": out / "parity.md", "csv": out / "parity.csv"}
    paths["md"].write_text(markdown(rows, info))
    paths["csv"].write_text(to_csv(rows))
    return paths
