"""A scaling study as the claims page reads it back: its cells, protocol, and the intervals of its comparisons.

`Study` wraps a study's `Result` (`mezoo.evidence.report_inputs`): its cells by variant, scale
and fraction, their test AUCs, the differences of mean test AUC with intervals over seeds and test
rows (a paired bootstrap of the kept test predictions against the test labels
`mezoo.evidence.labels` finds), and the abundance of each cell's tables per epoch.
"""

import zipfile
import zlib
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mezoo.evidence.ensembles import FIRST_MEMBER_SEED
from mezoo.evidence.labels import LabelFinder
from mezoo.evidence.noise import Interval, PairedAUC, welch_interval
from mezoo.evidence.report_inputs import Result, number
from mezoo.evidence.table_checks import ReportInputError
from mezoo.evidence.variants import Variant
from mezoo.training.predictions import load_predictions

REPLICATES = 1000  # bootstrap replicates of the test rows
CHECK_MEASURES = ("ia_vs_random", "centred_vs_random", "row_normalised_vs_random")


def cell_key(row: Dict[str, str]) -> str:
    variant = row["variant"].lower().replace("-", "")
    fraction = float(row["fraction"])
    return f"{variant}_x{int(row['scale'])}_seed{int(row['seed'])}" + ("" if fraction == 1.0 else f"_data{fraction:g}")


class Study:
    """A scaling study read back: its cells, protocol, and the intervals of its comparisons."""

    def __init__(self, result: Result, finder: LabelFinder):
        self.result, self.finder = result, finder
        self.name = result.name
        # In a study with ensembles, SE 1x seeds from FIRST_MEMBER_SEED on are the ensembles' members,
        # trained for them after the study's own seeds: the 1x baseline of the claims stays those seeds.
        with_ensembles = any(r["variant"] == Variant.ENS for r in result.rows)
        self.rows = [r for r in result.rows if not (with_ensembles and is_member(r))]
        resolved = result.meta.get("resolved_recipe") or {}
        self.model = (resolved.get("model") or {}).get("name") or _model_of(result.meta.get("recipe", self.name))
        self.structure = (resolved.get("model") or {}).get("structure", "stacked")
        self.protocol = protocol_of(resolved) if resolved else "not recorded"
        self.synthetic = bool(result.meta.get("synthetic")) or any(
            str(n).startswith("SYNTHETIC") for n in result.meta.get("data", [])
        )
        self.has_predictions = bool(self.rows) and all(r.get("predictions") for r in self.rows)
        self.null = result.meta.get("train_labels", "true") != "true"  # a permuted-label study
        self._boot: Optional[PairedAUC] = None
        self._labels_checked = False
        self._replicates: Dict[str, np.ndarray] = {}
        self._exact: Dict[str, float] = {}

    def cells(self, variant: str, scale: int, fraction: float = 1.0) -> List[Dict[str, str]]:
        return [
            r
            for r in self.rows
            if r["variant"] == variant and int(r["scale"]) == scale and abs(float(r["fraction"]) - fraction) < 1e-9
        ]

    def scales(self, variant: str, fraction: float = 1.0) -> List[int]:
        return sorted(
            {int(r["scale"]) for r in self.rows if r["variant"] == variant and float(r["fraction"]) == fraction}
        )

    def fractions(self) -> List[float]:
        return sorted({float(r["fraction"]) for r in self.rows})

    def aucs(self, variant: str, scale: int, fraction: float = 1.0) -> List[float]:
        return [float(r["test_auc"]) for r in self.cells(variant, scale, fraction) if number(r["test_auc"]) is not None]

    # -- test AUC differences

    def bootstrap(self) -> Optional[PairedAUC]:
        if not self._labels_checked:
            self._labels_checked = True
            if self.has_predictions:
                digests = {(r["labels_sha256"], int(float(r["test_rows"]))) for r in self.rows}
                if len(digests) == 1:
                    digest, rows = digests.pop()
                    labels = self.finder.find(digest, rows)
                    if labels is not None:
                        self._boot = PairedAUC(labels, replicates=REPLICATES, seed=0)
        return self._boot

    def scores(self, row: Dict[str, str]):
        """The kept test probabilities of a cell row, checked against the rows the table says they score."""
        path = self.result.path / row["predictions"]
        try:
            kept = load_predictions(path)
        except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error) as error:
            raise ReportInputError(
                f"{path}: not a predictions file as mezoo.scaling keeps them (truncated or damaged: "
                f"{type(error).__name__}); restore it or train the cell again"
            ) from None
        if (kept["labels_sha256"], kept["rows"]) != (row["labels_sha256"], int(float(row["test_rows"]))):
            raise ReportInputError(
                f"{path}: scored on other test rows ({kept['rows']} rows, labels sha256 {kept['labels_sha256'][:12]}) "
                f"than scaling.csv says for cell {cell_key(row)}: restore the file or the table"
            )
        return kept["probability"]

    def _cell_figures(self, row: Dict[str, str]) -> Tuple[float, np.ndarray]:
        key = cell_key(row)
        if key not in self._replicates:
            boot = self.bootstrap()
            assert boot is not None
            scores = self.scores(row)
            self._exact[key] = boot.auc(scores)
            self._replicates[key] = boot.replicate_aucs(scores)
        return self._exact[key], self._replicates[key]

    def auc_difference(self, a: Sequence[Dict[str, str]], b: Sequence[Dict[str, str]]) -> Interval:
        """mean test AUC of cells `a` minus cells `b`, over seeds and test rows (`noise.auc_difference`)."""
        a_auc = [float(r["test_auc"]) for r in a]
        b_auc = [float(r["test_auc"]) for r in b]
        if not a or not b:
            return welch_interval(a_auc, b_auc)
        if self.bootstrap() is None:
            why = "predictions not kept" if not self.has_predictions else "test labels not found on this machine"
            return Interval(float(np.mean(a_auc) - np.mean(b_auc)), None, None, (len(a), len(b)), why)
        fa = [self._cell_figures(r) for r in a]
        fb = [self._cell_figures(r) for r in b]
        replicates = np.mean([f[1] for f in fa], axis=0) - np.mean([f[1] for f in fb], axis=0)
        return welch_interval([f[0] for f in fa], [f[0] for f in fb], extra_variance=float(np.var(replicates, ddof=1)))

    # -- abundance

    def epoch_rows(self, key: str) -> List[Dict[str, str]]:
        return [r for r in self.result.epochs if r["cell"] == key]

    def ratio(self, row: Dict[str, str], fields: Optional[Sequence[str]] = None, epoch: Optional[int] = None):
        """Mean over fields of IA / same-shape random IA at the best epoch (or `epoch`), None without data."""
        rows = self.epoch_rows(cell_key(row))
        rows = [r for r in rows if (r["best"] == "True" if epoch is None else int(r["epoch"]) == epoch)]
        read = [number(r["ia_vs_random"]) for r in rows if fields is None or r["field"] in fields]
        values = [v for v in read if v is not None and not np.isnan(v)]
        return float(np.mean(values)) if values else None

    def epochs_trained(self, row: Dict[str, str]) -> int:
        return int(float(row.get("epochs") or 0))

    def checks(self, key: str, fields: Sequence[str]) -> Optional[Dict[str, float]]:
        """A cell's abundance checks (`abundance_checks.csv`), each measure's mean over `fields`; None
        where the cell has none (its weights were not kept)."""
        rows = [r for r in self.result.checks if r["cell"] == key and r["field"] in fields]
        if not rows:
            return None
        return {m: float(np.nanmean([float(r[m]) for r in rows])) for m in CHECK_MEASURES}

    def checked_cells(self, variant: str, scale: int) -> List[str]:
        """The keys of the cells of `variant` at `scale` (all data) that have abundance checks."""
        return sorted(
            {
                r["cell"]
                for r in self.result.checks
                if r["variant"] == variant and int(r["scale"]) == scale and float(r["fraction"]) == 1.0
            }
        )


