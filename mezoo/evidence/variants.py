"""Variant: the three kinds of run a scaling study compares, spelled once.

- `SE`: single embedding, one table of width N*d at scale N;
- `ME`: multi-embedding, N sets of width d, one interaction module per set;
- `ME-SI`: the paper's ablation, ME with one interaction module shared by all sets;
- `ENS`: the ensemble baseline, the average of N SE 1x runs' probabilities (never trained itself:
  assembled from its members, `mezoo.evidence.scaling_ensembles`).

A `str` enum: a variant compares equal to its name as the study's CSV files write it ("SE",
"ME", "ME-SI", "ENS"), and `key` is how cell directories spell it (`se`, `me`, `mesi`, `ens`).

Example:
>>> Variant("ME-SI").key
'mesi'
>>> Variant.from_key("se") == "SE"
True
>>> {"ME-SI": 1}[Variant.ME_SI]
1
"""

import enum


class Variant(str, enum.Enum):
    SE = "SE"
    ME = "ME"
    ME_SI = "ME-SI"
    ENS = "ENS"

    @property
    def key(self) -> str:
        """The variant in a cell's directory name: `se`, `me`, `mesi`, `ens`."""
        return self.value.lower().replace("-", "")

    @classmethod
    def from_key(cls, key: str) -> "Variant":
        for variant in cls:
            if variant.key == key:
                return variant
        raise ValueError(f"no variant is spelled {key!r} in a cell name; there are {', '.join(v.key for v in cls)}")

    def __str__(self) -> str:  # (str-mixin enums print as `Variant.SE` on Python >= 3.11 otherwise)
        return str(self.value)

    def __hash__(self) -> int:  # as its name's string, so that it finds dict keys read from files
        return hash(str(self.value))
