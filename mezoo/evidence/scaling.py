"""The SE / ME scaling study (docs/method.md §5 claims 4 and 5), cell by cell, resumable and shareable.

For a recipe with embedding width `d` and each scale `N`: SE trains one table of width `N*d`,
ME `N` sets of width `d` (at `N = 1` both are the same model, so only SE runs), and with
`ablations` ME-SI (`shared_interaction=True`: one interaction module for all sets; DCNv2
only). Each (data fraction, variant, scale, seed) is a cell: one `mezoo.train` run in
`OUT/cells/<key>/`. A cell whose `metrics.json` says finished is never trained again; a cell
interrupted mid-run resumes from its backup. Processes (on one machine or several sharing
OUT) claim cells atomically (`mezoo.evidence.claims`), so no cell is trained twice at once.

After the cells it holds, a process writes `scaling.csv` (one row per finished cell),
`study.json` (the plan, its `--set` overrides, pending cells, data and commands, for `mezoo.report`),
`scaling.md` (test AUC mean ± std over seeds, parameters, examples/s, per-field IA summary;
pending cells listed) and `auc_vs_scale.png` / `ia_vs_scale.png`, from every finished cell
in OUT, whoever trained it.

A cell whose run directory is gone (weights are not committed; a new machine) but whose row is in
OUT's `scaling.csv` is *kept*: its row, its per-epoch abundance and its kept test predictions stay
in the tables as they were written, and it is not trained again. Cells trained now join them only
if the study's recipe and overrides are the same as those `study.json` recorded and they were
scored on the same test rows (`StudyMismatchError` otherwise). Each row keeps its own commit, date
and machine.

Example:
>>> run_study("dcnv2_se_frappe", scales=[1, 2, 4, 10], seeds=3, out="study")  # doctest: +SKIP
"""

import csv
import dataclasses
import io
import json
import shlex
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from mezoo.atomic import atomic_open, atomic_write
from mezoo.errors import BadInput
from mezoo.evidence import claims as claiming
from mezoo.evidence.variants import Variant

# What a study's cells were trained on: the true training labels, or the permuted-label null.
TRAIN_LABELS = {False: "true", True: "permuted (seed 0)"}
VARIANT_ORDER: Dict[str, int] = {variant: number for number, variant in enumerate(Variant)}
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
RECORD_VERSION = 2  # cell.json written by older code is recomputed
# What a study command writes into OUT, besides `predictions/`.
STUDY_FILES = (
    "scaling.csv",
    "abundance_by_epoch.csv",
    "study.json",
    "scaling.md",
    "auc_vs_scale.png",
    "ia_vs_scale.png",
)
# A kept cell's `scaling.csv` row as the file had it (column -> text): written back unchanged, so a
# rewrite never reformats numbers it did not compute.
AS_WRITTEN = "as_written"


class StudyPlanError(BadInput, ValueError):
    """A study that can't be planned (ME-SI on a model without a shared interaction, no scale or seed)."""


class StudyMismatchError(BadInput, ValueError):
    """A study directory holding cells trained with another recipe, overrides or data."""


@dataclasses.dataclass(frozen=True)
class Cell:
    """One run of the study: a variant ("SE", "ME", "ME-SI") at a scale, seed and training-data fraction.

    Example:
    >>> Cell("ME", 4, 0).key, Cell("ME", 4, 0).overrides(10, 2024)[:2]
    ('me_x4_seed0', ['model.num_embedding_sets=4', 'model.embedding_dim=10'])
    """

    variant: str
    scale: int
    seed: int
    fraction: float = 1.0

    @property
    def key(self) -> str:
        data = "" if self.fraction == 1.0 else f"_data{self.fraction:g}"
        return f"{Variant(self.variant).key}_x{self.scale}_seed{self.seed}{data}"

    @classmethod
    def from_key(cls, key: str) -> Optional["Cell"]:
        """The cell a run directory's name (`Cell.key`) stands for; None for another name."""
        import re

        match = re.fullmatch(r"(se|me|mesi)_x(\d+)_seed(\d+)(?:_data([0-9.e-]+))?", key)
        if not match:
            return None
        variant = Variant.from_key(match.group(1))
        fraction = float(match.group(4)) if match.group(4) else 1.0
        return cls(variant, int(match.group(2)), int(match.group(3)), fraction)

    def overrides(self, base_dim: int, base_seed: int, has_shared_interaction: bool = False) -> List[str]:
        """Recipe overrides that make this cell's model and seed."""
        sets, dim = (1, self.scale * base_dim) if self.variant == Variant.SE else (self.scale, base_dim)
        extra = [
            f"model.num_embedding_sets={sets}",
            f"model.embedding_dim={dim}",
            f"train.seed={base_seed + self.seed}",
        ]
        if has_shared_interaction:
            extra.append(f"model.shared_interaction={'true' if self.variant == 'ME-SI' else 'false'}")
        elif self.variant == Variant.ME_SI:
            raise StudyPlanError("ME-SI needs a model with shared_interaction (DCNv2)")
        return extra


