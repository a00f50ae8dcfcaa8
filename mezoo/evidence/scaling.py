"""The SE / ME scaling study (docs/method.md §5 claims 4 and 5), cell by cell, resumable and shareable.

For a recipe with embedding width `d` and each scale `N`: SE trains one table of width `N*d`,
ME `N` sets of width `d` (at `N = 1` both are the same model, so only SE runs), and with
`ablations` ME-SI (`shared_interaction=True`: one interaction module for all sets; DCNv2
only). Each (data fraction, variant, scale, seed) is a cell: one `mezoo.train` run in
`OUT/cells/<key>/`. A cell whose `metrics.json` says finished is never trained again; a cell
interrupted mid-run resumes from its backup. Processes (on one machine or several sharing
OUT) lock cells atomically (`mezoo.evidence.cell_locks`), so no cell is trained twice at once.

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

The study's parts, one module each: this one runs an invocation (`run_study`: check, lock, train,
write); `scaling_plan` its cells and plans; `scaling_cells` a finished cell's rows;
`scaling_kept` the cells of committed tables; `scaling_origins` who trained each cell;
`scaling_tables` the files written; `scaling_page` `scaling.md` and its figures.

Example:
>>> run_study("dcnv2_se_frappe", scales=[1, 2, 4, 10], seeds=3, out="study")  # doctest: +SKIP
"""

from pathlib import Path
from typing import Callable, Collection, Dict, List, Optional, Sequence

from mezoo import recipe as recipes
from mezoo.evidence import cell_locks
from mezoo.evidence.fraction_source import TrainingFractionSource
from mezoo.evidence.labels import LabelFinder
from mezoo.evidence.permuted_labels import PermutedTrainingLabels
from mezoo.evidence.scaling_cells import cell_record, finished_cells, is_finished
from mezoo.evidence.scaling_kept import kept_cells
from mezoo.evidence.scaling_plan import (
    CELLS_DIR,
    TRAIN_LABELS,
    Cell,
    StudyMismatchError,
    StudyPlanError,
    declare_plan,
    plan,
    plan_entry,
    read_study_json,
)
from mezoo.evidence.scaling_tables import write_study
from mezoo.evidence.variants import Variant
from mezoo.models import registry
from mezoo.training.data_sources import data_directory, open_source
from mezoo.training.run_directory import check_same_data, check_same_recipe
from mezoo.training.run_state import utc_now
from mezoo.training.trainer import train


class CellTraining:
    """What every cell of one invocation shares: the study's recipe, overrides and data, and the trainer.

    Args:
        recipe, overrides: the study's recipe and its `--set` overrides; each cell adds its own
            (`Cell.overrides`).
        out: the study directory.
        data: converted data directory (None: the recipe's).
        source: a trainer source to use instead of opening `data` (tests, notebooks).
        train_fn: the trainer (None: `mezoo.training.trainer.train`).
        permuted_labels: every cell trains on the training split with its labels permuted.
        verbose: 0 silent, 1 progress.
    """

    def __init__(self, recipe, overrides, out: Path, data, source, train_fn, permuted_labels: bool, verbose: int):
        self.recipe, self.overrides, self.out, self.data = recipe, overrides, out, data
        self.base = recipes.load(recipe, list(overrides))
        self.base_dim, self.base_seed = self.base.model.embedding_dim, self.base.train.seed
        self.has_shared = "shared_interaction" in registry.constructor_keys(self.base.model.name)
        self.source, self.permuted_labels, self.verbose = source, permuted_labels, verbose
        self.train_fn = train_fn or train
        self.opened: Dict[float, object] = {}

    def cell_overrides(self, cell: Cell) -> List[str]:
        return [*self.overrides, *cell.overrides(self.base_dim, self.base_seed, self.has_shared)]

    def source_for(self, fraction: float):
        """The training data of a cell at `fraction` (opened once per fraction; the whole opened once)."""
        if fraction not in self.opened:
            whole = self.source
            if whole is None:
                whole = self.opened.get(1.0) or open_source(self.base.data, self.data, verbose=self.verbose)
                self.opened[1.0] = whole
            part = whole if fraction == 1.0 else TrainingFractionSource(whole, fraction)
            if self.permuted_labels:
                part = PermutedTrainingLabels(part, seed=0)
            self.opened[fraction] = part
        return self.opened[fraction]

    def check_belongs(self, cell: Cell) -> None:
        """A cell already in OUT must be this study's: the same resolved recipe and data."""
        run_dir = self.out / CELLS_DIR / cell.key
        if not (run_dir / "recipe.yaml").exists():
            return
        try:
            check_same_recipe(run_dir, recipes.load(self.recipe, self.cell_overrides(cell)))
            if self.train_fn is train or self.source is not None:
                check_same_data(run_dir, self.source_for(cell.fraction))
        except recipes.RecipeChangedError as error:
            raise StudyMismatchError(
                f"{self.out} holds cells of another study (recipe, --set or --data differ), which would be reported as "
                f"this one's: {error}. Give this study its own --out"
            ) from None

    def train(self, cell: Cell, label: str) -> None:
        """Trains (or resumes) the cell in its run directory; prints its test AUC when it finished."""
        run_dir = self.out / CELLS_DIR / cell.key
        if self.verbose:
            print(f"{label}: training in {run_dir}", flush=True)
        self.train_fn(
            self.recipe,
            self.cell_overrides(cell),
            data=self.data,
            run_dir=run_dir,
            source=self.source_for(cell.fraction),
            verbose=self.verbose,
        )
        if is_finished(run_dir):
            record = cell_record(cell, run_dir)
            if self.verbose:
                print(f"{label}: test AUC {record['test_auc']:.5f}, {record['params']:,} parameters", flush=True)


