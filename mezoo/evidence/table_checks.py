"""The tables `mezoo.report` reads, checked before any number in them is used.

A value no command writes (an AUC outside [0, 1], `nan` or `inf` where a number belongs, a
negative log loss, an information abundance below 1, text in a numeric column) or a row written
twice (a cell repeated would count as another seed and change the intervals) is refused with one
error naming the file, line, column and value. Empty fields are allowed where a command writes
None (a cell without kept predictions, a family not run), except in the columns a row is keyed by.

Example:
>>> row = {"fraction": "1.0", "variant": "SE", "scale": "1", "seed": "0", "width": "10", "test_auc": "7.5"}
>>> try:
...     check_rows("study/scaling.csv", "study", [(2, row)])
... except ReportInputError as error:
...     print(str(error).split(";")[0])
study/scaling.csv, line 2, column test_auc: '7.5' is not an AUC (a number in [0, 1])
"""

import dataclasses
import math
from typing import Callable, Dict, Optional, Sequence, Tuple

from mezoo.errors import BadInput
from mezoo.evidence.variants import Variant


class ReportInputError(BadInput, ValueError):
    """A results file that can't be read as its command writes it (truncated, damaged, impossible values)."""


@dataclasses.dataclass(frozen=True)
class Rule:
    """What a column's text must be: one of `choices`, or a finite number for which `holds` is true."""

    meaning: str
    holds: Callable[[float], bool] = lambda value: True
    whole: bool = False
    # mezoo.abundance writes nan for the random baseline of a field none of whose rows was looked up
    nan_without_rows: bool = False
    choices: Tuple[str, ...] = ()

    def accepts(self, text: str, row: Dict[str, str]) -> bool:
        if self.choices:
            return text in self.choices
        try:
            value = float(text)
        except ValueError:
            return False
        if math.isnan(value) and self.nan_without_rows and row.get("rows") == "0":
            return True
        return math.isfinite(value) and self.holds(value) and (not self.whole or value == int(value))


AUC = Rule("an AUC (a number in [0, 1])", lambda x: 0 <= x <= 1)
LOG_LOSS = Rule("a log loss (a finite number >= 0)", lambda x: x >= 0)
IA = Rule(
    "an information abundance (a finite number >= 1, or 0 for a table with nothing measured)",
    lambda x: x == 0 or x >= 1,
)
RANDOM_IA = Rule(
    "a random table's information abundance (a finite number >= 1; nan only where rows is 0)",
    lambda x: x >= 1,
    nan_without_rows=True,
)
RATIO = Rule(
    "a ratio of abundances (a finite number > 0; nan only where rows is 0)", lambda x: x > 0, nan_without_rows=True
)
NON_NEGATIVE = Rule("a finite number >= 0", lambda x: x >= 0)
NUMBER = Rule("a finite number")
COUNT = Rule("a whole number >= 0", lambda x: x >= 0, whole=True)
POSITIVE_COUNT = Rule("a whole number >= 1", lambda x: x >= 1, whole=True)
FRACTION = Rule("a fraction of the training data (a number in (0, 1])", lambda x: 0 < x <= 1)
VARIANT = Rule("a variant", choices=tuple(v.value for v in Variant))
FLAG = Rule("True or False", choices=("True", "False"))

_CELL = {
    "fraction": FRACTION,
    "variant": VARIANT,
    "scale": POSITIVE_COUNT,
    "seed": COUNT,
    "width": POSITIVE_COUNT,
}


@dataclasses.dataclass(frozen=True)
class TableRules:
    """A table's command, what one row stands for, the columns a row is keyed by, and each column's rule."""

    command: str
    row_is: str
    key: Tuple[str, ...]
    columns: Dict[str, Rule]
    filled: Tuple[str, ...] = ()  # never empty, besides the key


