"""A scaling study's ENS cells, assembled from its SE 1x members, and its abundance checks table.

**ENS cells** (`--ensembles`; `mezoo.evidence.ensembles` says what an ensemble is and which SE 1x
seeds are its members). An ENS cell trains nothing: once all its members are finished (or kept
in the committed tables with their predictions), `assemble` writes `predictions/<ens key>.npz`,
the members' test probabilities averaged (every member scored on the same test rows: the label
digest is checked, a member on other rows is refused by name), and its row of `scaling.csv`: test
AUC and log loss of those averaged probabilities against the test labels (found by their digest,
`mezoo.evidence.labels`), parameters the sum of the members', epochs their mean, abundance that
of the members' tables concatenated per field (empty where a member's `model.keras` is gone; the
row's `run_dir` says so). Once written, the row is kept as written, like any cell whose run
directory is gone.

**Checks** (`abundance_checks.csv`): per cell and field, the paper's IA / random IA beside the
same of the table centred and row-normalised (`ensembles.table_checks`), on the rows training
looked up, for every finished cell whose run directory holds `model.keras` and every ENS cell
whose members' do. A cell's rows, once written, are kept as written, so a study
whose run directories are gone keeps them.
"""

import csv
import io
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mezoo.abundance import abundance_stats
from mezoo.atomic import atomic_write
from mezoo.evidence import ensembles
from mezoo.evidence.scaling_cells import IA_SUMMARY
from mezoo.evidence.scaling_plan import CELLS_DIR, Cell
from mezoo.evidence.variants import Variant
from mezoo.training.predictions import labels_digest, load_predictions, save_predictions

CHECKS_FILE = "abundance_checks.csv"
CHECK_COLUMNS = (
    "cell",
    "fraction",
    "variant",
    "scale",
    "seed",
    "field",
    "rows",
    "width",
    "ia_vs_random",
    "centred_vs_random",
    "row_normalised_vs_random",
)
EPSILON = 1e-7  # Keras' clipping of probabilities in its binary cross-entropy


def members(cell: Cell) -> List[Cell]:
    """The SE 1x cells whose runs make the ENS cell."""
    return [Cell(Variant.SE, 1, seed, cell.fraction) for seed in ensembles.member_seeds(cell.seed, cell.scale)]


def run_tables(run_dir: Path) -> Optional[Dict[str, np.ndarray]]:
    """Per field, the run's table on the rows training looked up; None without `model.keras`."""
    if not (run_dir / "model.keras").exists():
        return None
    from mezoo.saved_models import load_keras_file
    from mezoo.training.row_counts import COUNTS_FILE, load_row_counts

    model = load_keras_file(run_dir / "model.keras", compile=False)
    layer = model.multi_embedding
    names = [str(n) for n in (layer.field_names or range(layer.num_fields))]
    return ensembles.field_tables([model], load_row_counts(run_dir / COUNTS_FILE, names))


def checks_rows(cell: Cell, tables: Dict[str, np.ndarray]) -> List[Dict]:
    """The cell's rows of `abundance_checks.csv`, one per field."""
    where = {"fraction": cell.fraction, "variant": str(cell.variant), "scale": cell.scale, "seed": cell.seed}
    return [{**where, **row} for row in ensembles.checks_rows(cell.key, tables)]


def read_checks(out: Path) -> Dict[str, List[Dict[str, str]]]:
    """The rows of OUT's `abundance_checks.csv` by cell, the text as written; empty without one."""
    path = out / CHECKS_FILE
    kept: Dict[str, List[Dict[str, str]]] = {}
    if path.exists():
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                kept.setdefault(row["cell"], []).append(row)
    return kept


def _compact(column: str, value):
    # the measures at seven significant digits, as abundance_by_epoch.csv; kept rows are text, as read
    return f"{value:.7g}" if isinstance(value, float) and column in CHECK_COLUMNS[-3:] else value


def write_checks(out: Path, rows: Sequence[Dict]) -> None:
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=CHECK_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _compact(k, r[k]) for k in CHECK_COLUMNS} for r in rows)
    atomic_write(out / CHECKS_FILE, table.getvalue())


def cell_checks(out: Path, cell: Cell, kept: Dict[str, List[Dict[str, str]]]) -> List[Dict]:
    """A finished cell's checks: as written before, else measured from its run directory (none without one)."""
    if cell.key in kept:
        return kept[cell.key]
    tables = member_tables(out, cell)[0] if cell.variant == Variant.ENS else run_tables(out / CELLS_DIR / cell.key)
    return checks_rows(cell, tables) if tables else []


def member_tables(out: Path, cell: Cell) -> Tuple[Dict[str, np.ndarray], List[str]]:
    """(the ENS cell's members' tables concatenated per field, the members without `model.keras`);
    no tables where any member lacks one."""
    read = [run_tables(out / CELLS_DIR / m.key) for m in members(cell)]
    tables = [t for t in read if t is not None]
    if len(tables) < len(read):
        return {}, [m.key for m, t in zip(members(cell), read) if t is None]
    return {name: np.concatenate([t[name] for t in tables], axis=1) for name in tables[0]}, []


