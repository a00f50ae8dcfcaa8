"""BARS parity: finished Frappe_x1 runs of the zoo's families against BARS' published test AUC.

Each family BARS publishes a Frappe_x1 result for is matched once, by the mezoo model of the
same architecture (`BARS_FRAPPE_X1`). NFwFM, the paper's FwFM followed by an MLP, is not BARS'
shallow FwFM (`fwfm` is): it is listed below the table on a line of its own (`OTHER_MODELS`),
never as a parity row.

BARS' figures are those of its per-model READMEs (github.com/reczoo/BARS at `BARS_COMMIT`, the
"Results" section of the README each `BarsFigure.source` names). Where a README gives several
runs ("Total 5 runs": DNN, DeepFM, DCN, DCNv2, xDeepFM), every run's test AUC is kept, and
mezoo's mean over its seeds is compared with BARS' mean by a Welch interval over mezoo's seeds
and BARS' runs (`noise.welch_interval`, sample sds on both sides; the READMEs print the
population sd, ddof = 0: DCNv2's "0.983824 ± 0.00043485" is these runs' mean and ddof-0 sd).
Where a README gives one run (IPNN, AutoInt+, FwFM, FinalMLP), it is a single figure, compared
as a fixed value: the interval (`noise.summary_interval`, no spread on BARS' side) covers
mezoo's seeds alone and is narrower than the truth.

The tolerance is BARS' own criterion for an accurate reproduction, an AUC difference under
0.001: a BARS maintainer (zhujiem) answering reczoo/BARS issue 17 (2022-12-29), where a user's
rerun of DCN on Criteo_x4 differed from the README's by about 1e-4, says an AUC difference under
0.001 generally already counts as an accurate reproduction, and that small data sets fluctuate
more, up to the third decimal. A family is *within* the tolerance when its 95% interval of mezoo
- BARS lies inside ±0.001, *outside* when it lies beyond one bound, *not resolved* when it
straddles one. Parity is called only on at least `MIN_SEEDS` of mezoo's seeds ("too few seeds").
"""

import csv
import dataclasses
import io
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from mezoo.errors import BadInput
from mezoo.evidence import provenance as prov
from mezoo.evidence.noise import Interval, summary_interval, welch_interval
from mezoo.evidence.runs import FinishedRun, read_run

BARS_REPOSITORY = "https://github.com/reczoo/BARS"
BARS_COMMIT = "5b5e61fe2e4ddf676dd12984365da0ae775fb863"  # reczoo/BARS as read (2024-11-08)


@dataclasses.dataclass(frozen=True)
class BarsFigure:
    """BARS' Frappe_x1 test AUC of one family: each published run's (one run: a single figure) and its README."""

    family: str
    runs: Tuple[float, ...]
    source: str  # the README in reczoo/BARS whose "Results" give the runs

    @property
    def mean(self) -> float:
        return float(np.mean(self.runs))

    @property
    def sd(self) -> Optional[float]:
        """The sample sd of the runs (ddof = 1); None for a single figure."""
        return float(np.std(self.runs, ddof=1)) if len(self.runs) > 1 else None

    @property
    def url(self) -> str:
        return f"{BARS_REPOSITORY}/blob/{BARS_COMMIT}/{self.source}"


# Keyed by mezoo's model name; each BARS family once.
BARS_FRAPPE_X1 = {
    "dnn": BarsFigure(
        "DNN",
        (0.983323, 0.984036, 0.983869, 0.984088, 0.984909),
        "ranking/ctr/DNN/DNN_frappe_x1/README.md",
    ),
    "ipnn": BarsFigure("IPNN", (0.984122,), "ranking/ctr/PNN/IPNN_frappe_x1/README.md"),
    "deepfm": BarsFigure(
        "DeepFM",
        (0.984243, 0.983888, 0.983816, 0.983981, 0.983806),
        "ranking/ctr/DeepFM/DeepFM_frappe_x1/README.md",
    ),
    "dcn": BarsFigure(
        "DCN",
        (0.983907, 0.982932, 0.983489, 0.983348, 0.983413),
        "ranking/ctr/DCN/DCN_frappe_x1/README.md",
    ),
    "dcnv2": BarsFigure(
        "DCNv2",
        (0.984478, 0.984184, 0.983331, 0.983632, 0.983495),
        "ranking/ctr/DCNv2/DCNv2_frappe_x1/README.md",
    ),
    "xdeepfm": BarsFigure(
        "xDeepFM",
        (0.984507, 0.984446, 0.983468, 0.984208, 0.984059),
        "ranking/ctr/xDeepFM/xDeepFM_frappe_x1/README.md",
    ),
    "autoint_plus": BarsFigure("AutoInt+", (0.984812,), "ranking/ctr/AutoInt/AutoInt+_frappe_x1/README.md"),
    "fwfm": BarsFigure("FwFM", (0.977585,), "ranking/ctr/FwFM/FwFM_frappe_x1/README.md"),
    "finalmlp": BarsFigure("FinalMLP", (0.986072,), "ranking/ctr/FinalMLP/FinalMLP_frappe_x1/README.md"),
}
# mezoo models shown beside a BARS family, not as its match: model -> (the family's match, what differs).
OTHER_MODELS = {"nfwfm": ("fwfm", "the paper's NFwFM, BARS' shallow FwFM followed by an MLP")}