def _data_dirs(training: CellTraining) -> List[Path]:
    """Where the study's test labels may be: its data directory and the data its cells recorded."""
    notes = read_study_json(training.out).get("data") or []
    dirs = [data_directory(training.base.data, training.data)] + [Path(n) for n in notes if isinstance(n, str)]
    return [d for d in dirs if d.is_dir()]


def check_plan(training: CellTraining, scales: Sequence[int], seeds: int, ablations: bool) -> None:
    """A plan the study's model can train: ME-SI needs a shared interaction; scales and seeds >= 1."""
    if ablations and not training.has_shared:
        raise StudyPlanError(
            f"--ablations trains ME-SI (shared_interaction=True), which model "
            f"{training.base.model.name!r} does not have; models with it: dcnv2"
        )
    if not scales or min(scales) < 1 or seeds < 1:
        raise StudyPlanError(f"scales must be >= 1 and seeds >= 1, got scales {list(scales)}, seeds {seeds}")


def check_train_labels(out: Path, permuted_labels: bool) -> str:
    """The training labels this invocation asks for, which must be those the study in OUT trained on."""
    labels_now = TRAIN_LABELS[bool(permuted_labels)]
    previous = read_study_json(out)  # a study without the key predates the null: true labels
    labels_before = previous.get("train_labels", TRAIN_LABELS[False]) if previous else labels_now
    if labels_before != labels_now:
        raise StudyMismatchError(
            f"{out} holds a study trained on {labels_before} training labels, this command asks for {labels_now} "
            "ones (--permute_train_labels): give this study its own --out"
        )
    return labels_now


def train_cells(
    training: CellTraining,
    cells: Sequence[Cell],
    kept: Collection[str],
    max_cells: Optional[int],
    stale_after_s: float,
) -> Dict[str, List[str]]:
    """Trains, in plan order, every cell that is not finished, kept or locked by another process, up to
    `max_cells`; returns the keys by outcome (`trained`, `skipped_finished`, `held_elsewhere`, `kept`)."""
    out, verbose = training.out, training.verbose
    report: Dict[str, List[str]] = {"trained": [], "skipped_finished": [], "held_elsewhere": [], "kept": []}
    for number, cell in enumerate(cells, start=1):
        if cell.variant == Variant.ENS:
            continue  # assembled from its members when the tables are written, never trained
        run_dir = out / CELLS_DIR / cell.key
        label = f"[{number}/{len(cells)}] {cell.key}"
        if is_finished(run_dir):
            report["skipped_finished"].append(cell.key)
            continue
        if cell.key in kept:
            report["kept"].append(cell.key)
            continue
        if max_cells is not None and len(report["trained"]) >= max_cells:
            break
        lock = cell_locks.try_lock(out / cell_locks.LOCKS_DIR, cell.key, stale_after_s)
        if lock is None:
            owner = cell_locks.holder(out / cell_locks.LOCKS_DIR, cell.key) or {}
            report["held_elsewhere"].append(cell.key)
            if verbose:
                print(f"{label}: held by {owner.get('host')} pid {owner.get('pid')}; skipping", flush=True)
            continue
        with lock:
            if is_finished(run_dir):  # finished by the previous holder between our checks
                report["skipped_finished"].append(cell.key)
                continue
            training.train(cell, label)
            report["trained"].append(cell.key)
    return report


