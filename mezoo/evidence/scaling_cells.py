"""A finished cell of a scaling study read from its run directory: its row of `scaling.csv` and its
per-epoch abundance rows of `abundance_by_epoch.csv`.

A cell's run directory is `OUT/cells/<Cell.key>/`, a `mezoo.train` run; it is finished when its
`metrics.json` says so. Its row (`cell_record`) is computed once and kept beside the run in
`cell.json`.
"""

import json
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from mezoo.atomic import atomic_write
from mezoo.evidence.runs import read_abundance_csv
from mezoo.evidence.scaling_origins import cell_provenance
from mezoo.evidence.scaling_plan import CELLS_DIR, Cell
from mezoo.saved_models import load_keras_file
from mezoo.training.predictions import PREDICTIONS_FILE, load_predictions

CSV_COLUMNS = (
    "fraction",
    "variant",
    "scale",
    "seed",
    "num_sets",
    "embedding_dim",
    "width",
    "test_auc",
    "test_logloss",
    "best_val_auc",
    "best_epoch",
    "epochs",
    "params",
    "examples_per_sec",
    "ia_mean",
    "ia_min",
    "ia_max",
    "ia_vs_random_mean",
    "ia_normalised_mean",
    "erank_mean",
    "predictions",
    "test_rows",
    "labels_sha256",
    "git_commit",
    "training_revision",
    "started_at",
    "finished_at",
    "machine",
    "tensorflow",
    "keras",
    "run_dir",
)
# Per cell, epoch and field: the concatenated table's abundance (rows training looked up), the
# source of claims 1 and 3 and of abundance at a matched epoch.
EPOCH_COLUMNS = (
    "cell",
    "fraction",
    "variant",
    "scale",
    "seed",
    "width",
    "epoch",
    "best",
    "field",
    "rows",
    "rows_total",
    "ia",
    "ia_random",
    "ia_vs_random",
    "ia_normalised",
    "erank",
)
IA_SUMMARY = ("ia_mean", "ia_min", "ia_max", "ia_vs_random_mean", "ia_normalised_mean", "erank_mean")
RECORD_VERSION = 2  # cell.json written by older code is recomputed


def is_finished(run_dir: Path) -> bool:
    metrics = run_dir / "metrics.json"
    if not metrics.exists():
        return False
    try:
        return bool(json.loads(metrics.read_text()).get("finished"))
    except ValueError:
        return False


def finished_cells(out: Path) -> List[Cell]:
    """Every finished cell in the study directory, whichever invocation planned it."""
    cells = []
    for run_dir in sorted((Path(out) / CELLS_DIR).iterdir()) if (Path(out) / CELLS_DIR).is_dir() else []:
        cell = Cell.from_key(run_dir.name)
        if cell is not None and is_finished(run_dir):
            cells.append(cell)
    return cells


def _ia_summary(run_dir: Path, best_epoch: Optional[int]) -> Dict[str, Optional[float]]:
    """Per-field IA of the whole table at the best epoch (the weights the test split scored)."""
    rows = [r for r in read_abundance_csv(run_dir / "abundance.csv") if r["set"] == "concat"]
    if not rows:
        return {}
    epoch = (
        best_epoch
        if best_epoch is not None and any(r["epoch"] == best_epoch for r in rows)
        else max(r["epoch"] for r in rows)
    )
    rows = [r for r in rows if r["epoch"] == epoch]
    ia = [r["ia"] for r in rows]
    ratios = [r["ia_vs_random"] for r in rows if r.get("ia_vs_random") is not None and not np.isnan(r["ia_vs_random"])]
    return {
        "ia_mean": float(np.mean(ia)),
        "ia_min": float(np.min(ia)),
        "ia_max": float(np.max(ia)),
        "ia_vs_random_mean": float(np.mean(ratios)) if ratios else None,
        "ia_normalised_mean": float(np.mean([r["ia_normalised"] for r in rows])),
        "erank_mean": float(np.mean([r["erank"] for r in rows])),
    }


def cell_record(cell: Cell, run_dir: Path) -> Dict:
    """The finished cell's row of `scaling.csv` (written once to `cell.json` beside the run)."""
    cached = run_dir / "cell.json"
    if cached.exists():
        record = json.loads(cached.read_text())
        if record.get("version") == RECORD_VERSION:
            return record
    metrics = json.loads((run_dir / "metrics.json").read_text())
    model = load_keras_file(run_dir / "model.keras", compile=False)
    speeds = [e["examples_per_sec"] for e in metrics.get("epochs", []) if e.get("examples_per_sec")]
    predictions = load_predictions(run_dir / PREDICTIONS_FILE) if (run_dir / PREDICTIONS_FILE).exists() else None
    record = {
        "version": RECORD_VERSION,
        "fraction": cell.fraction,
        "variant": cell.variant,
        "scale": cell.scale,
        "seed": cell.seed,
        "num_sets": int(model.num_embedding_sets),
        "embedding_dim": int(model.embedding_dim),
        "width": int(model.num_embedding_sets * model.embedding_dim),
        "test_auc": metrics.get("test_auc"),
        "test_logloss": metrics.get("test_logloss"),
        "best_val_auc": metrics.get("best_val_auc"),
        "best_epoch": metrics.get("best_epoch"),
        "epochs": len(metrics.get("epochs", [])),
        "params": int(model.count_params()),
        "examples_per_sec": float(np.median(speeds)) if speeds else None,
        **{k: None for k in IA_SUMMARY},
        **_ia_summary(run_dir, metrics.get("best_epoch")),
        "predictions": f"predictions/{cell.key}.npz" if predictions is not None else None,
        "test_rows": predictions["rows"] if predictions is not None else None,
        "labels_sha256": predictions["labels_sha256"] if predictions is not None else None,
        **cell_provenance(run_dir),
        "synthetic": bool(metrics.get("synthetic")),
        "run_dir": str(Path(CELLS_DIR) / run_dir.name),
    }
    atomic_write(cached, json.dumps(record, indent=1))
    return record


def epoch_rows(cell: Cell, run_dir: Path, best_epoch: Optional[int]) -> List[Dict]:
    """The cell's concatenated-table abundance per epoch and field (`EPOCH_COLUMNS`), from abundance.csv."""
    rows = []
    for row in read_abundance_csv(run_dir / "abundance.csv"):
        if row["set"] != "concat":
            continue
        rows.append(
            {
                "cell": cell.key,
                "fraction": cell.fraction,
                "variant": cell.variant,
                "scale": cell.scale,
                "seed": cell.seed,
                "width": row["width"],
                "epoch": row["epoch"],
                "best": row["epoch"] == best_epoch,
                **{k: row.get(k) for k in ("field", "rows", "rows_total", "ia", "ia_random", "ia_vs_random")},
                "ia_normalised": row["ia_normalised"],
                "erank": row["erank"],
            }
        )
    return rows
