"""A scaling study's files, from every finished and kept cell in OUT, whoever trained it.

`write_study` writes `scaling.csv` (one row per finished cell), `abundance_by_epoch.csv` (per
cell, epoch and field), `study.json` (the plans, `--set` overrides, pending cells, data, commands
and each cell's origin, for `mezoo.report`), copies each cell's kept test predictions into
`predictions/`, and writes `scaling.md` and its figures (`mezoo.evidence.scaling_page`).

Every process of a shared study rewrites these: each file is replaced whole (atomic rename), so
a reader never sees a half-written one.
"""

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from mezoo.atomic import atomic_open, atomic_write
from mezoo.evidence import provenance as prov
from mezoo.evidence import scaling_ensembles, scaling_page
from mezoo.evidence.scaling_cells import CSV_COLUMNS, EPOCH_COLUMNS, cell_record, epoch_rows, finished_cells
from mezoo.evidence.scaling_kept import AS_WRITTEN, kept_cells
from mezoo.evidence.scaling_origins import cell_origin, data_label, origins_summary
from mezoo.evidence.scaling_plan import (
    CELLS_DIR,
    STUDY_JSON,
    Cell,
    StudyMismatchError,
    added_later_note,
    cells_of_plan,
    merged_plans,
    plan_entry,
    read_study_json,
    study_order,
)
from mezoo.evidence.variants import Variant
from mezoo.training.predictions import PREDICTIONS_FILE
from mezoo.training.run_state import utc_now

# What a study command writes into OUT, besides `predictions/`.
STUDY_FILES = (
    "scaling.csv",
    "abundance_by_epoch.csv",
    STUDY_JSON,
    "scaling.md",
    "auc_vs_scale.png",
    "ia_vs_scale.png",
    scaling_ensembles.CHECKS_FILE,
)


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
    ensembles: bool = False,
    finder=None,
) -> Dict:
    """Every table, figure and copied prediction of the study, from every finished cell in OUT.

    A study directory may be trained by several invocations with different scales, seeds,
    fractions or `--ablations` (the cells must belong to one recipe, overrides and data:
    `run_study` checks): the tables cover every finished cell, and `study.json` keeps every
    invocation's plan in the order they were first declared, so the pending cells are those some
    plan asked for. `declared_at`: when this invocation's plan was declared (`run_study` declares
    it before training; default now). `ensembles`: this invocation's plan has ENS cells, assembled
    here from their members (`scaling_ensembles`) with the test labels `finder` finds.
    """
    plan_now = {
        **plan_entry(scales, seeds, ablations, fractions, ensembles),
        "declared_at": utc_now() if declared_at is None else declared_at,
    }
    plans = merged_plans(read_study_json(out).get("plans") or [], plan_now)
    planned = {c.key: c for p in plans for c in cells_of_plan(p)}
    planned.update({c.key: c for c in cells})
    done = {c.key: c for c in finished_cells(out)}
    kept = kept_cells(out, list(done), base, overrides)
    finished = {**{key: Cell.of_record(record) for key, record in kept["records"].items()}, **done}
    ordered = sorted({**planned, **finished}.values(), key=study_order)
    records, by_epoch, origins = _gather(out, ordered, done, kept)
    _check_same_test_rows(out, records)
    assembly = _assemble_ensembles(out, ordered, records, finder)
    records += assembly["records"]
    origins.update(assembly["origins"])
    present = {Cell.of_record(r).key for r in records}
    pending = [c.key for c in ordered if c.key not in present]
    _write_epoch_table(out, by_epoch)
    kept_checks = scaling_ensembles.read_checks(out)
    checks = [
        row
        for cell in ordered
        if cell.key in present
        for row in assembly["checks"].get(cell.key) or scaling_ensembles.cell_checks(out, cell, kept_checks)
    ]
    scaling_ensembles.write_checks(out, checks)
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
        waiting=assembly["waiting"],
    )
    ens = [Cell.of_record(r).key for r in records if r["variant"] == Variant.ENS]
    summary = {"assembled": ens, "new": list(assembly["checks"]), "waiting": assembly["waiting"]}
    return {"records": records, "pending": pending, "planned": len(ordered), "ensembles": summary}