RULES = {
    "study": TableRules(
        "mezoo.scaling",
        "cell",
        ("fraction", "variant", "scale", "seed"),
        {
            **_CELL,
            "num_sets": POSITIVE_COUNT,
            "embedding_dim": POSITIVE_COUNT,
            "test_auc": AUC,
            "test_logloss": LOG_LOSS,
            "best_val_auc": AUC,
            "best_epoch": COUNT,
            "epochs": NON_NEGATIVE,  # an ENS cell's is its members' mean
            "params": COUNT,
            "examples_per_sec": NON_NEGATIVE,
            # a mean over fields, where a field with nothing measured counts 0
            "ia_mean": NON_NEGATIVE,
            "ia_min": IA,
            "ia_max": IA,
            "ia_vs_random_mean": RATIO,
            "ia_normalised_mean": NON_NEGATIVE,
            "erank_mean": NON_NEGATIVE,
            "test_rows": COUNT,
            "training_revision": COUNT,
        },
        filled=("width",),
    ),
    "epochs": TableRules(
        "mezoo.scaling",
        "cell's field at an epoch",
        ("cell", "epoch", "field"),
        {
            **_CELL,
            "epoch": COUNT,
            "best": FLAG,
            "rows": COUNT,
            "rows_total": COUNT,
            "ia": IA,
            "ia_random": RANDOM_IA,
            "ia_vs_random": RATIO,
            "ia_normalised": NON_NEGATIVE,
            "erank": NON_NEGATIVE,
        },
    ),
    "checks": TableRules(
        "mezoo.scaling",
        "cell's field",
        ("cell", "field"),
        {
            **_CELL,
            "rows": COUNT,
            "ia_vs_random": RATIO,
            "centred_vs_random": RATIO,
            "row_normalised_vs_random": RATIO,
        },
    ),
    "toy": TableRules(
        "mezoo.toy",
        "run's step",
        ("dim", "d3", "seed", "step"),
        {
            "dim": POSITIVE_COUNT,
            "d3": POSITIVE_COUNT,
            "seed": COUNT,
            "step": COUNT,
            "loss": LOG_LOSS,
            "ia": IA,
            "ia_normalised": NON_NEGATIVE,
            "erank": NON_NEGATIVE,
        },
        filled=("loss", "ia"),
    ),
    "parity": TableRules(
        "mezoo.parity",
        "model",
        ("family", "model"),  # one BARS family may be matched by two models (FwFM: fwfm and nfwfm)
        {
            "like_for_like": FLAG,
            "bars_test_auc": AUC,
            "runs": COUNT,
            "test_auc_mean": AUC,
            "test_auc": AUC,
            "test_auc_sd": NON_NEGATIVE,
            "gap": NUMBER,
            "gap_in_sd": NUMBER,
            "within_tolerance": FLAG,  # tables written before intervals
            "tolerance": NON_NEGATIVE,
            "bars_test_auc_sd": NON_NEGATIVE,
            "bars_runs": POSITIVE_COUNT,
            "gap_low": NUMBER,
            "gap_high": NUMBER,
            "verdict": Rule(
                "a parity verdict",
                choices=("within", "outside", "not resolved", "too few seeds", "not run", "not like for like"),
            ),
            "test_logloss_mean": LOG_LOSS,
        },
        filled=("bars_test_auc",),
    ),
    # The report reads no figure of fields.csv but lists the analysis: its AUC and IA are checked.
    "analysis": TableRules(
        "mezoo.analyze",
        "run's field",
        ("run", "field"),
        {"test_auc": AUC, "ia": IA, "sets_mean_ia": IA, "se_ia": IA},
    ),
}


def check_rows(path, kind: str, rows: Sequence[Tuple[int, Dict[str, str]]]) -> None:
    """Raises `ReportInputError` at the first impossible value or repeated row of `rows` (`(line, row)` pairs)."""
    rules = RULES[kind]
    fix = f"the file is not as {rules.command} wrote it: restore it or run {rules.command} again"
    seen: Dict[Tuple, int] = {}
    for line, row in rows:
        for column in rules.key + rules.filled:
            if column in row and not row[column]:
                raise ReportInputError(f"{path}, line {line}, column {column}: empty; {fix}")
        for column, text in row.items():
            rule = rules.columns.get(column)
            if rule is not None and text != "" and not rule.accepts(text, row):
                raise ReportInputError(f"{path}, line {line}, column {column}: {text!r} is not {rule.meaning}; {fix}")
        key = tuple(_key_value(rules.columns.get(c), row.get(c)) for c in rules.key)
        first = seen.setdefault(key, line)
        if first != line:
            if len(rules.key) == 1:
                which = f"{rules.row_is} {row[rules.key[0]]}"
            else:
                which = f"{rules.row_is} ({', '.join(f'{c} {row.get(c)}' for c in rules.key)})"
            raise ReportInputError(
                f"{path}, line {line}: the {which} is already on line {first}: one row per {rules.row_is}, "
                f"a copy would count twice; remove it or run {rules.command} again"
            )


def _key_value(rule: Optional[Rule], text: Optional[str]):
    """A key column's value, numbers as numbers: `1` and `1.0` are the same scale or fraction."""
    return float(text) if rule is not None and not rule.choices and text else text
