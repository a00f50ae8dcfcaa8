"""Recipes: YAML files of `data`, `model` and `train` settings, resolved with overrides.

A recipe names an installed file (`mezoo/recipes/NAME.yaml`, e.g. `dcnv2_me_criteo`) or a
path to a YAML file. `extends: FILE` (relative to the recipe's folder) pulls in a base whose
sections the recipe updates key by key. Overrides `section.key=value` are applied last; the
value is read as YAML (`3`, `0.1`, `null`, `[400, 400]`). Only keys that exist in the
resolved recipe can be set, except in `model`, whose keys are constructor arguments of the
chosen model. Files are read with `yaml.safe_load` only.
"""

import copy
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Union

import yaml

RECIPES_DIR = Path(__file__).resolve().parent / "recipes"
SECTIONS = ("data", "model", "train")


class RecipeError(ValueError):
    """A recipe that doesn't exist, doesn't parse, or an override that doesn't apply."""


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


def _read(path: Path, seen=()) -> Dict:
    if path in seen:
        raise RecipeError(f"recipe {path} extends itself (through {' -> '.join(map(str, seen))})")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise RecipeError(f"recipe {path} is not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise RecipeError(f"recipe {path} must be a mapping of sections, not {type(raw).__name__}")
    unknown = set(raw) - set(SECTIONS) - {"extends"}
    if unknown:
        raise RecipeError(f"recipe {path}: unknown section(s) {sorted(unknown)}; sections are {', '.join(SECTIONS)}")
    base = {s: {} for s in SECTIONS}
    if raw.get("extends"):
        base = _read((path.parent / raw["extends"]).resolve(), (*seen, path))
    for section in SECTIONS:
        values = raw.get(section) or {}
        if not isinstance(values, dict):
            raise RecipeError(f"recipe {path}: section {section!r} must be a mapping")
        base[section].update(values)
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


def load(recipe: Union[str, Path], overrides: Optional[Iterable[str]] = None, model_keys: Optional[Iterable[str]] = None):
    """The resolved recipe: a dict of the three sections with `overrides` applied.

    `model_keys`, when given, are the keys `model` may take (the model's constructor
    arguments); by default any `model` key is accepted and the model itself rejects unknown ones.
    """
    path = recipe_path(recipe)
    resolved = _read(path.resolve())
    resolved = copy.deepcopy(resolved)
    for text in overrides or ():
        section, key, value = parse_override(text)
        if section not in SECTIONS:
            raise RecipeError(f"override {text!r}: unknown section {section!r}; sections are {', '.join(SECTIONS)}")
        allowed = set(resolved[section])
        if section == "model":
            allowed |= set(model_keys or ()) if model_keys is not None else {key}
        if key not in allowed:
            raise RecipeError(
                f"override {text!r}: unknown key {key!r} in {section}; known keys: {', '.join(sorted(allowed))}"
            )
        resolved[section][key] = value
    return resolved


def dump(resolved: Dict) -> str:
    """The resolved recipe as YAML, sections in their usual order."""
    return yaml.safe_dump({s: resolved[s] for s in SECTIONS}, sort_keys=False)
