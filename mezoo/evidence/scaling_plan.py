"""A scaling study's plan: its cells (`Cell`), the order they train in, and the plans `study.json` records.

A cell is one run of the study: a variant (`mezoo.evidence.variants`) at a scale, seed and
training-data fraction, trained in `OUT/cells/<Cell.key>/`. `plan` lists an invocation's cells;
`study.json` keeps every invocation's plan in the order they were first declared (`declare_plan`,
before any cell trains), so that a cell first asked for by a later plan is said to be added later
(`added_later_note`).

Example:
>>> [c.key for c in plan([1, 4], seeds=1)]
['se_x1_seed0', 'se_x4_seed0', 'me_x4_seed0']
"""

import dataclasses
import json
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from mezoo.atomic import atomic_write
from mezoo.errors import BadInput
from mezoo.evidence.ensembles import POOL, member_seeds
from mezoo.evidence.variants import Variant

STUDY_JSON = "study.json"
CELLS_DIR = "cells"  # OUT/cells/<Cell.key>/: each cell's run directory
# What a study's cells were trained on: the true training labels, or the permuted-label null.
TRAIN_LABELS = {False: "true", True: "permuted (seed 0)"}
VARIANT_ORDER: Dict[str, int] = {variant: number for number, variant in enumerate(Variant)}


class StudyPlanError(BadInput, ValueError):
    """A study that can't be planned (ME-SI on a model without a shared interaction, no scale or seed)."""


class StudyMismatchError(BadInput, ValueError):
    """A study directory holding cells trained with another recipe, overrides or data."""


@dataclasses.dataclass(frozen=True)
class Cell:
    """One run of the study: a variant ("SE", "ME", "ME-SI") at a scale, seed and training-data fraction.

    Example:
    >>> Cell("ME", 4, 0).key, Cell("ME", 4, 0).overrides(10, 2024)[:2]
    ('me_x4_seed0', ['model.num_embedding_sets=4', 'model.embedding_dim=10'])
    """

    variant: str
    scale: int
    seed: int
    fraction: float = 1.0

    @property
    def key(self) -> str:
        data = "" if self.fraction == 1.0 else f"_data{self.fraction:g}"
        return f"{Variant(self.variant).key}_x{self.scale}_seed{self.seed}{data}"

    @classmethod
    def from_key(cls, key: str) -> Optional["Cell"]:
        """The cell a run directory's name (`Cell.key`) stands for; None for another name."""
        match = re.fullmatch(r"(se|me|mesi|ens)_x(\d+)_seed(\d+)(?:_data([0-9.e-]+))?", key)
        if not match:
            return None
        variant = Variant.from_key(match.group(1))
        fraction = float(match.group(4)) if match.group(4) else 1.0
        return cls(variant, int(match.group(2)), int(match.group(3)), fraction)

    @classmethod
    def of_record(cls, record: Dict) -> "Cell":
        """The cell of a row of `scaling.csv` (a record of `scaling_cells.cell_record`)."""
        return cls(record["variant"], record["scale"], record["seed"], record["fraction"])

    def overrides(self, base_dim: int, base_seed: int, has_shared_interaction: bool = False) -> List[str]:
        """Recipe overrides that make this cell's model and seed (an ENS cell is never trained: none)."""
        if self.variant == Variant.ENS:
            raise StudyPlanError(f"{self.key} is an ensemble of SE 1x cells, assembled, never trained")
        sets, dim = (1, self.scale * base_dim) if self.variant == Variant.SE else (self.scale, base_dim)
        extra = [
            f"model.num_embedding_sets={sets}",
            f"model.embedding_dim={dim}",
            f"train.seed={base_seed + self.seed}",
        ]
        if has_shared_interaction:
            extra.append(f"model.shared_interaction={'true' if self.variant == 'ME-SI' else 'false'}")
        elif self.variant == Variant.ME_SI:
            raise StudyPlanError("ME-SI needs a model with shared_interaction (DCNv2)")
        return extra


def study_order(cell: Cell):
    """The sort key of the study's tables: fraction, scale, seed, variant."""
    return (cell.fraction, cell.scale, cell.seed, VARIANT_ORDER[cell.variant])