TOLERANCE = 0.001  # BARS' "accurate reproduction": an AUC difference under 0.001 (reczoo/BARS issue 17)
MIN_SEEDS = 3

WITHIN, OUTSIDE, NOT_RESOLVED = "within", "outside", "not resolved"
TOO_FEW, NOT_RUN, NOT_LIKE_FOR_LIKE = "too few seeds", "not run", "not like for like"

COLUMNS = [
    "family",
    "model",
    "like_for_like",
    "bars_test_auc",
    "bars_test_auc_sd",
    "bars_runs",
    "bars_source",
    "runs",
    "seeds",
    "test_auc_mean",
    "test_auc_sd",
    "gap",
    "gap_low",
    "gap_high",
    "verdict",
    "tolerance",
    "test_logloss_mean",
    "best_epochs",
    "epochs",
    "run_dirs",
    "train_commands",
]


class ParityInputError(BadInput, ValueError):
    """Runs that can't be compared with BARS: multi-embedding, given twice, one seed twice, or no BARS figure."""


def gap_interval(aucs: Sequence[float], figure: BarsFigure) -> Interval:
    """mezoo's mean test AUC minus BARS', with its 95% interval: Welch against BARS' runs, or against a
    single figure as a fixed value (mezoo's seeds alone)."""
    if len(figure.runs) > 1:
        return welch_interval(aucs, figure.runs)
    sd = float(np.std(aucs, ddof=1)) if len(aucs) > 1 else None
    return summary_interval((float(np.mean(aucs)), sd, len(aucs)), (figure.runs[0], 0.0, 1))


def verdict(interval: Interval, seeds: int, tolerance: float = TOLERANCE) -> str:
    """`WITHIN`, `OUTSIDE` or `NOT_RESOLVED` ±`tolerance`, by where the interval lies; `TOO_FEW` below `MIN_SEEDS`."""
    if seeds < MIN_SEEDS:
        return TOO_FEW
    if interval.low is None or interval.high is None:
        return NOT_RESOLVED
    if -tolerance < interval.low and interval.high < tolerance:
        return WITHIN
    if interval.low > tolerance or interval.high < -tolerance:
        return OUTSIDE
    return NOT_RESOLVED


def parity_rows(run_dirs: Sequence) -> List[Dict]:
    """One row per family in `BARS_FRAPPE_X1`'s order, then one per `OTHER_MODELS` model: its runs
    among `run_dirs` (finished, single embedding), the gap to BARS with its interval and the verdict.

    Raises:
        RunDirError: a run directory that is missing or unfinished.
        ParityInputError: a multi-embedding run, a run given twice, two runs of one seed, or a model BARS has
            no figure for.
    """
    known = [*BARS_FRAPPE_X1, *OTHER_MODELS]
    runs: Dict[str, List[FinishedRun]] = {}
    seen = set()
    for path in run_dirs:
        resolved = Path(path).resolve()
        if resolved in seen:
            raise ParityInputError(f"{path}: given twice")
        seen.add(resolved)
        run = read_run(path)
        if run.model_name not in known:
            raise ParityInputError(
                f"{path}: model {run.model_name!r} has no BARS Frappe_x1 figure (known: {', '.join(known)})"
            )
        if run.is_multi_embedding:
            raise ParityInputError(f"{path}: parity is for single-embedding runs, this one has {run.num_sets} sets")
        same_seed = [r for r in runs.get(run.model_name, []) if r.recipe.train.seed == run.recipe.train.seed]
        if same_seed:
            raise ParityInputError(
                f"two runs of {run.model_name} with seed {run.recipe.train.seed}: {same_seed[0].path} and {path}"
            )
        runs.setdefault(run.model_name, []).append(run)
    rows = []
    for model in known:
        like = model in BARS_FRAPPE_X1
        figure = BARS_FRAPPE_X1[model if like else OTHER_MODELS[model][0]]
        row: Dict[str, Any] = {
            "family": figure.family,
            "model": model,
            "like_for_like": like,
            "bars_test_auc": figure.mean,
            "bars_test_auc_sd": figure.sd,
            "bars_runs": len(figure.runs),
            "bars_source": figure.source,
            "runs": 0,
            "verdict": NOT_RUN,
            "tolerance": TOLERANCE,
        }
        found = sorted(runs.get(model, []), key=lambda r: r.recipe.train.seed)
        if found:
            aucs = [float(r.metrics["test_auc"]) for r in found]
            interval = gap_interval(aucs, figure)
            row.update(
                {
                    "runs": len(found),
                    "seeds": " ".join(str(r.recipe.train.seed) for r in found),
                    "test_auc_mean": float(np.mean(aucs)),
                    "test_auc_sd": float(np.std(aucs, ddof=1)) if len(aucs) > 1 else None,
                    "gap": interval.estimate,
                    "gap_low": interval.low,
                    "gap_high": interval.high,
                    "verdict": verdict(interval, len(found)) if like else NOT_LIKE_FOR_LIKE,
                    "test_logloss_mean": float(np.mean([float(r.metrics["test_logloss"]) for r in found])),
                    "best_epochs": " ".join(str(r.metrics["best_epoch"]) for r in found),
                    "epochs": " ".join(str(len(r.metrics.get("epochs", []))) for r in found),
                    "run_dirs": " ".join(str(r.path) for r in found),
                    "train_commands": " | ".join(r.train_command or str(r.path) for r in found),
                }
            )
        rows.append(row)
    return rows


