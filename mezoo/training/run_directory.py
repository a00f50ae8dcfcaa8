"""What a run directory holds besides the backup: its name, run.json, metrics.json, and the resume checks.

A run directory (`runs/<recipe>[-<digest>]` by default) holds `recipe.yaml` (the resolved
recipe), `run.json` (`run_metadata`), `feature_spec.json` with `vocab/`, `metrics.json`
(`write_metrics`), `abundance.csv`, `tensorboard/`, `backup/` (`mezoo.training.run_state`),
`best.weights.h5`, and at the end `model.keras` (and `export/`). A resume must use the same
recipe (`check_same_recipe`) and data (`check_same_data`).
"""

import csv
import hashlib
import io
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Iterable, List, Optional, Union

from mezoo import recipe as recipes
from mezoo.atomic import atomic_write
from mezoo.run_layout import RunDirectory
from mezoo.training.data_source import DataSource
from mezoo.training.revision import TRAINING_REVISION
from mezoo.training.run_state import RunState, utc_now

# recipe keys a resume may change: they steer the rest of the run, not what was trained so far
RESUME_MAY_CHANGE = ("train.epochs",)


def default_run_dir(recipe, overrides: Optional[Iterable[str]], data) -> Path:
    """`runs/<recipe>` plus a digest of the overrides and data, so a rerun finds its run."""
    stem = Path(str(recipe)).stem
    extra = sorted(overrides or ()) + ([f"data={Path(data).resolve()}"] if data else [])
    if not extra:
        return Path("runs") / stem
    return Path("runs") / f"{stem}-{hashlib.sha1(json.dumps(extra).encode()).hexdigest()[:8]}"


def run_metadata(recipe, overrides, data, seed) -> dict:
    """run.json: the command, the recipe and data (absolute paths), the seed, the commit, versions and devices."""
    import keras
    import tensorflow as tf

    def version(module):
        try:
            return __import__(module).__version__
        except Exception:  # a missing optional package is just "absent"
            return None

    package_dir = package_directory()
    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=package_dir, capture_output=True, text=True, timeout=10
            ).stdout.strip()
            or None
        )
    except OSError:
        commit = None

    recipe_file = Path(str(recipe)).expanduser()
    return {
        "command": [sys.executable, *sys.argv],
        "cwd": os.getcwd(),
        # absolute, so that `mezoo.evaluate --run_dir` finds them from any directory
        "recipe": str(recipe_file.resolve()) if recipe_file.is_file() else str(recipe),
        "overrides": list(overrides or ()),
        "data": str(Path(data).expanduser().resolve()) if data else None,
        "seed": seed,
        "git_commit": commit,
        "training_revision": TRAINING_REVISION,
        "machine": {
            "host": platform.node(),
            "cpu_model": cpu_model(),
            "processor": platform.machine(),
            "cpus": os.cpu_count(),
        },
        "versions": {m: version(m) for m in ("mezoo", "keras", "tensorflow", "numpy")}
        | {"python": platform.python_version()},
        "devices": [d.name for d in tf.config.list_logical_devices()],
        "keras_backend": keras.backend.backend(),
    }


