"""The cells a study keeps from its committed tables: rows of `scaling.csv` whose run directories are gone.

Weights are not committed, so on a new machine a study's run directories are gone while its
tables remain. Such a cell is *kept*: its row, its per-epoch abundance and its kept test
predictions stay in the tables as they were written (text as read, never reformatted), and it is
not trained again. Cells trained now join them only if the study's recipe and overrides are those
`study.json` recorded (`StudyMismatchError` otherwise).
"""

import csv
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from mezoo import recipe as recipes
from mezoo.evidence.scaling_cells import CSV_COLUMNS, RECORD_VERSION
from mezoo.evidence.scaling_plan import Cell, StudyMismatchError, read_study_json
from mezoo.training.run_directory import RESUME_MAY_CHANGE

INT_COLUMNS = frozenset(("scale", "seed", "num_sets", "embedding_dim", "width", "best_epoch", "params", "test_rows"))
TEXT_COLUMNS = frozenset(
    ("variant", "predictions", "labels_sha256", "git_commit", "started_at", "finished_at", "machine")
    + ("tensorflow", "keras", "run_dir")
)
# A kept cell's `scaling.csv` row as the file had it (column -> text): written back unchanged, so a
# rewrite never reformats numbers it did not compute.
AS_WRITTEN = "as_written"


def _typed(column: str, value: Optional[str]):
    """A `scaling.csv` field as `cell_record` wrote it: empty is None, numbers are numbers."""
    if value in (None, ""):
        return None
    if column in TEXT_COLUMNS:
        return value
    if column in INT_COLUMNS or column == "training_revision":
        return int(float(value))
    return float(value)


def _kept_rows(out: Path, finished: Sequence[str], synthetic: bool) -> Dict[str, Dict]:
    """The rows of OUT's `scaling.csv` whose cells are not among `finished`, by cell key, typed and as written."""
    with open(out / "scaling.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    records = {}
    for row in rows:
        record = {column: _typed(column, row.get(column)) for column in CSV_COLUMNS}
        cell = Cell.of_record(record)
        if cell.key in finished:
            continue
        record[AS_WRITTEN] = {column: row.get(column) or "" for column in CSV_COLUMNS}
        if record["predictions"] and not (out / record["predictions"]).exists():
            record["predictions"] = record[AS_WRITTEN]["predictions"] = None
        record["synthetic"] = synthetic
        record["version"] = RECORD_VERSION
        records[cell.key] = record
    return records


def _check_same_study(out: Path, previous: Dict, base, overrides: Sequence[str]) -> None:
    """Kept tables join this study only if `study.json` recorded its overrides and (but for what a resume
    may change) its recipe."""
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


def kept_cells(out: Path, finished: Sequence[str], base, overrides: Sequence[str]) -> Dict[str, Any]:
    """The cells of OUT's committed tables whose run directories are gone: rows, epoch rows, origins.

    Returns `{"records": {key: record}, "epochs": {key: rows}, "cells": {key: {"command", "data"}},
    "legacy": the commands and data of tables written before per-cell origins, "label": the data set
    label or None}`; empty when nothing is kept. Raises `StudyMismatchError`
    when the study's recipe or overrides differ from those the tables were written with.
    """
    nothing: Dict[str, Any] = {"records": {}, "epochs": {}, "cells": {}, "legacy": None, "label": None}
    if not (out / "scaling.csv").exists():
        return nothing
    previous = read_study_json(out)
    records = _kept_rows(out, finished, bool(previous.get("synthetic")))
    if not records:
        return nothing
    _check_same_study(out, previous, base, overrides)
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