def plan(scales: Sequence[int], seeds: int, ablations: bool = False, fractions: Sequence[float] = (1.0,)) -> List[Cell]:
    """Every cell, ordered so that a study cut short has whole scales: fraction, scale, seed, variant."""
    variants = [Variant.SE, Variant.ME] + ([Variant.ME_SI] if ablations else [])
    cells = []
    for fraction in fractions:
        for scale in scales:
            for seed in range(seeds):
                for variant in variants:
                    if scale == 1 and variant != Variant.SE:
                        continue  # ME and ME-SI with one set are SE
                    cells.append(Cell(variant, int(scale), seed, float(fraction)))
    return cells


def plan_entry(scales: Sequence[int], seeds: int, ablations: bool, fractions: Sequence[float]) -> Dict[str, Any]:
    """An invocation's plan as `study.json` records it (`declared_at` is added when it is declared)."""
    return {
        "scales": [int(n) for n in scales],
        "seeds": int(seeds),
        "ablations": bool(ablations),
        "fractions": [float(f) for f in fractions],
    }


def cells_of_plan(entry: Dict[str, Any]) -> List[Cell]:
    """The cells a recorded plan asks for."""
    return plan(entry["scales"], entry["seeds"], entry["ablations"], entry["fractions"])


def merged_plans(plans: Sequence[Dict[str, Any]], entry: Dict[str, Any]) -> List[Dict[str, Any]]:
    """`plans` in the order they were first declared, with `entry` last unless the same plan is there
    (which keeps its own declaration, or its lack of one: a plan recorded before declarations were)."""

    def same(a: Dict, b: Dict) -> bool:
        return {k: v for k, v in a.items() if k != "declared_at"} == {k: v for k, v in b.items() if k != "declared_at"}

    return list(plans) if any(same(p, entry) for p in plans) else [*plans, entry]


def first_plans(plans: Sequence[Dict[str, Any]], keys: Sequence[str]) -> Dict[str, Optional[int]]:
    """For each cell key, the index of the first plan in `plans` that asked for it (None: none did)."""
    first: Dict[str, int] = {}
    for number, entry in enumerate(plans):
        for cell in cells_of_plan(entry):
            first.setdefault(cell.key, number)
    return {key: first.get(key) for key in keys}


def added_later_note(plans: Sequence[Dict[str, Any]], keys: Sequence[str]) -> Optional[str]:
    """The cells among `keys` first asked for by a plan after the study's first, in words; None when
    there are none (or no plan was recorded)."""
    if not plans:
        return None
    later: Dict[Optional[int], List[str]] = {}
    for key, number in first_plans(plans, keys).items():
        if number != 0:
            later.setdefault(number, []).append(key)
    if not later:
        return None
    parts = []
    for number in sorted(later, key=lambda n: len(plans) if n is None else n):
        cells = ", ".join(f"`{key}`" for key in later[number])
        if number is None:
            parts.append(f"{cells} (in no recorded plan)")
            continue
        declared = plans[number].get("declared_at")
        when = f"declared {declared}" if declared else "recorded before declarations were"
        parts.append(f"{cells} (plan {number + 1} of {len(plans)}, {when})")
    first = plans[0].get("declared_at")
    since = f"declared {first}" if first else "the first plan was recorded before declarations were"
    return f"cells added later, first asked for by a plan after the study's first ({since}): " + "; ".join(parts) + "."