def cpu_model() -> str:
    """The CPU's model name (`model name` in /proc/cpuinfo), else `platform.processor()`, else the architecture."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_directory() -> Path:
    """The folder of the mezoo package this module belongs to.

    `mezoo.__file__` is None when a folder named `mezoo` without `__init__.py` (a clone of the
    repository, say) in the working directory shadows the package: `import mezoo` then finds
    a namespace package. This module's own file is always set.
    """
    own = Path(__file__).resolve().parent.parent
    found = sys.modules.get("mezoo")  # the package `import mezoo` found (this module's own import ran it)
    if found is not None and getattr(found, "__file__", None) is None:
        where = ", ".join(getattr(found, "__path__", []) or ["?"])
        print(
            f"warning: `import mezoo` found a folder without __init__.py ({where}), not the mezoo package; "
            f"a folder named mezoo in the working directory shadows it: run from another directory. "
            f"Using {own}",
            file=sys.stderr,
            flush=True,
        )
    return own


def check_same_recipe(run_dir: Path, resolved: Union[recipes.Recipe, dict]) -> None:
    """Refuses to resume (or report) a run directory started with another resolved recipe.

    Called before anything in the run directory changes: a resume with other settings would
    train with the stored ones (or fail deep in Keras) while recipe.yaml said otherwise. Only
    `RESUME_MAY_CHANGE` (the number of epochs: more, to train on) may differ.
    """
    stored_path = RunDirectory(run_dir).recipe
    if not stored_path.exists():
        return
    import yaml

    try:
        stored = yaml.safe_load(stored_path.read_text()) or {}
    except yaml.YAMLError as error:
        raise recipes.RecipeChangedError(f"{stored_path} is not valid YAML ({error}); delete {run_dir} to start over")
    changed = [d for d in recipes.differences(stored, resolved) if d.split(":")[0] not in RESUME_MAY_CHANGE]
    if changed:
        raise recipes.RecipeChangedError(
            f"{run_dir} holds a run started with another recipe; nothing was changed there. Differences "
            f"(stored -> now): {'; '.join(changed)}. Pass another --run_dir to start a new run, or the "
            f"stored settings to resume this one (or delete {run_dir} to start over)"
        )


def check_same_data(run_dir: Path, source: DataSource) -> None:
    """Refuses to resume a run directory on data with another feature spec (other fields or vocabularies)."""
    stored_path = RunDirectory(run_dir).spec
    now_json = source.spec_json()
    if not stored_path.exists() or now_json is None:
        return
    stored, now = json.loads(stored_path.read_text()), json.loads(now_json)
    if stored != now:
        keys = sorted(k for k in set(stored) | set(now) if stored.get(k) != now.get(k))
        raise recipes.RecipeChangedError(
            f"{run_dir} holds a run on data with another feature spec (differs in: {', '.join(keys)}); "
            f"nothing was changed there. Pass another --run_dir to start a new run on "
            f"{source.description}"
        )


class DataMismatchError(recipes.RecipeError):
    """Data whose spec or vocabularies are not those a run was trained on."""


def _field_shape(spec) -> tuple:
    fields = [(f["name"], f.get("kind"), f.get("source"), f.get("transform")) for f in spec.fields]
    return fields, spec.numeric_names, spec.label


def check_data_matches_run(run_dir: Path, source: DataSource) -> List[str]:
    """Refuses data other than the run's (other fields, or other vocabularies: every id would mean
    another value); returns warnings (a split with another seed or ratios may put training rows
    in the split scored). Data without a spec (in-memory sources) is not checked."""
    from mezoo.data.feature_spec import FeatureSpec

    stored_path = RunDirectory(run_dir).spec
    now = source.spec
    if now is None or not stored_path.exists():
        return []
    stored = FeatureSpec.load(str(stored_path))
    where = source.description
    if _field_shape(stored) != _field_shape(now):
        mine, theirs = _field_shape(stored), _field_shape(now)
        names = ", ".join(n for n, *_ in theirs[0][:6]) + (", ..." if len(theirs[0]) > 6 else "")
        raise DataMismatchError(
            f"the data's spec does not match the run's: {where} has fields {names} ({len(theirs[0])}), "
            f"{run_dir} was trained on {len(mine[0])} fields ({', '.join(n for n, *_ in mine[0][:6])}, ...)"
        )
    differ = []
    for ours, other in zip(stored.fields, now.fields):
        if int(ours["vocab_size"]) != int(other["vocab_size"]):
            differ.append(f"{ours['name']} ({ours['vocab_size']} ids in the run, {other['vocab_size']} in the data)")
        elif (
            "vocabulary" in ours
            and "vocabulary" in other
            and stored.vocabulary(ours["name"]) != now.vocabulary(other["name"])
        ):
            differ.append(f"{ours['name']} (other values)")
    if differ:
        raise DataMismatchError(
            f"{where} was converted with other vocabularies than {run_dir} was trained on, so its ids mean other "
            f"values: {'; '.join(differ[:5])}{'; ...' if len(differ) > 5 else ''}. Pass the data the run trained "
            "on, or a conversion with the same inputs and options"
        )
    split = ("seed", "split")
    if [stored.preprocessing.get(k) for k in split] != [now.preprocessing.get(k) for k in split]:
        return [
            f"warning: {where} was split with seed {now.preprocessing.get('seed')} and ratios "
            f"{now.preprocessing.get('split')}, the run's data with seed {stored.preprocessing.get('seed')} and "
            f"{stored.preprocessing.get('split')}: its splits may hold rows the run trained on"
        ]
    return []


def truncate_abundance_csv(path: Path, epoch: int, generation: int = 1) -> None:
    """Drops rows of epochs a resumed run will measure again (`epoch` epochs are done; rows count from 1);
    the rows of earlier generations (a warm start's parent's) stay."""
    if not path.exists():
        return
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    lines = path.read_text().splitlines(keepends=True)
    kept = lines[:1] + [
        line
        for line, row in zip(lines[1:], rows)
        if int(row.get("generation") or 1) != generation or int(row["epoch"]) <= epoch
    ]
    if len(kept) != len(lines):
        atomic_write(path, "".join(kept))


def continue_abundance_csv(parent: Path, path: Path) -> None:
    """A warm-started run's abundance.csv begins with its parent's rows (each with its generation, 1
    where the parent's file has none), so that one file follows a table across retrainings."""
    from mezoo.abundance.tracker import TRACKED_COLUMNS

    if not parent.exists():
        return
    with open(parent, newline="") as handle:
        rows = list(csv.DictReader(handle))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=TRACKED_COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows({**row, "generation": row.get("generation") or 1} for row in rows)
    atomic_write(path, out.getvalue())


def write_metrics(
    path: Optional[Path], state: RunState, source: DataSource, finished: bool, test=None, steps=None, seconds=None
) -> dict:
    """metrics.json's content (written to `path` unless None): the run's epochs, best epoch and test figures,
    and when it started and (once `finished`) ended."""
    if finished and state.finished_at is None:
        state.finished_at = utc_now()
    result = {
        "finished": finished,
        "synthetic": bool(source.synthetic),
        "data": source.description,
        "planted_auc": source.planted_auc,
        "best_val_auc": state.best_val_auc,
        "best_epoch": None if state.best_epoch is None else state.best_epoch + 1,  # 1-based, as on the console
        "steps": state.step if steps is None else steps,  # optimizer steps trained
        "test_auc": test["auc"] if test else None,
        "test_logloss": test["logloss"] if test else None,
        "epochs": state.epochs,
        "started_at": state.started_at,
        "finished_at": state.finished_at,
    }
    if seconds is not None:
        result["seconds"] = {key: round(value, 1) for key, value in seconds.items()}
    if path is not None:
        atomic_write(path, json.dumps(result, indent=1))
    return result