# ---------------------------------------------------------------- the table, from rows or parity.csv's text


def _number(value) -> Optional[float]:
    try:
        return None if value in (None, "", "None") else float(value)
    except (TypeError, ValueError):
        return None


def _count(value) -> int:
    number = _number(value)
    return int(number) if number is not None else 0


def _like_for_like(row: Dict) -> bool:
    return str(row.get("like_for_like", True)) != "False"


def _bars_text(row: Dict) -> str:
    mean, sd, runs = _number(row.get("bars_test_auc")), _number(row.get("bars_test_auc_sd")), row.get("bars_runs")
    if mean is None:
        return "-"
    if sd is not None and _count(runs) > 1:
        return f"{mean:.5f} ± {sd:.5f} ({_count(runs)} runs)"
    return f"{mean:.5f} (single figure)" if runs not in (None, "") else f"{mean:.4f}"


def _mezoo_text(row: Dict) -> str:
    mean, sd = _number(row.get("test_auc_mean") or row.get("test_auc")), _number(row.get("test_auc_sd"))
    seeds = _count(row.get("runs"))
    if mean is None:
        return "not run"
    if sd is None or seeds < 2:
        return f"{mean:.5f} (1 seed)"
    return f"{mean:.5f} ± {sd:.5f} ({seeds} seeds)"


def _gap_text(row: Dict) -> str:
    gap, low, high = _number(row.get("gap")), _number(row.get("gap_low")), _number(row.get("gap_high"))
    if gap is None:
        return "-"
    return f"{gap:+.5f} [{low:+.5f}, {high:+.5f}]" if low is not None and high is not None else f"{gap:+.5f}"


def _verdict_text(row: Dict) -> str:
    tolerance = _number(row.get("tolerance")) or TOLERANCE
    found = row.get("verdict")
    gap = _number(row.get("gap")) or 0.0
    if not found:
        return "not recorded (a table written before intervals: run `mezoo.parity` again)"
    return {
        WITHIN: f"within ±{tolerance:g}",
        OUTSIDE: f"**outside ±{tolerance:g}** ({'above' if gap > 0 else 'below'})",
        NOT_RESOLVED: f"not resolved (the interval straddles ±{tolerance:g})",
        TOO_FEW: f"too few seeds ({_count(row.get('runs'))}; parity needs {MIN_SEEDS})",
        NOT_RUN: "not run",
    }.get(found, found)


def table_lines(rows: Sequence[Dict]) -> List[str]:
    """The parity table (one row per BARS family), then the models that are not like for like, each on a
    line of its own. `rows`: `parity_rows` or `parity.csv` as read (text)."""
    lines = [
        "| family | mezoo model | BARS test AUC (mean ± sd, runs) | mezoo test AUC (mean ± sd, seeds) "
        "| mezoo - BARS [95% interval] | verdict |",
        "|---|---|---|---|---|---|",
    ]
    others = []
    for row in rows:
        if not _like_for_like(row):
            others.append(row)
            continue
        lines.append(
            f"| {row['family']} | {row.get('model', '')} | {_bars_text(row)} | {_mezoo_text(row)} | "
            f"{_gap_text(row)} | {_verdict_text(row)} |"
        )
    if others:
        lines += ["", "Not like for like (no parity row):", ""]
        for row in others:
            why = OTHER_MODELS.get(str(row.get("model")), ("", "another model"))[1]
            lines.append(
                f"- {row.get('model')} ({why}) against BARS' {row['family']} {_bars_text(row)}: mezoo "
                f"{_mezoo_text(row)}, mezoo - BARS {_gap_text(row)}."
            )
    return lines