def declare_plan(out: Path, entry: Dict[str, Any], recipe, overrides: Sequence[str], train_labels: str) -> None:
    """Records the invocation's plan (with its `declared_at`) in `study.json` before any cell trains."""
    previous = _read_study_json(out)
    plans = merged_plans(previous.get("plans") or [], entry)
    if plans != previous.get("plans"):
        study = previous or {"recipe": str(recipe), "overrides": list(overrides), "train_labels": train_labels}
        atomic_write(out / "study.json", json.dumps({**study, "plans": plans}, indent=1) + "\n")


def is_finished(run_dir: Path) -> bool:
    metrics = run_dir / "metrics.json"
    if not metrics.exists():
        return False
    try:
        return bool(json.loads(metrics.read_text()).get("finished"))
    except ValueError:
        return False


def _ia_summary(run_dir: Path, best_epoch: Optional[int]) -> Dict[str, Optional[float]]:
    """Per-field IA of the whole table at the best epoch (the weights the test split scored)."""
    from mezoo.evidence.runs import read_abundance_csv

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


def cell_provenance(run_dir: Path) -> Dict:
    """Who trained a cell with what: commit, training revision, start and end, machine (with its CPU
    model), versions (run.json and metrics.json).

    The start and end are the run's own (UTC ISO times in metrics.json); a run trained before they
    were recorded has no start and, as its end, metrics.json's modification time (`... UTC`).
    """
    import datetime

    try:
        meta = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        meta = {}
    try:
        metrics = json.loads((run_dir / "metrics.json").read_text())
    except (OSError, ValueError):
        metrics = {}
    machine = meta.get("machine") or {}
    if isinstance(machine, dict):
        machine = ", ".join(str(machine[k]) for k in ("host", "cpu_model", "processor", "cpus") if machine.get(k))
    finished = metrics.get("finished_at") or datetime.datetime.fromtimestamp(
        (run_dir / "metrics.json").stat().st_mtime, datetime.timezone.utc
    ).strftime("%Y-%m-%d %H:%M UTC")
    versions = meta.get("versions") or {}
    return {
        "git_commit": meta.get("git_commit"),
        "training_revision": meta.get("training_revision"),
        "started_at": metrics.get("started_at"),
        "finished_at": finished,
        "machine": machine or None,
        "tensorflow": versions.get("tensorflow"),
        "keras": versions.get("keras"),
    }


def cell_record(cell: Cell, run_dir: Path) -> Dict:
    """The finished cell's row of `scaling.csv` (written once to `cell.json` beside the run)."""
    cached = run_dir / "cell.json"
    if cached.exists():
        record = json.loads(cached.read_text())
        if record.get("version") == RECORD_VERSION:
            return record
    from mezoo.saved_models import load_keras_file
    from mezoo.training.predictions import PREDICTIONS_FILE, load_predictions

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
        **{k: None for k in ("ia_mean", "ia_min", "ia_max", "ia_vs_random_mean", "ia_normalised_mean", "erank_mean")},
        **_ia_summary(run_dir, metrics.get("best_epoch")),
        "predictions": f"predictions/{cell.key}.npz" if predictions is not None else None,
        "test_rows": predictions["rows"] if predictions is not None else None,
        "labels_sha256": predictions["labels_sha256"] if predictions is not None else None,
        **cell_provenance(run_dir),
        "synthetic": bool(metrics.get("synthetic")),
        "run_dir": str(Path("cells") / run_dir.name),
    }
    atomic_write(cached, json.dumps(record, indent=1))
    return record


def epoch_rows(cell: Cell, run_dir: Path, best_epoch: Optional[int]) -> List[Dict]:
    """The cell's concatenated-table abundance per epoch and field (`EPOCH_COLUMNS`), from abundance.csv."""
    from mezoo.evidence.runs import read_abundance_csv

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


def finished_cells(out: Path) -> List[Cell]:
    """Every finished cell in the study directory, whichever invocation planned it."""
    cells = []
    for run_dir in sorted((Path(out) / "cells").iterdir()) if (Path(out) / "cells").is_dir() else []:
        cell = Cell.from_key(run_dir.name)
        if cell is not None and is_finished(run_dir):
            cells.append(cell)
    return cells


