"""Recipes: YAML files of `data`, `model` and `train` settings, resolved with overrides.

A recipe names an installed file (`recipes/NAME.yaml`, installed as `mezoo.recipes`) or a path
to a YAML file. `extends: BASE` pulls in a base whose sections the recipe updates key by key:
BASE is an installed recipe's name (`extends: dcnv2_se_frappe`), else a `.yaml` file in the
recipe's folder or below it (a relative path; nothing outside that folder is read). Every
recipe resolves over `_base.yaml`, which sets every setting (the defaults live there only).
Overrides `section.key=value` are applied last; the value is read as YAML (`3`, `0.1`, `null`,
`[400, 400]`). Only the settings of `mezoo.recipe_schema` can be set, except in `model`, whose
further keys are constructor arguments of the chosen model. A value of the wrong type
(`train.epochs=abc`, `3.5` for an integer) is refused, in an override or in a recipe file,
naming the setting's type; a model hyper-parameter is checked against the value it replaces.
Files are read with `yaml.safe_load` only.

`load` returns a typed `Recipe` (`recipe.train.epochs`); `Recipe.to_dict()` and `dump` give
the plain form a run directory records in recipe.yaml.
"""

import importlib.resources
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Union

import yaml

from mezoo import strict_yaml
from mezoo.recipe_schema import (  # noqa: F401  (the typed sections are part of this module's API)
    DataConfig,
    ModelConfig,
    Recipe,
    RecipeError,
    TrainConfig,
    check_setting,
    field_types,
    typed,
)

RECIPES_DIR = Path(str(importlib.resources.files("mezoo.recipes")))  # the top-level recipes/, installed there
BASE_RECIPE = RECIPES_DIR / "_base.yaml"  # every setting's default; every recipe resolves over it
SECTIONS = ("data", "model", "train")
# Settings added after runs were recorded without them: absent from a stored recipe means this
# value (what those runs did), so such runs still resume and still count as the same study.
ADDED_LATER = {("train", "distribution"): "auto", ("train", "mesh"): None, ("train", "warm_start"): None}


def names() -> List[str]:
    """Installed recipes (base files, whose names start with `_`, excluded), sorted."""
    return sorted(p.stem for p in RECIPES_DIR.glob("*.yaml") if not p.name.startswith("_"))


def recipe_path(recipe: Union[str, Path]) -> Path:
    """The file of an installed recipe name or of a path to a YAML file."""
    path = Path(recipe).expanduser()
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise RecipeError(f"recipe file {path} does not exist")
        return path
    installed = RECIPES_DIR / f"{recipe}.yaml"
    if str(recipe).startswith("_") or not installed.is_file():
        raise RecipeError(f"unknown recipe {recipe!r}; installed recipes: {', '.join(names())}")
    return installed


def _base_path(path: Path, name) -> Path:
    """The file `extends: name` in recipe `path` means: an installed recipe (or base file), else a YAML
    file in `path`'s folder or below it. Nothing else is read: a recipe from elsewhere must not make
    mezoo open (and quote in an error) a file outside the folder it was given in."""
    text = str(name)
    installed = RECIPES_DIR / (text if text.endswith((".yaml", ".yml")) else f"{text}.yaml")
    if "/" not in text and "\\" not in text and installed.is_file():
        return installed.resolve()
    folder = path.parent.resolve()
    candidate = (folder / Path(text).expanduser()).resolve()
    if folder not in candidate.parents or candidate.suffix not in (".yaml", ".yml"):
        raise RecipeError(
            f"recipe {path}: extends {text!r}, which is neither an installed recipe ({', '.join(names())}) nor a "
            f".yaml file in the recipe's folder {folder} or below it"
        )
    if not candidate.is_file():
        raise RecipeError(f"recipe {path}: extends {text!r}, but {candidate} does not exist")
    return candidate


def _read(path: Path, seen=()) -> Dict:
    if path in seen:
        raise RecipeError(f"recipe {path} extends itself (through {' -> '.join(map(str, seen))})")
    try:
        raw = strict_yaml.load(path.read_text()) or {}
    except strict_yaml.DuplicateKeyError as error:
        raise RecipeError(f"recipe {path}: {error}") from None
    except yaml.YAMLError as error:
        raise RecipeError(f"recipe {path} is not valid YAML: {strict_yaml.problem(error)}") from None
    except UnicodeDecodeError:
        raise RecipeError(f"recipe {path} is not UTF-8 text") from None
    if not isinstance(raw, dict):
        raise RecipeError(f"recipe {path} must be a mapping of sections, not {type(raw).__name__}")
    unknown = [key for key in raw if key not in SECTIONS and key != "extends"]
    if unknown:
        keys = ", ".join(sorted({strict_yaml.shown_key(k) for k in unknown})[:5])
        raise RecipeError(
            f"recipe {path}: {len(unknown)} unknown section(s): {keys}; sections are {', '.join(SECTIONS)}"
        )
    base: Dict[str, Dict[str, Any]] = {s: {} for s in SECTIONS}
    if raw.get("extends"):
        base = _read(_base_path(path, raw["extends"]), (*seen, path))
    elif path != BASE_RECIPE.resolve():
        base = _read(BASE_RECIPE.resolve(), (*seen, path))
    for section in SECTIONS:
        values = raw.get(section) or {}
        if not isinstance(values, dict):
            raise RecipeError(f"recipe {path}: section {section!r} must be a mapping")
        for key, value in values.items():
            where = f"recipe {path}: {section}.{key}"
            base[section][key] = check_setting(where, section, key, base[section].get(key), value)
    return base


