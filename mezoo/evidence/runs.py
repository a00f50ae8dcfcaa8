"""A finished run directory of `mezoo.train`, read back without retraining."""

import csv
import dataclasses
import json
import shlex
from pathlib import Path
from typing import Dict, List, Optional

from mezoo import recipe as recipes
from mezoo.errors import BadInput
from mezoo.evidence.variants import Variant


class RunDirError(BadInput, ValueError):
    """A run directory that is missing, unfinished, or lacks a file `mezoo.analyze` needs."""


@dataclasses.dataclass
class FinishedRun:
    """What `mezoo.analyze` reads from one run directory.

    Attributes:
        path: the run directory.
        label: a short name for figures (the directory's name, made unique by the caller).
        recipe: the resolved recipe (`recipe.yaml`, typed: `mezoo.recipe.Recipe`).
        metrics: `metrics.json`.
        abundance_rows: `abundance.csv` as dicts (empty when the file is absent).
        model: the loaded `model.keras`, or None until `load_model` is called.

    Example:
    >>> run = read_run("runs/dcnv2_se_frappe")  # doctest: +SKIP
    >>> run.kind, run.total_width, run.load_model().multi_embedding.num_fields  # doctest: +SKIP
    ('SE', 10, 10)
    """

    path: Path
    label: str
    recipe: recipes.Recipe
    metrics: Dict
    abundance_rows: List[Dict]
    model: Optional[object] = None

    @property
    def model_name(self) -> str:
        return self.recipe.model.name

    @property
    def num_sets(self) -> int:
        return self.recipe.model.num_embedding_sets

    @property
    def embedding_dim(self) -> int:
        return self.recipe.model.embedding_dim

    @property
    def total_width(self) -> int:
        return self.num_sets * self.embedding_dim

    @property
    def kind(self) -> str:
        """`"SE"` for one embedding set, `"ME-SI"` for several sharing one interaction, else `"ME"`."""
        if self.num_sets == 1:
            return Variant.SE
        # an open-ended hyper-parameter: absent where the model's default (no sharing) applies
        return Variant.ME_SI if self.recipe.model.hyperparameters.get("shared_interaction") else Variant.ME

    @property
    def data_label(self) -> str:
        """The data set the run trained on, from its spec (`(SYNTHETIC)` for generated rows)."""
        try:
            name = json.loads((self.path / "feature_spec.json").read_text()).get("dataset") or "unknown data"
        except (OSError, ValueError):
            name = "unknown data"
        return f"{name} (SYNTHETIC)" if self.metrics.get("synthetic") else name

    @property
    def is_multi_embedding(self) -> bool:
        return self.num_sets > 1

    @property
    def train_command(self) -> Optional[str]:
        """The command that trained the run, from its `run.json` (None if absent)."""
        try:
            meta = json.loads((self.path / "run.json").read_text())
        except (OSError, ValueError):
            return None
        command = meta.get("command") or []
        if len(command) >= 2 and str(command[1]).endswith("mezoo/train.py"):
            return shlex.join(["python", "-m", "mezoo.train", *map(str, command[2:])])
        return shlex.join(map(str, command[1:])) if command else None

    def load_model(self):
        """Loads `model.keras` (once) and returns it."""
        if self.model is None:
            from mezoo.saved_models import load_keras_file

            self.model = load_keras_file(self.path / "model.keras", compile=False)
        return self.model


def _read_json(path: Path) -> Dict:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise RunDirError(f"{path}: not valid JSON ({error})") from None


def read_abundance_csv(path: Path) -> List[Dict]:
    """Rows of a run's `abundance.csv` with numbers parsed; `set` stays a string ("0", "concat").

    A warm-started run's file begins with its parents' rows (a `generation` column, whose epochs
    start again at 1 each generation): only the run's own generation, the highest, is returned.
    """
    if not path.exists():
        return []
    rows = []
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        expected = {"epoch", "field", "set", "ia", "ia_normalised", "erank"}
        if not expected <= set(reader.fieldnames or ()):
            raise RunDirError(
                f"{path}: header {reader.fieldnames} lacks {sorted(expected - set(reader.fieldnames or ()))}"
            )
        for line, row in enumerate(reader, start=2):
            try:
                parsed = {
                    **row,
                    "epoch": int(row["epoch"]),
                    "ia": float(row["ia"]),
                    "ia_normalised": float(row["ia_normalised"]),
                    "erank": float(row["erank"]),
                    "width": int(row["width"]),
                    "rows": int(row["rows"]),
                }
                # columns of runs that left out rows never looked up (absent in older runs' files)
                parsed["rows_total"] = int(row["rows_total"]) if row.get("rows_total") else parsed["rows"]
                parsed["generation"] = int(row["generation"]) if row.get("generation") else 1
                for key in ("ia_random", "ia_vs_random"):
                    parsed[key] = float(row[key]) if row.get(key) not in (None, "") else None
                rows.append(parsed)
            except (TypeError, ValueError) as error:
                raise RunDirError(f"{path}, line {line}: {error}") from None
    last = max((r["generation"] for r in rows), default=1)
    return [r for r in rows if r["generation"] == last]


def read_run(path, label: Optional[str] = None) -> FinishedRun:
    """Reads a finished run directory (recipe.yaml, metrics.json, abundance.csv; model.keras must exist).

    Raises:
        RunDirError: naming the directory and the missing or unfinished part.
    """
    path = Path(path)
    if not path.is_dir():
        raise RunDirError(f"{path}: not a directory")
    for name in ("recipe.yaml", "metrics.json", "model.keras"):
        if not (path / name).exists():
            hint = " (the run has not finished: train it to the end first)" if name == "model.keras" else ""
            raise RunDirError(f"{path}: no {name}{hint}")
    metrics = _read_json(path / "metrics.json")
    if not metrics.get("finished"):
        raise RunDirError(f"{path}: metrics.json says the run has not finished")
    try:
        recipe = recipes.load(path / "recipe.yaml")
    except recipes.RecipeError as error:
        raise RunDirError(f"{path / 'recipe.yaml'}: {error}") from None
    return FinishedRun(path, label or path.name, recipe, metrics, read_abundance_csv(path / "abundance.csv"))


def unique_labels(paths) -> List[str]:
    """Directory names, with the parent's name prepended where two runs share one."""
    paths = [Path(p).resolve() for p in paths]
    names = [p.name for p in paths]
    return [f"{p.parent.name}/{p.name}" if names.count(p.name) > 1 else p.name for p in paths]
