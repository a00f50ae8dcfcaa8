"""Two scaling studies of the same cells that differ in one setting (a precision policy, an optimiser
option), compared cell for cell: is the change equivalent, or what does it cost?

For each (variant, scale, fraction) that both studies trained, the mean over seeds of the test
AUC of OTHER minus BASE, paired by seed (a seed gives both runs the same initial weights and
batches, so its two runs differ by the setting and what it changes downstream), with the noise
of the seeds (a t interval over the seeds' differences) and of the test rows (a paired bootstrap
of both studies' kept predictions on the same labelled rows), its minimum detectable effect at
80% power, and a verdict against an equivalence margin:

- *equivalent*: the 95% interval lies inside +-margin (so it covers no difference the margin
  calls material, and the difference is not shown);
- *differs*: the interval lies above or below zero;
- *undecided*: the interval covers zero but reaches beyond the margin (too few seeds or rows to
  tell).

Beside it the mean IA / random IA over fields at the best epoch (`ia_vs_random_mean`), OTHER minus
BASE, paired by seed likewise. The settings in which the two studies' resolved recipes
differ are listed on the page: a comparison of studies that differ in more than the setting under
test says so.
"""

import csv
import io
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from mezoo.evidence import provenance as prov
from mezoo.evidence.labels import LabelFinder
from mezoo.evidence.noise import Interval, PairedAUC, paired_interval
from mezoo.evidence.report_inputs import FILES, Result, read_result
from mezoo.evidence.report_study import Study
from mezoo.evidence.table_checks import ReportInputError

REPLICATES = 1000
MARGIN = 0.001  # BARS' own tolerance for an accurate reproduction (BARS#17)
COLUMNS = (
    "variant",
    "scale",
    "fraction",
    "seeds",
    "base_auc",
    "other_auc",
    "auc_difference",
    "auc_low",
    "auc_high",
    "auc_mde",
    "verdict",
    "base_ia_ratio",
    "other_ia_ratio",
    "ia_ratio_difference",
    "ia_ratio_low",
    "ia_ratio_high",
)
OUTPUTS = ("comparison.md", "comparison.csv", prov.PROVENANCE_FILE)
EQUIVALENT, DIFFERS, UNDECIDED = "equivalent", "differs", "undecided"


class ComparisonError(ReportInputError):
    """Two studies that cannot be compared cell for cell."""


def read_study(directory) -> Result:
    """A study directory read as the claims page reads it (`scaling.csv` checked, `study.json`)."""
    directory = Path(directory)
    if not (directory / FILES["study"]).is_file():
        raise ComparisonError(f"{directory}: no {FILES['study']}: not a mezoo.scaling study directory")
    return read_result(directory, "study")