def plan(
    scales: Sequence[int],
    seeds: int,
    ablations: bool = False,
    fractions: Sequence[float] = (1.0,),
    ensembles: bool = False,
) -> List[Cell]:
    """Every cell, ordered so that a study cut short has whole scales: fraction, scale, seed, variant.

    `ensembles`: an ENS cell per scale above 1 and seed, and the SE 1x cells that are its members
    (`ensembles.member_seeds`), which train as any cell; the ENS cell is assembled once they have.
    """
    variants = [Variant.SE, Variant.ME] + ([Variant.ME_SI] if ablations else [])
    cells = []
    for fraction in fractions:
        for scale in scales:
            for seed in range(seeds):
                for variant in variants:
                    if scale == 1 and variant != Variant.SE:
                        continue  # ME and ME-SI with one set are SE
                    cells.append(Cell(variant, int(scale), seed, float(fraction)))
                if ensembles and 1 < scale <= POOL:
                    cells.append(Cell(Variant.ENS, int(scale), seed, float(fraction)))
                    cells += [Cell(Variant.SE, 1, m, float(fraction)) for m in member_seeds(seed, scale)]
    return sorted(dict.fromkeys(cells), key=study_order)


def plan_entry(
    scales: Sequence[int], seeds: int, ablations: bool, fractions: Sequence[float], ensembles: bool = False
) -> Dict[str, Any]:
    """An invocation's plan as `study.json` records it (`declared_at` is added when it is declared;
    `ensembles` only where the plan asks for them, so older plans read the same)."""
    entry: Dict[str, Any] = {
        "scales": [int(n) for n in scales],
        "seeds": int(seeds),
        "ablations": bool(ablations),
        "fractions": [float(f) for f in fractions],
    }
    if ensembles:
        entry["ensembles"] = True
    return entry


def cells_of_plan(entry: Dict[str, Any]) -> List[Cell]:
    """The cells a recorded plan asks for."""
    return plan(entry["scales"], entry["seeds"], entry["ablations"], entry["fractions"], entry.get("ensembles", False))


def merged_plans(plans: Sequence[Dict[str, Any]], entry: Dict[str, Any]) -> List[Dict[str, Any]]:
    """`plans` in the order they were first declared, with `entry` last unless the same plan is there
    (which keeps its own declaration, or its lack of one: a plan recorded before declarations were)."""

    def same(a: Dict, b: Dict) -> bool:
        return {k: v for k, v in a.items() if k != "declared_at"} == {k: v for k, v in b.items() if k != "declared_at"}

    return list(plans) if any(same(p, entry) for p in plans) else [*plans, entry]


def first_plans(plans: Sequence[Dict[str, Any]], keys: Sequence[str]) -> Dict[str, Optional[int]]:
    """For each cell key, the index of the first plan in `plans` that asked for it (None: none did)."""
    first: Dict[str, int] = {}
    for number, entry in enumerate(plans):
        for cell in cells_of_plan(entry):
            first.setdefault(cell.key, number)
    return {key: first.get(key) for key in keys}


def added_later_note(plans: Sequence[Dict[str, Any]], keys: Sequence[str]) -> Optional[str]:
    """The cells among `keys` first asked for by a plan after the study's first, in words; None when
    there are none (or no plan was recorded)."""
    if not plans:
        return None
    later: Dict[Optional[int], List[str]] = {}
    for key, number in first_plans(plans, keys).items():
        if number != 0:
            later.setdefault(number, []).append(key)
    if not later:
        return None
    parts = []
    for number in sorted(later, key=lambda n: len(plans) if n is None else n):
        cells = ", ".join(f"`{key}`" for key in later[number])
        if number is None:
            parts.append(f"{cells} (in no recorded plan)")
            continue
        declared = plans[number].get("declared_at")
        when = f"declared {declared}" if declared else "recorded before declarations were"
        parts.append(f"{cells} (plan {number + 1} of {len(plans)}, {when})")
    first = plans[0].get("declared_at")
    since = f"declared {first}" if first else "the first plan was recorded before declarations were"
    return f"cells added later, first asked for by a plan after the study's first ({since}): " + "; ".join(parts) + "."


def read_study_json(out: Path) -> Dict:
    """The study directory's `study.json`; empty when there is none yet (or it can't be read)."""
    try:
        return json.loads((out / STUDY_JSON).read_text())
    except (OSError, ValueError):
        return {}


def declare_plan(out: Path, entry: Dict[str, Any], recipe, overrides: Sequence[str], train_labels: str) -> None:
    """Records the invocation's plan (with its `declared_at`) in `study.json` before any cell trains."""
    previous = read_study_json(out)
    plans = merged_plans(previous.get("plans") or [], entry)
    if plans != previous.get("plans"):
        study = previous or {"recipe": str(recipe), "overrides": list(overrides), "train_labels": train_labels}
        atomic_write(out / STUDY_JSON, json.dumps({**study, "plans": plans}, indent=1) + "\n")