INT_COLUMNS = frozenset(
    ("scale", "seed", "num_sets", "embedding_dim", "width", "best_epoch", "epochs", "params", "test_rows")
)
TEXT_COLUMNS = frozenset(
    ("variant", "predictions", "labels_sha256", "git_commit", "started_at", "finished_at", "machine")
    + ("tensorflow", "keras", "run_dir")
)


def _typed(column: str, value: Optional[str]):
    """A `scaling.csv` field as `cell_record` wrote it: empty is None, numbers are numbers."""
    if value in (None, ""):
        return None
    if column in TEXT_COLUMNS:
        return value
    if column in INT_COLUMNS or column == "training_revision":
        return int(float(value))
    return float(value)


def _cell_of(record: Dict) -> Cell:
    return Cell(record["variant"], record["scale"], record["seed"], record["fraction"])


def kept_cells(out: Path, finished: Sequence[str], base, overrides: Sequence[str]) -> Dict[str, Any]:
    """The cells of OUT's committed tables whose run directories are gone: rows, epoch rows, origins.

    Returns `{"records": {key: record}, "epochs": {key: rows}, "cells": {key: {"command", "data"}},
    "legacy": the commands and data of tables written before per-cell origins, "label": the data set
    label or None}`; empty when nothing is kept. Raises `StudyMismatchError`
    when the study's recipe or overrides differ from those the tables were written with.
    """
    from mezoo import recipe as recipes
    from mezoo.training.run_directory import RESUME_MAY_CHANGE

    nothing: Dict[str, Any] = {"records": {}, "epochs": {}, "cells": {}, "legacy": None, "label": None}
    if not (out / "scaling.csv").exists():
        return nothing
    previous = _read_study_json(out)
    with open(out / "scaling.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    records = {}
    for row in rows:
        record = {column: _typed(column, row.get(column)) for column in CSV_COLUMNS}
        cell = _cell_of(record)
        if cell.key in finished:
            continue
        record[AS_WRITTEN] = {column: row.get(column) or "" for column in CSV_COLUMNS}
        if record["predictions"] and not (out / record["predictions"]).exists():
            record["predictions"] = record[AS_WRITTEN]["predictions"] = None
        record["synthetic"] = bool(previous.get("synthetic"))
        record["version"] = RECORD_VERSION
        records[cell.key] = record
    if not records:
        return nothing
    if previous.get("resolved_recipe") is None or list(previous.get("overrides") or []) != list(overrides):
        raise StudyMismatchError(
            f"{out} holds the tables of another study (its study.json records overrides "
            f"{previous.get('overrides')}, not {list(overrides)}): give this study its own --out"
        )
    changed = [
        d for d in recipes.differences(previous["resolved_recipe"], base) if d.split(":")[0] not in RESUME_MAY_CHANGE
    ]
    if changed:
        raise StudyMismatchError(
            f"{out} holds the tables of a study with another recipe ({'; '.join(changed)}), which would be reported "
            "as this one's: give this study its own --out"
        )
    epochs: Dict[str, List[Dict]] = {}
    if (out / "abundance_by_epoch.csv").exists():
        with open(out / "abundance_by_epoch.csv", newline="") as handle:
            for row in csv.DictReader(handle):
                if row["cell"] in records:
                    epochs.setdefault(row["cell"], []).append(row)  # the text as written, not reformatted
    cells = {key: origin for key, origin in (previous.get("cells") or {}).items() if key in records}
    legacy = previous.get("legacy_origins")
    if len(cells) < len(records):
        # Tables written before per-cell origins were recorded: the study's commands and data as a whole.
        legacy = legacy or {"commands": dict(previous.get("commands") or {}), "data": list(previous.get("data") or [])}
        for key in records:
            cells.setdefault(key, {"legacy": True})
    if not any(origin.get("legacy") for origin in cells.values()):
        legacy = None
    return {"records": records, "epochs": epochs, "cells": cells, "legacy": legacy, "label": previous.get("data_label")}


def cell_origin(run_dir: Path) -> Dict[str, Optional[str]]:
    """`{"command", "data"}` of a finished cell, from its run.json and metrics.json.

    A study is usually trained by several invocations (`--max_cells`, several machines): the
    page names every command with its number of cells, not only the one that wrote it last.
    """
    metrics = json.loads((run_dir / "metrics.json").read_text())
    data = str(metrics.get("data") or "not recorded")
    if metrics.get("synthetic"):
        data = "SYNTHETIC rows: " + data
    if metrics.get("planted_auc") is not None:
        data += f" (the planted model's own test AUC: {metrics['planted_auc']:.5f})"
    command = None
    if (run_dir / "run.json").exists():
        words = [str(c) for c in json.loads((run_dir / "run.json").read_text()).get("command") or []]
        if len(words) >= 2 and words[1].endswith(("mezoo/scaling.py", "mezoo/train.py")):
            module = "mezoo.scaling" if words[1].endswith("scaling.py") else "mezoo.train"
            command = shlex.join(["python", "-m", module, *words[2:]])
        else:
            command = shlex.join(words[1:]) + " (Python)"
    return {"command": command, "data": data}


def origins_summary(cells: Dict[str, Dict], legacy: Optional[Dict]) -> tuple:
    """`(commands, data notes)` over every cell's origin; cells of legacy tables count as their study's whole."""
    commands: Dict[str, int] = dict(legacy["commands"]) if legacy else {}
    notes: List[str] = list(legacy["data"]) if legacy else []
    for origin in cells.values():
        if origin.get("command"):
            commands[origin["command"]] = commands.get(origin["command"], 0) + 1
        if origin.get("data") and origin["data"] not in notes:
            notes.append(origin["data"])
    return commands, notes


def run_study(
    recipe,
    scales: Sequence[int],
    seeds: int,
    out,
    data=None,
    overrides: Sequence[str] = (),
    ablations: bool = False,
    fractions: Sequence[float] = (1.0,),
    source=None,
    train_fn: Optional[Callable] = None,
    max_cells: Optional[int] = None,
    stale_after_s: float = claiming.DEFAULT_STALE_AFTER_S,
    argv: Optional[Sequence[str]] = None,
    verbose: int = 1,
    permuted_labels: bool = False,
) -> Dict:
    """Trains the cells nobody else holds, then writes the study's tables and figures.

    Args:
        recipe: a recipe name or file; its `embedding_dim` is the per-set width d.
        scales: the scales N.
        seeds: seeds per cell (0 .. seeds-1, added to the recipe's `train.seed`).
        out: the study directory (shared by every process of the study).
        data: converted data directory (default: the recipe's; the built-in sample when none).
        overrides: extra `section.key=value` overrides for every cell.
        ablations: add ME-SI cells (models with `shared_interaction`: DCNv2).
        fractions: fractions of the training split (1 = all of it).
        source: a trainer source to use instead of opening `data` (tests, notebooks).
        train_fn: the trainer, `mezoo.training.trainer.train` by default (tests pass a stand-in).
        max_cells: stop after training this many cells (None: all).
        stale_after_s: a claim without a heartbeat for this long is taken over.
        argv: the command's arguments for the provenance (default `sys.argv[1:]`).
        verbose: 0 silent, 1 progress.
        permuted_labels: train every cell on the training split with its labels permuted
            (`PermutedTrainingLabels`, seed 0): the null study whose claims must come out not shown.

    Returns:
        `{"trained": [keys], "skipped_finished": [...], "held_elsewhere": [...], "kept": [cells of the
        committed tables whose run directories are gone], "records": [...]}`.
    """
    from mezoo import recipe as recipes
    from mezoo.models import registry
    from mezoo.training.trainer import train

    out = Path(out)
    (out / "cells").mkdir(parents=True, exist_ok=True)
    base = recipes.load(recipe, list(overrides))
    base_dim, base_seed = base.model.embedding_dim, base.train.seed
    has_shared = "shared_interaction" in registry.constructor_keys(base.model.name)
    if ablations and not has_shared:
        raise StudyPlanError(
            f"--ablations trains ME-SI (shared_interaction=True), which model "
            f"{base.model.name!r} does not have; models with it: dcnv2"
        )
    if not scales or min(scales) < 1 or seeds < 1:
        raise StudyPlanError(f"scales must be >= 1 and seeds >= 1, got scales {list(scales)}, seeds {seeds}")
    cells = plan(scales, seeds, ablations, fractions)
    labels_now = TRAIN_LABELS[bool(permuted_labels)]
    previous = _read_study_json(out)  # a study without the key predates the null: true labels
    labels_before = previous.get("train_labels", TRAIN_LABELS[False]) if previous else labels_now
    if labels_before != labels_now:
        raise StudyMismatchError(
            f"{out} holds a study trained on {labels_before} training labels, this command asks for {labels_now} "
            "ones (--permute_train_labels): give this study its own --out"
        )
    train_fn = train_fn or train
    opened: Dict[float, Any] = {}

    def source_for(fraction: float):
        if fraction not in opened:
            from mezoo.evidence.fraction_source import TrainingFractionSource

            whole = source
            if whole is None:
                from mezoo.training.data_sources import open_source

                whole = opened.get(1.0) or open_source(base.data, data, verbose=verbose)
                opened[1.0] = whole
            part = whole if fraction == 1.0 else TrainingFractionSource(whole, fraction)
            if permuted_labels:
                from mezoo.evidence.permuted_labels import PermutedTrainingLabels

                part = PermutedTrainingLabels(part, seed=0)
            opened[fraction] = part
        return opened[fraction]

    def check_belongs(cell: Cell, run_dir: Path) -> None:
        """A cell already in OUT must be this study's: the same resolved recipe and data."""
        if not (run_dir / "recipe.yaml").exists():
            return
        from mezoo.training.run_directory import check_same_data, check_same_recipe

        try:
            check_same_recipe(
                run_dir, recipes.load(recipe, [*overrides, *cell.overrides(base_dim, base_seed, has_shared)])
            )
            if train_fn is train or source is not None:
                check_same_data(run_dir, source_for(cell.fraction))
        except recipes.RecipeChangedError as error:
            raise StudyMismatchError(
                f"{out} holds cells of another study (recipe, --set or --data differ), which would be reported as "
                f"this one's: {error}. Give this study its own --out"
            ) from None

    report: Dict[str, List[str]] = {"trained": [], "skipped_finished": [], "held_elsewhere": [], "kept": []}
    for cell in cells:
        check_belongs(cell, out / "cells" / cell.key)
    kept = set(kept_cells(out, [c.key for c in finished_cells(out)], base, overrides)["records"])
    from mezoo.training.run_state import utc_now

    declared = {**plan_entry(scales, seeds, ablations, fractions), "declared_at": utc_now()}
    declare_plan(out, declared, recipe, overrides, labels_now)  # the seeds and cells asked for, before any result
    for number, cell in enumerate(cells, start=1):
        run_dir = out / "cells" / cell.key
        label = f"[{number}/{len(cells)}] {cell.key}"
        if is_finished(run_dir):
            report["skipped_finished"].append(cell.key)
            continue
        if cell.key in kept:
            report["kept"].append(cell.key)
            continue
        if max_cells is not None and len(report["trained"]) >= max_cells:
            break
        claim = claiming.try_claim(out / "claims", cell.key, stale_after_s)
        if claim is None:
            owner = claiming.holder(out / "claims", cell.key) or {}
            report["held_elsewhere"].append(cell.key)
            if verbose:
                print(f"{label}: held by {owner.get('host')} pid {owner.get('pid')}; skipping", flush=True)
            continue
        with claim:
            if is_finished(run_dir):  # finished by the previous holder between our checks
                report["skipped_finished"].append(cell.key)
                continue
            if verbose:
                print(f"{label}: training in {run_dir}", flush=True)
            train_fn(
                recipe,
                [*overrides, *cell.overrides(base_dim, base_seed, has_shared)],
                data=data,
                run_dir=run_dir,
                source=source_for(cell.fraction),
                verbose=verbose,
            )
            report["trained"].append(cell.key)
            if is_finished(run_dir):
                record = cell_record(cell, run_dir)
                if verbose:
                    print(f"{label}: test AUC {record['test_auc']:.5f}, {record['params']:,} parameters", flush=True)
    summary = write_study(
        out,
        recipe,
        base,
        cells,
        scales,
        seeds,
        ablations,
        fractions,
        argv,
        overrides,
        train_labels=labels_now,
        declared_at=declared["declared_at"],
    )
    if verbose:
        print(
            f"{len(summary['records'])} of {summary['planned']} planned cells finished; wrote {out / 'scaling.csv'}, "
            f"{out / 'scaling.md'}, {out / 'auc_vs_scale.png'}, {out / 'ia_vs_scale.png'}",
            flush=True,
        )
    records, pending = summary["records"], summary["pending"]
    return {**report, "records": records, "pending": pending}


def write_study(
    out: Path,
    recipe,
    base,
    cells,
    scales,
    seeds,
    ablations,
    fractions,
    argv,
    overrides,
    train_labels: str = "true",
    declared_at: Optional[str] = None,
) -> Dict:
    """Every table, figure and copied prediction of the study, from every finished cell in OUT.

    A study directory may be trained by several invocations with different scales, seeds,
    fractions or `--ablations` (the cells must belong to one recipe, overrides and data:
    `run_study` checks): the tables cover every finished cell, and `study.json` keeps every
    invocation's plan in the order they were first declared, so the pending cells are those some
    plan asked for. `declared_at`: when this invocation's plan was declared (`run_study` declares
    it before training; default now).
    """
    import shutil

    from mezoo.training.predictions import PREDICTIONS_FILE

    previous = _read_study_json(out)
    if declared_at is None:
        from mezoo.training.run_state import utc_now

        declared_at = utc_now()
    plan_now = {**plan_entry(scales, seeds, ablations, fractions), "declared_at": declared_at}
    plans = merged_plans(previous.get("plans") or [], plan_now)
    planned = {c.key: c for p in plans for c in cells_of_plan(p)}
    planned.update({c.key: c for c in cells})
    done = {c.key: c for c in finished_cells(out)}
    kept = kept_cells(out, list(done), base, overrides)
    finished = {**{key: _cell_of(record) for key, record in kept["records"].items()}, **done}
    ordered = sorted(
        {**planned, **finished}.values(), key=lambda c: (c.fraction, c.scale, c.seed, VARIANT_ORDER[c.variant])
    )
    records, by_epoch = [], []
    origins = dict(kept["cells"])
    (out / "predictions").mkdir(exist_ok=True)
    for cell in ordered:
        run_dir = out / "cells" / cell.key
        if cell.key in kept["records"]:
            records.append(kept["records"][cell.key])
            by_epoch += kept["epochs"].get(cell.key, [])
            continue
        if cell.key not in done:
            continue
        record = cell_record(cell, run_dir)
        records.append(record)
        origins[cell.key] = cell_origin(run_dir)
        by_epoch += epoch_rows(cell, run_dir, record.get("best_epoch"))
        if record.get("predictions"):
            target = out / record["predictions"]
            if not target.exists() or target.stat().st_mtime < (run_dir / PREDICTIONS_FILE).stat().st_mtime:
                with open(run_dir / PREDICTIONS_FILE, "rb") as source, atomic_open(target, "wb") as copy:
                    shutil.copyfileobj(source, copy)
    digests = {(r["labels_sha256"], r["test_rows"]) for r in records if r.get("labels_sha256")}
    if len(digests) > 1:
        raise StudyMismatchError(
            f"{out}: the cells were scored on different test rows (labels sha256 and rows: "
            f"{sorted(digests, key=str)}): the kept tables and the new cells come from other data. "
            "Give this study its own --out"
        )
    pending = [c.key for c in ordered if c.key not in finished]
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=EPOCH_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _compact(r.get(k)) for k in EPOCH_COLUMNS} for r in by_epoch)
    atomic_write(out / "abundance_by_epoch.csv", table.getvalue())
    commands, notes = origins_summary(origins, kept["legacy"])
    all_scales = sorted({n for p in plans for n in p["scales"]} | {c.scale for c in finished.values()})
    all_fractions = sorted({f for p in plans for f in p["fractions"]} | {c.fraction for c in finished.values()})
    write_outputs(
        out,
        records,
        pending,
        recipe,
        all_scales,
        max(p["seeds"] for p in plans),
        any(p["ablations"] for p in plans),
        all_fractions,
        argv,
        notes,
        commands,
        overrides,
        plans=plans,
        resolved=base.to_dict() if base is not None else None,
        origins={"cells": origins, "legacy_origins": kept["legacy"]},
        label=kept["label"],
        train_labels=train_labels,
    )
    return {"records": records, "pending": pending, "planned": len(ordered)}


