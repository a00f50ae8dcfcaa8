"""The typed sections of a resolved recipe: `DataConfig`, `ModelConfig`, `TrainConfig` in a `Recipe`.

The fields name every setting a recipe has and its type; their values, defaults included,
come from the YAML files only: `recipes/_base.yaml` holds every default (with the
comments that explain them) and every recipe resolves over it. So no default is written in
code, and a setting missing from `_base.yaml` is a bug the loader reports.

The `model` section is open-ended: besides the settings every zoo model takes (typed fields
here), a family's hyper-parameters are constructor arguments of the chosen model, kept in
`ModelConfig.hyperparameters` and type-checked against the value they replace.

Example:
    >>> from mezoo import recipe
    >>> r = recipe.load("dcnv2_me_criteo", ["train.epochs=3"])
    >>> r.model.name, r.model.num_embedding_sets, r.train.epochs, r.data.batch_size
    ('dcnv2', 10, 3, 2048)
"""

import dataclasses
import typing
from typing import Any, Dict, List, Optional, Union

from mezoo.errors import BadInput


class RecipeError(BadInput, ValueError):
    """A recipe that doesn't exist, doesn't parse, or an override that doesn't apply."""


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where and how a run reads its rows (`data:`; see `_base.yaml` for each setting's meaning)."""

    dataset: str
    location: Optional[str]
    batch_size: int
    shuffle_buffer: int
    synthetic_rows: int
    synthetic_max_cardinality: int
    synthetic_first_order: float
    synthetic_epochs: Optional[int]


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The zoo model and its constructor arguments (`model:`).

    Args:
        name: the registry key (`mezoo.models.get(name)`).
        num_embedding_sets, embedding_dim, dropout, l2_regularization: what every zoo model takes.
        hyperparameters: the family's further constructor arguments (`hidden_units`, `structure`, ...).
    """

    name: str
    num_embedding_sets: int
    embedding_dim: int
    dropout: float
    l2_regularization: float
    hyperparameters: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def arguments(self) -> Dict[str, Any]:
        """The model's constructor keyword arguments (every setting but `name`)."""
        return {key: value for key, value in self.to_dict().items() if key != "name"}

    def to_dict(self) -> Dict[str, Any]:
        """The section as a recipe file writes it: the typed settings, then the hyper-parameters."""
        typed = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "hyperparameters"}
        return {**typed, **self.hyperparameters}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Optimiser, schedule, stopping rules and run-time options (`train:`; see `_base.yaml`)."""

    mode: str
    learning_rate: float
    epochs: int
    early_stopping_patience: int
    reduce_lr_factor: Optional[float]
    reduce_lr_patience: Optional[int]
    min_learning_rate: Optional[float]
    seed: int
    steps_per_epoch: Optional[int]
    mixed_precision: Optional[str]
    backup_every_steps: Optional[int]
    jit_compile: Union[str, bool]
    loop: str
    distribution: str
    mesh: Optional[dict]
    export: bool
    warm_start: Optional[str]


SECTION_TYPES = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A resolved recipe: its three sections, typed. `to_dict()` is what a run directory's recipe.yaml holds."""

    data: DataConfig
    model: ModelConfig
    train: TrainConfig

    def to_dict(self) -> Dict[str, Dict[str, Any]]:
        return {
            "data": dataclasses.asdict(self.data),
            "model": self.model.to_dict(),
            "train": dataclasses.asdict(self.train),
        }


def field_types(section: str) -> Dict[str, Any]:
    """The typed settings of `section` and their types (`ModelConfig.hyperparameters` left out)."""
    hints = typing.get_type_hints(SECTION_TYPES[section])
    return {name: hint for name, hint in hints.items() if name != "hyperparameters"}


