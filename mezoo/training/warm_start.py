"""Warm start (`train.warm_start`): a run that starts from an earlier run's weights, on data whose
vocabularies grew from that run's (a conversion made with `--vocabulary_from`).

`WarmStart.open(path, model, source)` finds the parent run (a run directory, or the export version
`<run>/export/<N>` of one), checks that the new model descends from it and loads it;
`apply(model)` then copies the weights:

- every row of a gathered table (`MultiEmbedding`, `FirstOrderTerm`, found by their layers) that
  the parent had goes to the same id of the same field; the appended rows keep what the new
  model's own initializer drew (a fresh table's values); a sharded table's padding stays zero;
- every other weight is copied as it is;
- the optimizer starts afresh (`OPTIMIZER_SLOTS`): Adam's moments are zero and its step 0, so the
  appended rows' moments are zero as well (docs/training.md says why, measured).

A model that does not descend from the parent (another family, width, number of sets, fields,
layer sizes, or a vocabulary that is not the parent's with values appended) is refused with one
line naming what differs.
"""

import dataclasses
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import keras
import numpy as np

from mezoo.data.feature_spec import SPEC_NAME, FeatureSpec, read_vocabulary
from mezoo.data.vocabulary_lineage import FRESH_GENERATION, generation, vocabularies_digest
from mezoo.errors import BadInput
from mezoo.layers.first_order_term import FirstOrderTerm
from mezoo.layers.multi_embedding import MultiEmbedding
from mezoo.run_layout import RunDirectory

EXPORT_META = "mezoo_export.json"  # what `mezoo.serving.export` writes into a version's assets.extra
# "reset": the optimizer starts afresh; "carry": Adam's moments (and step) of the parent's rows and
# weights carried over, the appended rows' at zero. Measured in docs/training.md: reset.
OPTIMIZER_SLOTS = "reset"
# constructor settings that change no weight's shape: a difference in them is no reason to refuse
_SHAPELESS = {"dropout", "l2_regularization", "embedding_l2_regularization", "sparse_embedding_l2", "name"}


class WarmStartError(BadInput, ValueError):
    """A `train.warm_start` that can't be: no such run, an unfinished one, a model that isn't its descendant."""


def find_parent_run(given: str) -> Tuple[Path, Optional[Path]]:
    """(the parent run directory, the export base when `given` is an export version of it)."""
    path = Path(given).expanduser().resolve()
    where = f"train.warm_start={given}"
    if not path.exists():
        raise WarmStartError(f"{where}: no such run directory or export version")
    if (path / "assets.extra" / EXPORT_META).is_file():  # an export version `<run>/export/<N>`
        run = path.parent.parent
        if RunDirectory(run).model.is_file() and path.parent.name == RunDirectory(run).export.name:
            return run, path.parent
        raise WarmStartError(
            f"{where} is an export version whose run directory is not the folder above its export base "
            "(<run>/export/<version>): pass the run directory it was exported from"
        )
    if RunDirectory(path).model.is_file():
        return path, None
    if RunDirectory(path).run_json.is_file():
        raise WarmStartError(
            f"{where}: the run has not finished (no {RunDirectory(path).model.name}): train it to the end first"
        )
    raise WarmStartError(f"{where}: not a mezoo.train run directory (no model.keras) nor an export version of one")


def vocabularies_sha256(spec_dir: Path) -> Optional[str]:
    """The digest of a run's (or a conversion's) vocabularies, as a conversion's spec records its parent's."""
    spec_dir = Path(spec_dir)
    if not (spec_dir / SPEC_NAME).is_file():
        return None
    return vocabularies_digest(str(spec_dir))


def row_table_layers(model: keras.Model) -> List[keras.layers.Layer]:
    """The layers holding a table of one row per id (embeddings, first-order weights), in model order."""
    found: List[keras.layers.Layer] = []

    def visit(layer: Any) -> None:
        if isinstance(layer, (MultiEmbedding, FirstOrderTerm)):
            found.append(layer)
            return
        for sub in getattr(layer, "layers", []) or []:
            visit(sub)

    for layer in model.layers:
        visit(layer)
    return found


def table_variable(layer: keras.layers.Layer) -> Any:
    return layer.embeddings if isinstance(layer, MultiEmbedding) else layer.table


def _row_offsets(vocab_sizes: Sequence[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(vocab_sizes)]).astype("int64")