def print_summary(out: Path, summary: Dict, ensembles: bool) -> None:
    """What a study run says at its end: its ENS cells, then the cells finished and the files written."""
    if ensembles or summary["ensembles"]["assembled"]:
        built, waiting = summary["ensembles"], summary["ensembles"]["waiting"]
        print(
            f"ENS cells: {len(built['assembled'])} assembled ({len(built['new'])} now), {len(waiting)} waiting"
            + "".join(f"\n  {key}: {why}" for key, why in waiting.items()),
            flush=True,
        )
    print(
        f"{len(summary['records'])} of {summary['planned']} planned cells finished; wrote {out / 'scaling.csv'}, "
        f"{out / 'scaling.md'}, {out / 'auc_vs_scale.png'}, {out / 'ia_vs_scale.png'}",
        flush=True,
    )


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
    stale_after_s: float = cell_locks.DEFAULT_STALE_AFTER_S,
    argv: Optional[Sequence[str]] = None,
    verbose: int = 1,
    permuted_labels: bool = False,
    ensembles: bool = False,
    label_finder=None,
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
        stale_after_s: a lock without a heartbeat for this long is taken over.
        argv: the command's arguments for the provenance (default `sys.argv[1:]`).
        verbose: 0 silent, 1 progress.
        permuted_labels: train every cell on the training split with its labels permuted
            (`PermutedTrainingLabels`, seed 0): the null study whose claims must come out not shown.
        ensembles: add an ENS cell per scale above 1 and seed, and the SE 1x cells that are its members
            (`scaling_ensembles`); ENS cells are assembled when the tables are written.
        label_finder: finds the test labels ENS cells are scored on (`.find(digest, rows)`; default a
            `LabelFinder` over `data` and the study's data).

    Returns:
        `{"trained": [keys], "skipped_finished": [...], "held_elsewhere": [...], "kept": [cells of the
        committed tables whose run directories are gone], "records": [...]}`.
    """
    out = Path(out)
    (out / CELLS_DIR).mkdir(parents=True, exist_ok=True)
    training = CellTraining(recipe, overrides, out, data, source, train_fn, permuted_labels, verbose)
    check_plan(training, scales, seeds, ablations)
    cells = plan(scales, seeds, ablations, fractions, ensembles)
    labels_now = check_train_labels(out, permuted_labels)
    for cell in cells:
        training.check_belongs(cell)
    kept = set(kept_cells(out, [c.key for c in finished_cells(out)], training.base, overrides)["records"])
    declared = {**plan_entry(scales, seeds, ablations, fractions, ensembles), "declared_at": utc_now()}
    declare_plan(out, declared, recipe, overrides, labels_now)  # the seeds and cells asked for, before any result
    report = train_cells(training, cells, kept, max_cells, stale_after_s)
    summary = write_study(
        out,
        recipe,
        training.base,
        cells,
        scales,
        seeds,
        ablations,
        fractions,
        argv,
        overrides,
        train_labels=labels_now,
        declared_at=declared["declared_at"],
        ensembles=ensembles,
        finder=label_finder or LabelFinder(_data_dirs(training)),
    )
    if verbose:
        print_summary(out, summary, ensembles)
    return {**report, "records": summary["records"], "pending": summary["pending"]}