def _compact(value):
    # Seven significant digits: far below any seed spread of IA, and the per-epoch table of a
    # study with a hundred cells stays a few hundred kB instead of several MB. Only the cells
    # trained here are floats; kept cells' rows are text, written back as read.
    return f"{value:.7g}" if isinstance(value, float) else value


def _read_study_json(out: Path) -> Dict:
    try:
        return json.loads((out / "study.json").read_text())
    except (OSError, ValueError):
        return {}


def write_outputs(
    out: Path,
    records,
    pending,
    recipe,
    scales,
    seeds,
    ablations,
    fractions,
    argv=None,
    notes: Sequence[str] = (),
    commands: Optional[Dict[str, int]] = None,
    overrides: Sequence[str] = (),
    plans: Sequence[Dict] = (),
    resolved: Optional[Dict] = None,
    origins: Optional[Dict] = None,
    label: Optional[str] = None,
    train_labels: str = "true",
) -> None:
    from mezoo.evidence import provenance as prov
    from mezoo.evidence import scaling_report

    # Every process of a shared study rewrites these: each file is replaced whole (atomic
    # rename), so a reader never sees a half-written one.
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for record in sorted(records, key=lambda r: (r["fraction"], r["variant"], r["scale"], r["seed"])):
        writer.writerow(record.get(AS_WRITTEN) or {k: record.get(k) for k in CSV_COLUMNS})
    atomic_write(out / "scaling.csv", table.getvalue())
    # what this command rewrites does not count against the commit; anything else uncommitted in OUT does
    written = [*STUDY_FILES, "predictions"]
    info = prov.provenance("mezoo.scaling", None if argv is None else list(argv), out, [out / n for n in written])
    later = added_later_note(plans, [_cell_of(r).key for r in records])
    atomic_write(
        out / "scaling.md",
        scaling_report.markdown(records, pending, recipe, scales, seeds, fractions, info, notes, commands, later),
    )
    study = {
        "recipe": str(recipe),
        "scales": [int(n) for n in scales],
        "seeds": int(seeds),
        "ablations": bool(ablations),
        "fractions": [float(f) for f in fractions],
        "overrides": list(overrides),
        "plans": list(plans),
        "resolved_recipe": resolved,
        "synthetic": any(r.get("synthetic") for r in records),
        "train_labels": train_labels,
        "finished": len(records),
        "pending": list(pending),
        "data": list(notes),
        "commands": dict(commands or {}),
        "provenance": info,
    }
    label = data_label(out, records, label)
    study["data_label"] = label
    if origins:
        study["cells"] = origins["cells"]
        if origins.get("legacy_origins"):
            study["legacy_origins"] = origins["legacy_origins"]
    atomic_write(out / "study.json", json.dumps(study, indent=1) + "\n")
    scaling_report.plot_auc(records, out / "auc_vs_scale.png", recipe, label)
    scaling_report.plot_ia(records, out / "ia_vs_scale.png", recipe, label)


def data_label(out: Path, records, kept: Optional[str] = None) -> str:
    """What the cells trained on, for a figure's title: the spec's data set, and SYNTHETIC where it was.

    `kept`: the label `study.json` recorded for cells whose run directories are gone.
    """
    if kept:
        kept = kept.replace(" (a SYNTHETIC sample)", "")
    names = {kept} if kept and kept != "unknown data" else set()
    for record in records:
        spec = (
            out
            / "cells"
            / Cell(record["variant"], record["scale"], record["seed"], record["fraction"]).key
            / "feature_spec.json"
        )
        try:
            names.add(json.loads(spec.read_text()).get("dataset") or "?")
        except (OSError, ValueError):
            continue
    label = ", ".join(sorted(names)) or "unknown data"
    return f"{label} (a SYNTHETIC sample)" if any(r.get("synthetic") for r in records) else label