@dataclasses.dataclass
class WarmStart:
    """The parent run a new run starts from (`open`), and what run.json records of it (`record`)."""

    given: str
    run_dir: Path
    export_base: Optional[Path]
    parent: keras.Model
    run_json: Dict[str, Any]

    @classmethod
    def open(cls, given: str, model: keras.Model, source: Any) -> "WarmStart":
        """The parent run of `given`, checked to be an ancestor of `model` on `source`'s data."""
        run_dir, export_base = find_parent_run(given)
        from mezoo.saved_models import load_keras_file

        distribution = keras.distribution.distribution()
        keras.distribution.set_distribution(None)  # the parent as saved (unpadded), whatever the new run's placement
        try:
            parent = load_keras_file(RunDirectory(run_dir).model, compile=OPTIMIZER_SLOTS == "carry")
        finally:
            keras.distribution.set_distribution(distribution)
        try:
            run_json = json.loads(RunDirectory(run_dir).run_json.read_text())
        except (OSError, ValueError):
            run_json = {}
        found = cls(given, run_dir, export_base, parent, run_json)
        found.check_descends(model, source)
        return found

    @property
    def where(self) -> str:
        return f"train.warm_start={self.given}"

    def check_descends(self, model: keras.Model, source: Any) -> None:
        """Refuses `model` (on `source`) unless it is the parent's model on grown vocabularies."""
        parent, where = self.parent, self.where
        if type(parent) is not type(model):
            raise WarmStartError(f"{where}: the parent is a {type(parent).__name__}, this run a {type(model).__name__}")
        for name in ("num_embedding_sets", "embedding_dim"):
            old, new = getattr(parent, name, None), getattr(model, name, None)
            if old != new:
                raise WarmStartError(f"{where}: model.{name} is {old} in the parent, {new} here")
        old_fields, new_fields = [list(f) for f in parent.fields], [list(f) for f in model.fields]
        if [f[0] for f in old_fields] != [f[0] for f in new_fields]:
            raise WarmStartError(
                f"{where}: the categorical fields differ (parent {[f[0] for f in old_fields]}, "
                f"here {[f[0] for f in new_fields]})"
            )
        for old, new in zip(old_fields, new_fields):
            if old[2:] != new[2:]:
                raise WarmStartError(f"{where}: field {old[0]!r} is {old[1:]} in the parent, {new[1:]} here")
            if new[1] < old[1]:
                raise WarmStartError(
                    f"{where}: field {old[0]!r} has {new[1]} ids here, fewer than the parent's {old[1]}: this data's "
                    "vocabularies don't descend from the parent's (convert it with --vocabulary_from)"
                )
        if list(parent.numeric_fields) != list(model.numeric_fields):
            raise WarmStartError(
                f"{where}: the numeric fields differ "
                f"(parent {list(parent.numeric_fields)}, here {list(model.numeric_fields)})"
            )
        self._check_vocabularies(source)
        self._check_weights(model)

    def _check_vocabularies(self, source: Any) -> None:
        """Each of the parent's vocabularies is the start of this data's, line for line."""
        parent_spec_path = RunDirectory(self.run_dir).spec
        spec = getattr(source, "spec", None)
        if spec is None or not parent_spec_path.is_file():
            return  # data without vocabularies (in-memory arrays): the id counts checked above are all there is
        parent_spec = FeatureSpec.load(str(parent_spec_path))
        for field in parent_spec.fields:
            if "vocabulary" not in field:
                continue
            name = field["name"]
            try:
                mine = spec.field(name)
            except (KeyError, ValueError):
                raise WarmStartError(f"{self.where}: field {name!r} of the parent is not in this data") from None
            if "vocabulary" not in mine:
                raise WarmStartError(f"{self.where}: field {name!r} has a vocabulary in the parent, none here")
            old = read_vocabulary(parent_spec.resolve(field["vocabulary"]))
            new = read_vocabulary(spec.resolve(mine["vocabulary"]))
            if new[: len(old)] != old:
                line = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
                raise WarmStartError(
                    f"{self.where}: field {name!r}'s vocabulary is not the parent's with values appended "
                    f"(line {line + 1} differs): convert this data with --vocabulary_from <the parent's data>"
                )

    def _check_weights(self, model: keras.Model) -> None:
        old_layers, new_layers = row_table_layers(self.parent), row_table_layers(model)
        differs = None
        if len(old_layers) != len(new_layers) or len(self.parent.weights) != len(model.weights):
            differs = "its layers"
        else:
            tables = {id(table_variable(layer)) for layer in new_layers}
            for old, new in zip(self.parent.weights, model.weights):
                if id(new) not in tables and tuple(old.shape) != tuple(new.shape):
                    differs = f"weight {new.path} ({tuple(old.shape)} in the parent, {tuple(new.shape)} here)"
                    break
        if differs:
            old_config, new_config = self.parent.get_config(), model.get_config()
            settings = [
                f"model.{key}: {old_config.get(key)!r} in the parent, {new_config.get(key)!r} here"
                for key in sorted(set(old_config) | set(new_config))
                if key not in _SHAPELESS | {"fields"} and old_config.get(key) != new_config.get(key)
            ]
            raise WarmStartError(
                f"{self.where}: the model differs from the parent's in {differs}; {'; '.join(settings)}"
            )

    # ---- copying

    def apply(self, model: keras.Model) -> None:
        """The parent's weights into `model` (built and compiled), id for id; its optimizer per `OPTIMIZER_SLOTS`."""
        tables = {}
        for old_layer, new_layer in zip(row_table_layers(self.parent), row_table_layers(model)):
            tables[id(table_variable(new_layer))] = (old_layer.vocab_sizes, new_layer.vocab_sizes)
        pairs = list(zip(self.parent.weights, model.weights))
        for old, new in pairs:
            value = keras.ops.convert_to_numpy(old)
            if id(new) in tables:
                value = grown_rows(value, keras.ops.convert_to_numpy(new), *tables[id(new)])
            new.assign(value.astype(keras.ops.convert_to_numpy(new).dtype, copy=False))
        if OPTIMIZER_SLOTS == "carry":
            self._carry_slots(model, pairs, tables)

    def _carry_slots(self, model: keras.Model, pairs, tables) -> None:
        old_opt, new_opt = self.parent.optimizer, model.optimizer
        if old_opt is None or not old_opt.built:
            return
        if not new_opt.built:
            new_opt.build(model.trainable_variables)
        trainable = {id(v) for v in model.trainable_variables}
        for old, new in pairs:
            if id(new) not in trainable:
                continue
            i, j = old_opt._get_variable_index(old), new_opt._get_variable_index(new)
            for old_slots, new_slots in (
                (old_opt._momentums, new_opt._momentums),
                (old_opt._velocities, new_opt._velocities),
            ):
                value = keras.ops.convert_to_numpy(old_slots[i])
                if id(new) in tables:
                    value = grown_rows(value, np.zeros_like(keras.ops.convert_to_numpy(new_slots[j])), *tables[id(new)])
                new_slots[j].assign(value)
        new_opt.iterations.assign(keras.ops.convert_to_numpy(old_opt.iterations))

    def record(self, model_generation: int) -> Dict[str, Any]:
        """What the new run's run.json says of its parent (`warm_start`)."""
        return {
            "path": str(self.run_dir),
            "given": self.given,
            "git_commit": self.run_json.get("git_commit"),
            "started_at": self.run_json.get("started_at"),
            "vocabularies_sha256": vocabularies_sha256(self.run_dir),
            "generation": model_generation,
            "export_base": str(self.export_base_for_child()),
            "optimizer_slots": OPTIMIZER_SLOTS,
        }

    def parent_generation(self) -> int:
        """The parent's generation: its run.json's, else its data's spec's, else 1."""
        recorded = (self.run_json.get("warm_start") or {}).get("generation")
        if recorded:
            return int(recorded)
        return spec_generation(RunDirectory(self.run_dir).spec)

    def export_base_for_child(self) -> Path:
        """Where the new run's exports go: the parent's export base (the one it was given as, the
        one the parent itself exported to as a warm-started run, else `<parent>/export`)."""
        if self.export_base is not None:
            return self.export_base
        recorded = (self.run_json.get("warm_start") or {}).get("export_base")
        return Path(recorded) if recorded else RunDirectory(self.run_dir).export


def spec_generation(spec_path: Path) -> int:
    """A feature_spec.json's `generation` (1 when absent or there is no spec)."""
    try:
        return generation(json.loads(Path(spec_path).read_text()))
    except (OSError, ValueError):
        return FRESH_GENERATION


def grown_rows(old: np.ndarray, fresh: np.ndarray, old_sizes: Sequence[int], new_sizes: Sequence[int]) -> np.ndarray:
    """`fresh` (the new table: its appended rows and padding as drawn) with each field's first
    `old_sizes[f]` rows replaced by the parent's rows of that field, id for id."""
    out = np.array(fresh, copy=True)
    old_offsets, new_offsets = _row_offsets(old_sizes), _row_offsets(new_sizes)
    for f, rows in enumerate(old_sizes):
        out[new_offsets[f] : new_offsets[f] + rows] = old[old_offsets[f] : old_offsets[f] + rows]
    return out