def flat(settings: Dict, prefix: str = "") -> Dict[str, Any]:
    """{"train.mixed_precision": "mixed_bfloat16", ...} from nested sections."""
    out: Dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def differing_settings(base: Result, other: Result) -> List[Tuple[str, Any, Any]]:
    """(setting, base value, other value) where the two studies' resolved recipes differ."""
    a = flat(base.meta.get("resolved_recipe") or {})
    b = flat(other.meta.get("resolved_recipe") or {})
    for key in ("data", "train_labels"):  # what the study trained on, outside the recipe
        a[f"study.{key}"], b[f"study.{key}"] = base.meta.get(key), other.meta.get(key)
    return [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def groups(study: Result) -> Dict[Tuple[str, int, float], Dict[int, Dict[str, str]]]:
    """{(variant, scale, fraction): {seed: row}}."""
    out: Dict[Tuple[str, int, float], Dict[int, Dict[str, str]]] = {}
    for row in study.rows:
        key = (row["variant"], int(row["scale"]), float(row["fraction"]))
        out.setdefault(key, {})[int(row["seed"])] = row
    return out


def shared_labels(base: Result, other: Result, finder) -> np.ndarray:
    """The one set of test labels every compared cell was scored on."""
    digests = {(r["labels_sha256"], int(float(r["test_rows"]))) for s in (base, other) for r in s.rows}
    if len(digests) != 1:
        raise ComparisonError(
            f"{base.path} and {other.path} were scored on {len(digests)} different sets of test rows: "
            "a paired comparison needs the same rows"
        )
    digest, rows = digests.pop()
    labels = finder.find(digest, rows)
    if labels is None:
        raise ComparisonError(
            f"the test labels of {base.path} ({rows} rows, sha256 {digest[:12]}) are not on this machine: "
            "give the converted data with --data, or set MEZOO_SHARED_DATA"
        )
    return labels


def paired_auc_difference(bootstrap: PairedAUC, other: Sequence[np.ndarray], base: Sequence[np.ndarray]) -> Interval:
    """Mean over seeds of AUC(other_s) - AUC(base_s), with the seeds' and the test rows' noise."""
    differences = [bootstrap.auc(o) - bootstrap.auc(b) for o, b in zip(other, base)]
    replicates = np.mean(
        [bootstrap.replicate_aucs(o) - bootstrap.replicate_aucs(b) for o, b in zip(other, base)], axis=0
    )
    return paired_interval(differences, float(np.var(replicates, ddof=1)))


def verdict(interval: Interval, margin: float) -> str:
    if interval.low is None or interval.high is None:
        return UNDECIDED
    if interval.shown_alone:
        return DIFFERS
    return EQUIVALENT if -margin <= interval.low and interval.high <= margin else UNDECIDED


def ia_ratio(row: Dict[str, str]) -> Optional[float]:
    try:
        value = float(row.get("ia_vs_random_mean") or "nan")
    except ValueError:
        return None
    return None if np.isnan(value) else value


def compare_rows(base: Result, other: Result, finder, margin: float = MARGIN) -> List[Dict[str, Any]]:
    """One row per (variant, scale, fraction) both studies trained, on the seeds both have."""
    a, b = groups(base), groups(other)
    common = sorted(set(a) & set(b))
    if not common:
        raise ComparisonError(f"{base.path} and {other.path} have no (variant, scale, fraction) in common")
    bootstrap = PairedAUC(shared_labels(base, other, finder), replicates=REPLICATES, seed=0)
    base_study, other_study = Study(base, finder), Study(other, finder)
    rows = []
    for key in common:
        seeds = sorted(set(a[key]) & set(b[key]))
        if not seeds:
            continue
        base_scores = [base_study.scores(a[key][s]) for s in seeds]
        other_scores = [other_study.scores(b[key][s]) for s in seeds]
        auc = paired_auc_difference(bootstrap, other_scores, base_scores)
        base_ia = [ia_ratio(a[key][s]) for s in seeds]
        other_ia = [ia_ratio(b[key][s]) for s in seeds]
        known = [(x, y) for x, y in zip(base_ia, other_ia) if x is not None and y is not None]
        ia = paired_interval([y - x for x, y in known]) if known else None
        rows.append(
            {
                "variant": key[0],
                "scale": key[1],
                "fraction": key[2],
                "seeds": " ".join(str(s) for s in seeds),
                "base_auc": float(np.mean([bootstrap.auc(p) for p in base_scores])),
                "other_auc": float(np.mean([bootstrap.auc(p) for p in other_scores])),
                "auc_difference": auc.estimate,
                "auc_low": auc.low,
                "auc_high": auc.high,
                "auc_mde": auc.mde(),
                "verdict": verdict(auc, margin),
                "base_ia_ratio": float(np.mean([x for x, _ in known])) if known else None,
                "other_ia_ratio": float(np.mean([y for _, y in known])) if known else None,
                "ia_ratio_difference": ia.estimate if ia else None,
                "ia_ratio_low": ia.low if ia else None,
                "ia_ratio_high": ia.high if ia else None,
                "auc_interval": auc,
                "ia_interval": ia,
            }
        )
    return rows


def to_csv(rows: Sequence[Dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in COLUMNS})
    return out.getvalue()


def markdown(base: Result, other: Result, rows: Sequence[Dict[str, Any]], margin: float, info: Dict[str, str]) -> str:
    changed = differing_settings(base, other)
    lines = [
        f"# {other.path.name} against {base.path.name}",
        "",
        "Written by `python -m mezoo.compare`; do not edit by hand. Each row: the cells both studies "
        "trained, OTHER minus BASE, paired by seed. Test AUC: mean over the seeds both have, 95% interval "
        "over seeds and test rows (paired bootstrap of the kept predictions on the same rows), its minimum detectable "
        f"effect at 80% power, and the verdict against a margin of ±{margin:g} (equivalent: the interval "
        "lies inside it; differs: the interval excludes zero; undecided: neither). IA ratio: mean IA / "
        "random IA over fields at the best epoch, t interval over the seeds' differences.",
        "",
        f"- BASE: `{base.path}`",
        f"- OTHER: `{other.path}`",
        "- Settings that differ: "
        + ("; ".join(f"`{k}` {a!r} -> {b!r}" for k, a, b in changed) if changed else "none (the same recipe)"),
        "",
        "| cell | seeds | BASE AUC | OTHER AUC | AUC OTHER - BASE | MDE | verdict | IA ratio BASE | IA ratio OTHER "
        "| IA ratio OTHER - BASE |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        fraction = "" if row["fraction"] == 1.0 else f", data {row['fraction']:g}"
        mde = row["auc_mde"]
        ia = row["ia_interval"]
        lines.append(
            f"| {row['variant']} {row['scale']}x{fraction} | {row['seeds']} | {row['base_auc']:.5f} | "
            f"{row['other_auc']:.5f} | {row['auc_interval'].text()} | {'-' if mde is None else f'{mde:.5f}'} | "
            f"{row['verdict']} | {_number(row['base_ia_ratio'])} | {_number(row['other_ia_ratio'])} | "
            f"{ia.text(3) if ia else '-'} |"
        )
    lines += ["", "## Provenance", "", prov.provenance_markdown(info)]
    return "\n".join(lines)


def _number(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.3f}"


def write_comparison(
    base_dir, other_dir, out, margin: float = MARGIN, data_dirs: Sequence = (), argv: Optional[List[str]] = None
) -> Dict[str, Path]:
    """Writes `comparison.md`, `comparison.csv` and `provenance.json` into `out`; returns their paths."""
    from mezoo.atomic import atomic_write

    base, other = read_study(base_dir), read_study(other_dir)
    rows = compare_rows(base, other, LabelFinder(data_dirs), margin)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    info = prov.provenance("mezoo.compare", argv, out, [out / name for name in OUTPUTS])
    prov.write_provenance(out, info)
    paths = {"md": out / "comparison.md", "csv": out / "comparison.csv"}
    atomic_write(paths["md"], markdown(base, other, rows, margin, info))
    atomic_write(paths["csv"], to_csv(rows))
    return paths