def type_name(value) -> str:
    return {
        bool: "true/false",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


_HINT_NAMES = {bool: "true/false", int: "an integer", float: "a number", str: "a string", dict: "a mapping"}


def _hint_name(hint) -> str:
    options = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    return " or ".join(_HINT_NAMES.get(a, getattr(a, "__name__", str(a))) for a in options) + (
        " or null" if type(None) in typing.get_args(hint) else ""
    )


def _hint_text(hint) -> str:
    return str(hint).replace("typing.", "") if typing.get_args(hint) else hint.__name__


def _fits(kind, value) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, kind)


# counts that can't be 0: nothing would be trained, batched or embedded
AT_LEAST_ONE = {
    ("data", "batch_size"),
    ("model", "num_embedding_sets"),
    ("model", "embedding_dim"),
    ("train", "epochs"),
}


def check_field(where: str, section: str, key: str, value):
    """`value` for the typed setting `section.key`, refused (naming the field's type) if it doesn't fit,
    or if it is a count below 1 (`AT_LEAST_ONE`).

    YAML 1.1 reads `1e-4` (no dot) as a string: where a number is expected, such a string is
    read as the number. An integer is a number too, and is kept as written.
    """
    hint = field_types(section)[key]
    options = typing.get_args(hint) or (hint,)
    if value is None and type(None) in options:
        return value
    if float in options and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if not any(_fits(kind, value) for kind in options if kind is not type(None)):
        raise RecipeError(
            f"{where}: {value!r} is {type_name(value)}; this key takes {_hint_name(hint)} "
            f"({section}.{key}: {_hint_text(hint)})"
        )
    if value is not None and (section, key) in AT_LEAST_ONE and value < 1:
        raise RecipeError(f"{where}: {section}.{key} must be >= 1, got {value!r}")
    return value


def check_like(where: str, old, new):
    """`new`, refused in place of `old` when their types differ (for the model's open-ended hyper-parameters).

    Ints are numbers too; null on either side is accepted; where a number is expected a string
    that reads as one is that number.
    """
    if old is None or new is None:
        return new
    if isinstance(old, float) and isinstance(new, str):
        try:
            new = float(new)
        except ValueError:
            pass
    if isinstance(old, str):
        ok = isinstance(new, (str, bool))
    elif isinstance(old, bool) or isinstance(new, bool):
        ok = isinstance(old, bool) and isinstance(new, bool)
    elif isinstance(old, float):
        ok = isinstance(new, (int, float))
    elif isinstance(old, int):
        ok = isinstance(new, int)
    elif isinstance(old, (list, tuple)):
        ok = isinstance(new, (list, tuple))
    else:
        ok = isinstance(new, type(old))
    if not ok:
        raise RecipeError(f"{where}: {new!r} is {type_name(new)}; this key takes {type_name(old)} (e.g. {old!r})")
    return new


def check_setting(where: str, section: str, key: str, old, new):
    """`new` for `section.key`: checked against the field's type, or (model hyper-parameters) `old`'s."""
    if key in field_types(section):
        return check_field(where, section, key, new)
    if section != "model":
        raise RecipeError(
            f"{where}: unknown key {key!r} in {section}; known keys: {', '.join(sorted(field_types(section)))}"
        )
    return check_like(where, old, new)


def typed(resolved: Dict[str, Dict[str, Any]], where: str) -> Recipe:
    """The `Recipe` of a resolved dict of sections whose values are already checked."""
    sections: List[Any] = []
    for section, cls in SECTION_TYPES.items():
        values = dict(resolved[section])
        missing = [key for key in field_types(section) if key not in values]
        if missing:
            raise RecipeError(
                f"{where}: {section} lacks {', '.join(missing)} (every recipe resolves over "
                f"_base.yaml, which sets them all)"
            )
        if cls is ModelConfig:
            typed_values = {key: values.pop(key) for key in field_types(section)}
            sections.append(ModelConfig(**typed_values, hyperparameters=values))
        else:
            sections.append(cls(**values))
    return Recipe(*sections)
