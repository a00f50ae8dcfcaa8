"""The model tests' small fields and batches, and seeded builds of every family with the layout that pins each.

`FIELDS`, `small(key)`, `batch()` and `randomize(model, seed)` are the shared pieces of the model
tests: four categorical fields, small hyper-parameters, a batch of ids and labels, random weights.

`layout(model)` is a model's config (but its generated name) and its variables' paths and shapes,
in order: a `.keras` file loads its weights by these paths, so a family that keeps them keeps
every saved model loadable. `family_layouts.json` holds the layouts the families had when the
table was written (`python -m tests.models.family_cases --write`, only for an intended change of
layout); `save(directory)` writes every case's `.keras` with its predictions and weights, for a
before/after comparison of a refactoring.
"""

import argparse
import inspect
import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import keras
import numpy as np

import mezoo  # noqa: F401  (registers the models)
from mezoo import models
from mezoo.models import registry

LAYOUTS = Path(__file__).with_name("family_layouts.json")
FIELDS = [("a", 10), ("b", 20), ("c", 5), ("d", 7)]
MULTI_VALUED = [("a", 10), ("genres", 12, 3, "sqrtn"), ("c", 5), ("tags", 9, 2, "mean")]
NUMERIC = ["x", "y"]
SMALL = {"embedding_dim": 4, "hidden_units": (16, 8)}
SHALLOW = ("fm", "fwfm")  # no MLP
ROWS = 16


def small(key: str) -> Dict[str, Any]:
    """Small hyper-parameters for family `key` (FM and FwFM have no MLP, so no hidden_units)."""
    return {"embedding_dim": 4} if key in SHALLOW else dict(SMALL)


def batch(rows: int = 64, seed: int = 0) -> Tuple[Dict[str, np.ndarray], np.ndarray]:
    """`rows` ids of `FIELDS` and 0/1 labels, drawn from `seed`."""
    rng = np.random.default_rng(seed)
    ids = np.stack([rng.integers(0, v, rows) for _, v in FIELDS], axis=1).astype("int32")
    return {"ids": ids}, rng.integers(0, 2, (rows, 1)).astype("float32")


def randomize(model: keras.Model, seed: int) -> None:
    """Every weight drawn from `seed` (batch-norm variances positive), so that no part starts at zero."""
    rng = np.random.default_rng(seed)
    model.set_weights(
        [
            np.abs(rng.normal(size=w.shape)) + 0.5 if "variance" in w.path else rng.normal(scale=0.3, size=w.shape)
            for w in model.weights
        ]
    )


def cases() -> Dict[str, Tuple[str, List[tuple], Dict[str, Any]]]:
    """Case name -> (family key, fields, constructor arguments): every family SE and ME, and variants."""
    out = {}
    for key in models.names():
        for sets in (1, 3):
            out[f"{key}_{sets}"] = (key, FIELDS, {"num_embedding_sets": sets, **small(key)})
    variants = {
        "dcnv2_parallel": ("dcnv2", FIELDS, {"structure": "parallel"}),
        "dcnv2_shared_interaction": ("dcnv2", FIELDS, {"shared_interaction": True}),
        "dcnv2_orthogonal": ("dcnv2", FIELDS, {"orthogonal_regularization": 1e-5}),
        "finalmlp_gated": ("finalmlp", FIELDS, {"feature_gating": True, "stream2_hidden_units": (12, 6)}),
        "deepfm_multi_valued": ("deepfm", MULTI_VALUED, {}),
        "fwfm_multi_valued": ("fwfm", MULTI_VALUED, {}),
        "dnn_numeric": ("dnn", FIELDS, {"numeric_fields": NUMERIC}),
        "dlrm_numeric": ("dlrm", FIELDS, {"numeric_fields": NUMERIC, "bottom_units": (7,)}),
        "fm_numeric": ("fm", FIELDS, {"numeric_fields": NUMERIC}),
    }
    for name, (key, fields, arguments) in variants.items():
        out[name] = (key, fields, {"num_embedding_sets": 2, **small(key), **arguments})
    return out


def build(name: str, seed: int = 0) -> keras.Model:
    """Case `name`'s model, its weights drawn from `seed`."""
    key, fields, arguments = cases()[name]
    keras.utils.set_random_seed(seed)
    return models.get(key)(fields, **arguments)


def inputs(name: str) -> Dict[str, np.ndarray]:
    """Fixed inputs of case `name`: ids (-1 padding in multi-valued fields) and dense values if any."""
    _, fields, arguments = cases()[name]
    rng = np.random.default_rng(7)
    columns = []
    for field in fields:
        width = field[2] if len(field) > 2 else 1
        ids = rng.integers(0, field[1], (ROWS, width))
        columns.append(np.where(rng.random((ROWS, width)) < 0.3, -1, ids) if width > 1 else ids)
    out = {"ids": np.concatenate(columns, axis=1).astype("int32")}
    if arguments.get("numeric_fields"):
        out["dense"] = rng.normal(size=(ROWS, len(arguments["numeric_fields"]))).astype("float32")
    return out


def layout(model: keras.Model) -> Dict[str, Any]:
    """The model's config (JSON types, without its generated name) and `[path, shape]` of each variable."""
    config = json.loads(json.dumps({k: v for k, v in model.get_config().items() if k != "name"}))
    return {"config": config, "variables": [[w.path, list(w.shape)] for w in model.weights]}


def defaults(key: str) -> Dict[str, Any]:
    """Family `key`'s keyword arguments and their defaults (JSON types), as `inspect.signature` shows them."""
    parameters = inspect.signature(models.get(key)).parameters.values()
    found = {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}
    return json.loads(json.dumps(found))


def table() -> Dict[str, Any]:
    """Every family's constructor keys and defaults and every case's layout, as `family_layouts.json` holds them."""
    return {
        "constructor_keys": {key: registry.constructor_keys(key) for key in models.names()},
        "defaults": {key: defaults(key) for key in models.names()},
        "cases": {name: layout(build(name)) for name in cases()},
    }


def dumps(layouts: Dict[str, Any]) -> str:
    """`table()` as JSON with one line per family, config and variable, so that a diff names each."""
    keys, keyword_defaults = (
        ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in layouts[part].items())
        for part in ("constructor_keys", "defaults")
    )
    entries = []
    for name, case in layouts["cases"].items():
        variables = ",\n".join(f"    {json.dumps(v)}" for v in case["variables"])
        config = json.dumps(case["config"])
        entries.append(f'  {json.dumps(name)}: {{\n   "config": {config},\n   "variables": [\n{variables}\n   ]\n  }}')
    cases = ",\n".join(entries)
    return (
        f'{{\n "constructor_keys": {{\n{keys}\n }},\n "defaults": {{\n{keyword_defaults}\n }},\n'
        f' "cases": {{\n{cases}\n }}\n}}\n'
    )


def save(directory: Path) -> None:
    """Each case's `.keras` and `<case>.npz`: its inputs, predictions and weights by path."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in cases():
        model = build(name)
        x = inputs(name)
        model.save(directory / f"{name}.keras")
        weights = {f"weight:{w.path}": keras.ops.convert_to_numpy(w) for w in model.weights}
        np.savez(directory / f"{name}.npz", predictions=model.predict(x, verbose=0), **x, **weights)
        (directory / f"{name}.json").write_text(json.dumps(layout(model), indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {LAYOUTS.name} from today's families")
    parser.add_argument("--save", type=Path, help="save every case's .keras, predictions and weights here")
    args = parser.parse_args()
    if args.write:
        LAYOUTS.write_text(dumps(table()))
    if args.save:
        save(args.save)


if __name__ == "__main__":
    main()