def is_member(row: Dict[str, str]) -> bool:
    """An SE 1x cell with an ensemble member's seed (`ensembles.FIRST_MEMBER_SEED` on)."""
    return row["variant"] == Variant.SE and int(row["scale"]) == 1 and int(row["seed"]) >= FIRST_MEMBER_SEED


def _model_of(recipe: str) -> str:
    return Path(str(recipe)).stem.split("_")[0]


def protocol_of(resolved: Dict) -> str:
    """The training protocol a resolved recipe follows: BARS', the paper's, or custom."""
    model, train = resolved.get("model") or {}, resolved.get("train") or {}
    if float(model.get("embedding_l2_regularization") or 0.0) > 0 and train.get("reduce_lr_factor"):
        return "BARS'"
    if not train.get("reduce_lr_factor") and float(model.get("l2_regularization") or 0.0) > 0:
        return "the paper's"
    return "a custom"


def protocol_details(resolved: Dict) -> str:
    """The protocol's settings in words (regularisation, schedule, batch, patience)."""
    model, train = resolved.get("model") or {}, resolved.get("train") or {}
    parts = []
    if float(model.get("embedding_l2_regularization") or 0.0) > 0:
        parts.append(f"embedding L2 {float(model['embedding_l2_regularization']):g}")
    if float(model.get("l2_regularization") or 0.0) > 0:
        parts.append(f"coupled L2 {float(model['l2_regularization']):g} on every weight")
    parts.append(
        f"learning rate x{train['reduce_lr_factor']:g} on plateaus" if train.get("reduce_lr_factor") else "no schedule"
    )
    batch = (resolved.get("data") or {}).get("batch_size")
    parts += [f"batch {batch}", f"patience {train.get('early_stopping_patience')}"]
    return ", ".join(parts)


def study_title(study: Study) -> str:
    structure = f" ({study.structure})" if study.model == "dcnv2" else ""
    return f"{study.model}{structure}, {study.protocol} protocol"