def summary(rows: Sequence[Dict]) -> str:
    """`k of n families within ±0.001 of BARS, ...` over the parity rows (not-like-for-like ones left out)."""
    rows = [r for r in rows if _like_for_like(r)]
    ran = [r for r in rows if _number(r.get("test_auc_mean") or r.get("test_auc")) is not None]
    if not any(r.get("verdict") for r in rows):
        return f"{len(ran)} of {len(rows)} families run, in a table written before intervals: run `mezoo.parity` again"
    tolerance = next((_number(r.get("tolerance")) for r in rows if _number(r.get("tolerance"))), TOLERANCE)
    counts = {v: sum(1 for r in rows if r.get("verdict") == v) for v in (WITHIN, OUTSIDE, NOT_RESOLVED, TOO_FEW)}
    return (
        f"{counts[WITHIN]} of {len(rows)} families within ±{tolerance:g} of BARS, {counts[OUTSIDE]} outside, "
        f"{counts[NOT_RESOLVED]} not resolved, {counts[TOO_FEW]} with too few seeds (fewer than {MIN_SEEDS}), "
        f"{len(rows) - len(ran)} not run"
    )


def markdown(rows: List[Dict], info: Dict[str, str]) -> str:
    """The parity table with the reading rule, BARS' sources, each run's command and the provenance."""
    counted = summary(rows)
    lines = [
        "# BARS parity on Frappe_x1",
        "",
        "Written by `python -m mezoo.parity`; do not edit by hand. Each row is a family's single-embedding runs "
        "(width 10) of its `*_se_frappe` recipe on the real Frappe_x1 (202,027 / 57,722 / 28,860 rows), every one "
        "trained with the recipe's whole protocol, against the test AUC BARS publishes for the family (FuxiCTR): "
        "where BARS gives several runs, their mean ± sd (ddof = 1; BARS' READMEs print the ddof = 0 sd), else its "
        "single figure. The interval is the 95% Welch interval of mezoo's mean - BARS' mean, over mezoo's seeds and "
        "BARS' runs; against a single figure it covers mezoo's seeds alone (BARS' run-to-run spread is unknown), so "
        f"it is too narrow. The tolerance, ±{TOLERANCE:g}, is BARS' own criterion for an accurate reproduction, an "
        f"AUC difference under {TOLERANCE:g} (a BARS maintainer in "
        "[reczoo/BARS#17](https://github.com/reczoo/BARS/issues/17)). Verdict: *within* where the interval lies "
        f"inside ±{TOLERANCE:g}, *outside* where it lies beyond a bound, *not resolved* where it straddles one; "
        f'parity is called only on {MIN_SEEDS} or more seeds ("too few seeds" otherwise). '
        f"{counted[0].upper() + counted[1:]}.",
        "",
        *table_lines(rows),
        "",
        "## BARS' figures",
        "",
        f'From the "Results" of each family\'s README in [reczoo/BARS]({BARS_REPOSITORY}) at commit '
        f"`{BARS_COMMIT[:10]}`:",
        "",
    ]
    for figure in BARS_FRAPPE_X1.values():
        if figure.sd is None:
            what = f"single figure {figure.runs[0]:.6f}"
        else:
            runs = ", ".join(f"{auc:.6f}" for auc in figure.runs)
            what = (
                f"{len(figure.runs)} runs ({runs}): mean {figure.mean:.6f}, sd {figure.sd:.6f} "
                f"(ddof = 1; {np.std(figure.runs):.8f} as BARS prints it)"
            )
        lines.append(f"- {figure.family}: {what}; [{figure.source}]({figure.url})")
    lines += ["", "## Runs", ""]
    ran = [row for row in rows if row.get("runs")]
    lines += [f"- {row['model']} (seeds {row['seeds']}): `{row['train_commands']}`" for row in ran] or ["- none"]
    lines += ["", "## Provenance", "", prov.provenance_markdown(info)]
    return "\n".join(lines)


def to_csv(rows: List[Dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row.get(key) is None else row.get(key, "") for key in COLUMNS})
    return out.getvalue()


OUTPUTS = ("parity.md", "parity.csv", prov.PROVENANCE_FILE)


def write_parity(run_dirs: Sequence, out, argv: Optional[List[str]] = None) -> Dict[str, Path]:
    """Writes `parity.md` and `parity.csv` (and `provenance.json`) into `out` and returns their paths."""
    rows = parity_rows(run_dirs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    info = prov.provenance("mezoo.parity", None if argv is None else list(argv), out, [out / n for n in OUTPUTS])
    prov.write_provenance(out, info)
    paths = {"md": out / "parity.md", "csv": out / "parity.csv"}
    paths["md"].write_text(markdown(rows, info))
    paths["csv"].write_text(to_csv(rows))
    return paths
