"""Where a scaling study's cells came from: who trained each with what (`cell_provenance`: commit,
training revision, start and end, machine, versions), by which command on which data
(`cell_origin`), summed over the study (`origins_summary`), and the data set a figure names
(`data_label`).

A study is usually trained by several invocations (`--max_cells`, several machines): the page
names every command with its number of cells, and each row of `scaling.csv` keeps its own
commit, date and machine.
"""

import datetime
import json
import shlex
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from mezoo.evidence.scaling_plan import CELLS_DIR, Cell


def cell_provenance(run_dir: Path) -> Dict:
    """Who trained a cell with what: commit, training revision, start and end, machine (with its CPU
    model), versions (run.json and metrics.json).

    The start and end are the run's own (UTC ISO times in metrics.json); a run trained before they
    were recorded has no start and, as its end, metrics.json's modification time (`... UTC`).
    """
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


def cell_origin(run_dir: Path) -> Dict[str, Optional[str]]:
    """`{"command", "data"}` of a finished cell, from its run.json and metrics.json."""
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


def origins_summary(cells: Dict[str, Dict], legacy: Optional[Dict]) -> Tuple[Dict[str, int], List[str]]:
    """`(commands, data notes)` over every cell's origin; cells of legacy tables count as their study's whole."""
    commands: Dict[str, int] = dict(legacy["commands"]) if legacy else {}
    notes: List[str] = list(legacy["data"]) if legacy else []
    for origin in cells.values():
        if origin.get("command"):
            commands[origin["command"]] = commands.get(origin["command"], 0) + 1
        if origin.get("data") and origin["data"] not in notes:
            notes.append(origin["data"])
    return commands, notes


def data_label(out: Path, records, kept: Optional[str] = None) -> str:
    """What the cells trained on, for a figure's title: the spec's data set, and SYNTHETIC where it was.

    `kept`: the label `study.json` recorded for cells whose run directories are gone.
    """
    if kept:
        kept = kept.replace(" (a SYNTHETIC sample)", "")
    names = {kept} if kept and kept != "unknown data" else set()
    for record in records:
        spec = out / CELLS_DIR / Cell.of_record(record).key / "feature_spec.json"
        try:
            names.add(json.loads(spec.read_text()).get("dataset") or "?")
        except (OSError, ValueError):
            continue
    label = ", ".join(sorted(names)) or "unknown data"
    return f"{label} (a SYNTHETIC sample)" if any(r.get("synthetic") for r in records) else label