def test_scores(labels: np.ndarray, probability: np.ndarray) -> Tuple[float, float]:
    """(AUC, log loss) of probabilities against 0/1 labels; ties in the AUC count one half."""
    from mezoo.evidence.noise import PairedAUC

    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    p = np.clip(np.asarray(probability, dtype=np.float64).reshape(-1), EPSILON, 1 - EPSILON)
    logloss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return PairedAUC(y, replicates=0).auc(probability), logloss


def waiting_members(cell: Cell, finished: Dict[str, Dict]) -> List[str]:
    """The members of the ENS cell not finished, or finished without kept test predictions."""
    return [m.key for m in members(cell) if not (finished.get(m.key) or {}).get("predictions")]


def assemble(out: Path, cell: Cell, finished: Dict[str, Dict], finder) -> Tuple[Optional[Dict], List[Dict], str]:
    """The ENS cell's record, its checks rows and a note; `(None, [], why)` where it can't be assembled yet.

    `finished`: the study's finished and kept records by cell key (members' predictions copied into
    OUT/predictions/). `finder`: `.find(digest, rows)` gives the test labels (`labels.LabelFinder`).
    """
    waiting = waiting_members(cell, finished)
    if waiting:
        return None, [], f"{len(waiting)} of {cell.scale} members not finished ({', '.join(waiting)})"
    records = [finished[m.key] for m in members(cell)]
    files = [out / r["predictions"] for r in records]
    for record, path in zip(records, files):
        kept = load_predictions(path)
        if (kept["labels_sha256"], kept["rows"]) != (record["labels_sha256"], record["test_rows"]):
            raise ensembles.EnsembleError(
                f"{path}: scored on other test rows ({kept['rows']} rows, labels sha256 {kept['labels_sha256'][:12]}) "
                f"than its cell's row says ({record['test_rows']} rows, {str(record['labels_sha256'])[:12]}): "
                f"{cell.key} can't average it; restore the file or train the member again"
            )
    averaged = ensembles.averaged_predictions(files)
    labels = finder.find(averaged["labels_sha256"], averaged["rows"])
    if labels is None:
        return None, [], "the test labels were not found on this machine (give --data)"
    if labels_digest(labels) != averaged["labels_sha256"]:
        raise ensembles.EnsembleError(f"the labels found for {cell.key} are not those its members were scored on")
    target = f"predictions/{cell.key}.npz"
    save_predictions(out / target, labels, averaged["probability"])
    auc, logloss = test_scores(labels, load_predictions(out / target)["probability"])
    joined, gone = member_tables(out, cell)
    checks = checks_rows(cell, joined)
    width = int(records[0]["width"])
    record = {
        "fraction": cell.fraction,
        "variant": Variant.ENS.value,
        "scale": cell.scale,
        "seed": cell.seed,
        "num_sets": cell.scale,
        "embedding_dim": width,
        "width": cell.scale * width,
        "test_auc": auc,
        "test_logloss": logloss,
        "epochs": float(np.mean([float(r["epochs"]) for r in records])),
        "params": int(sum(int(r["params"]) for r in records)),
        **{k: None for k in IA_SUMMARY},
        **_ia_summary(joined, checks),
        "predictions": target,
        "test_rows": averaged["rows"],
        "labels_sha256": averaged["labels_sha256"],
        "run_dir": f"ensemble of {', '.join(m.key for m in members(cell))}"
        + (f"; no abundance: no model.keras for {', '.join(gone)}" if gone else ""),
    }
    return record, checks, "assembled"


def _ia_summary(tables: Dict[str, np.ndarray], checks: Sequence[Dict]) -> Dict[str, Optional[float]]:
    """The members' concatenated tables' per-field abundance, summarised as `scaling.csv` does a cell's."""
    if not tables:
        return {}
    stats = [abundance_stats(t) for t in tables.values() if t.shape[0]]
    ratios = [c["ia_vs_random"] for c in checks if np.isfinite(c["ia_vs_random"])]
    return {
        "ia_mean": float(np.mean([s["ia"] for s in stats])),
        "ia_min": float(np.min([s["ia"] for s in stats])),
        "ia_max": float(np.max([s["ia"] for s in stats])),
        "ia_vs_random_mean": float(np.mean(ratios)) if ratios else None,
        "ia_normalised_mean": float(np.mean([s["ia_normalised"] for s in stats])),
        "erank_mean": float(np.mean([s["erank"] for s in stats])),
    }


def ensemble_origin(cell: Cell) -> Dict:
    """The ENS cell's entry in `study.json`'s cells: no command trained it."""
    return {"command": None, "data": None, "members": [m.key for m in members(cell)]}