def _assemble_ensembles(out: Path, ordered: Sequence[Cell], records: Sequence[Dict], finder) -> Dict:
    """The ENS cells among `ordered` not in the tables yet, assembled where their members allow
    (`scaling_ensembles.assemble`): their records, checks rows and origins, and why the others wait."""
    finished = {Cell.of_record(r).key: r for r in records}
    out_records: List[Dict] = []
    checks: Dict[str, List[Dict]] = {}
    origins: Dict[str, Dict] = {}
    waiting: Dict[str, str] = {}
    for cell in ordered:
        if cell.variant != Variant.ENS or cell.key in finished:
            continue
        record, rows, note = scaling_ensembles.assemble(out, cell, finished, finder)
        if record is None:
            waiting[cell.key] = note
            continue
        out_records.append(record)
        checks[cell.key] = rows
        origins[cell.key] = scaling_ensembles.ensemble_origin(cell)
    return {"records": out_records, "checks": checks, "origins": origins, "waiting": waiting}


def _gather(out: Path, ordered: Sequence[Cell], done: Dict[str, Cell], kept: Dict):
    """`(records, epoch rows, origins)` of the finished and kept cells among `ordered`, in its order; a
    finished cell's test predictions are copied into `predictions/` where the copy is older."""
    records: List[Dict] = []
    by_epoch: List[Dict] = []
    origins = dict(kept["cells"])
    (out / "predictions").mkdir(exist_ok=True)
    for cell in ordered:
        run_dir = out / CELLS_DIR / cell.key
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
    return records, by_epoch, origins


def _check_same_test_rows(out: Path, records: Sequence[Dict]) -> None:
    digests = {(r["labels_sha256"], r["test_rows"]) for r in records if r.get("labels_sha256")}
    if len(digests) > 1:
        raise StudyMismatchError(
            f"{out}: the cells were scored on different test rows (labels sha256 and rows: "
            f"{sorted(digests, key=str)}): the kept tables and the new cells come from other data. "
            "Give this study its own --out"
        )


def _compact(value):
    # Seven significant digits: far below any seed spread of IA, and the per-epoch table of a
    # study with a hundred cells stays a few hundred kB instead of several MB. Only the cells
    # trained here are floats; kept cells' rows are text, written back as read.
    return f"{value:.7g}" if isinstance(value, float) else value


def _write_epoch_table(out: Path, by_epoch: Sequence[Dict]) -> None:
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=EPOCH_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _compact(r.get(k)) for k in EPOCH_COLUMNS} for r in by_epoch)
    atomic_write(out / "abundance_by_epoch.csv", table.getvalue())


def _write_scaling_csv(out: Path, records: Sequence[Dict]) -> None:
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for record in sorted(records, key=lambda r: (r["fraction"], r["variant"], r["scale"], r["seed"])):
        writer.writerow(record.get(AS_WRITTEN) or {k: record.get(k) for k in CSV_COLUMNS})
    atomic_write(out / "scaling.csv", table.getvalue())


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
    waiting: Optional[Dict[str, str]] = None,
) -> None:
    """`scaling.csv`, `scaling.md`, `study.json` and the figures from the study's records.

    `waiting`: the ENS cells not assembled yet, with why (their members not finished, by name)."""
    _write_scaling_csv(out, records)
    # what this command rewrites does not count against the commit; anything else uncommitted in OUT does
    written = [*STUDY_FILES, "predictions"]
    info = prov.provenance("mezoo.scaling", None if argv is None else list(argv), out, [out / n for n in written])
    later = added_later_note(plans, [Cell.of_record(r).key for r in records])
    atomic_write(
        out / "scaling.md",
        scaling_page.markdown(
            records, pending, recipe, scales, seeds, fractions, info, notes, commands, later, waiting or {}
        ),
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
        **({"ensembles_waiting": dict(waiting)} if waiting else {}),
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
    atomic_write(out / STUDY_JSON, json.dumps(study, indent=1) + "\n")
    scaling_page.plot_auc(records, out / "auc_vs_scale.png", recipe, label)
    scaling_page.plot_ia(records, out / "ia_vs_scale.png", recipe, label)