def parse_override(text: str):
    """`section.key=value` -> (section, key, value parsed as YAML)."""
    target, sep, value = text.partition("=")
    section, dot, key = target.strip().partition(".")
    if not sep or not dot or not key:
        raise RecipeError(f"override {text!r} must look like section.key=value (sections: {', '.join(SECTIONS)})")
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError:
        parsed = value
    if isinstance(parsed, str):
        try:  # YAML 1.1 reads 1e-4 (no dot) as a string
            parsed = float(parsed)
        except ValueError:
            pass
    return section, key, parsed


def load(
    recipe: Union[str, Path], overrides: Optional[Iterable[str]] = None, model_keys: Optional[Iterable[str]] = None
) -> Recipe:
    """The resolved recipe, typed, with `overrides` applied.

    Args:
        recipe: an installed recipe name (`names()`) or a path to a YAML file.
        overrides: `section.key=value` strings, applied in order after the files.
        model_keys: the keys `model` may take; by default those of the chosen family
            (`mezoo.models.registry.constructor_keys`). A key outside them, in a recipe file or
            an override, is refused (a misspelt `embeding_dim` would otherwise be ignored).

    Example:
        >>> load("dnn_me_frappe", ["train.epochs=2"]).train.epochs
        2
    """
    path = recipe_path(recipe)
    resolved = _read(path.resolve())
    source = {key: f"recipe {path}" for key in resolved["model"]}  # where each model key was set
    for text in overrides or ():
        section, key, value = parse_override(text)
        if section not in SECTIONS:
            raise RecipeError(f"override {text!r}: unknown section {section!r}; sections are {', '.join(SECTIONS)}")
        if section != "model" and key not in field_types(section):
            known = ", ".join(sorted(field_types(section)))
            raise RecipeError(f"override {text!r}: unknown key {key!r} in {section}; known keys: {known}")
        resolved[section][key] = check_setting(f"override {text!r}", section, key, resolved[section].get(key), value)
        if section == "model":
            source[key] = f"override {text!r}"
    allowed = set(field_types("model")) | set(_model_keys(resolved["model"].get("name"), model_keys, path))
    for key in resolved["model"]:
        if key not in allowed:
            raise RecipeError(
                f"{source[key]}: unknown key {key!r} in model (model {resolved['model'].get('name')!r}); "
                f"known keys: {', '.join(sorted(allowed))}"
            )
    return typed(resolved, f"recipe {path}")


def _model_keys(name, given: Optional[Iterable[str]], path: Path) -> List[str]:
    if given is not None:
        return list(given)
    from mezoo.models import registry

    try:
        return registry.constructor_keys(str(name))
    except KeyError as error:
        raise RecipeError(f"recipe {path}: model.name: {error.args[0]}") from None


def as_dict(resolved: Union[Recipe, Dict]) -> Dict[str, Dict[str, Any]]:
    """The plain sections of a `Recipe` (or of a dict of sections, as read from a run's recipe.yaml)."""
    return resolved.to_dict() if isinstance(resolved, Recipe) else resolved


def dump(resolved: Union[Recipe, Dict]) -> str:
    """The resolved recipe as YAML, sections in their usual order (what a run's recipe.yaml holds)."""
    plain = as_dict(resolved)
    return yaml.safe_dump({s: plain[s] for s in SECTIONS}, sort_keys=False)


class RecipeChangedError(RecipeError):
    """A run directory resumed with a recipe other than the one it was started with."""


def differences(stored: Union[Recipe, Dict], resolved: Union[Recipe, Dict]) -> List[str]:
    """`section.key: stored -> resolved` for every key whose value differs (both read back as YAML)."""
    old, new = yaml.safe_load(dump(stored)) or {}, yaml.safe_load(dump(resolved)) or {}
    out = []
    for section in SECTIONS:
        a, b = old.get(section) or {}, new.get(section) or {}
        for (added_section, key), value in ADDED_LATER.items():
            if added_section == section and (key in a) != (key in b):
                a.setdefault(key, value)
                b.setdefault(key, value)
        for key in sorted(set(a) | set(b)):
            if key not in a:
                out.append(f"{section}.{key}: (absent) -> {b[key]!r}")
            elif key not in b:
                out.append(f"{section}.{key}: {a[key]!r} -> (absent)")
            elif a[key] != b[key]:
                out.append(f"{section}.{key}: {a[key]!r} -> {b[key]!r}")
    return out
