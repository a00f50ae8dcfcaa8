"""IA robustness on the claims page: claims 1 and 3 re-read with the table centred and row-normalised.

Information abundance reads a table's singular values, which a shared mean offset of the rows, or
row norms that grow with a value's frequency, also shape (`mezoo.evidence.ensembles`). For the
cells whose weights were kept (`abundance_checks.csv`), the comparison a claim makes is repeated
with each measure on the same cells and fields, and one sentence says whether they agree with
the paper's IA: the same direction, and shown wherever the paper's IA shows it. The verdict stays
on the paper's IA; these lines only say whether a simpler effect could explain it.
"""

from typing import Dict, List, Optional, Sequence

from mezoo.evidence.noise import Interval, welch_interval
from mezoo.evidence.report_study import CHECK_MEASURES, Study
from mezoo.evidence.variants import Variant

NAMES = {
    "ia_vs_random": "paper IA / random",
    "centred_vs_random": "centred",
    "row_normalised_vs_random": "row-normalised",
}


def _agrees(check: Interval, paper: Interval) -> bool:
    """The check points the paper's way, and is shown where the paper's IA is shown."""
    same_sign = (check.estimate > 0) == (paper.estimate > 0) and check.estimate != 0
    return same_sign and (not paper.shown_alone or check.shown_alone == paper.shown_alone)


def _how(check: Interval, paper: Interval) -> str:
    """How a check that does not agree departs from the paper's IA."""
    if check.shown_alone and check.shown_alone != paper.shown_alone:
        return "reverses it"
    return "does not show it" if paper.shown_alone else "points the other way"


def comparison_line(study: Study, label: str, a_keys: Sequence[str], b_keys: Sequence[str], fields) -> Optional[str]:
    """`label` (a minus b) on each measure over the cells `a_keys` and `b_keys` that have checks, with
    whether the centred and row-normalised measures agree with the paper's IA; None without checks."""
    a = [c for c in (study.checks(k, fields) for k in a_keys) if c is not None]
    b = [c for c in (study.checks(k, fields) for k in b_keys) if c is not None]
    if not a or not b:
        return None
    intervals: Dict[str, Interval] = {m: welch_interval([x[m] for x in a], [x[m] for x in b]) for m in CHECK_MEASURES}
    paper = intervals["ia_vs_random"]
    others = [m for m in CHECK_MEASURES if m != "ia_vs_random"]
    disagree = [f"{NAMES[m]} {_how(intervals[m], paper)}" for m in others if not _agrees(intervals[m], paper)]
    verdict = (
        "the centred and row-normalised measures agree with the paper's IA"
        if not disagree
        else f"the measures do not all agree: {' and '.join(disagree)}"
    )
    values = ", ".join(f"{NAMES[m]} {intervals[m].text(3)}" for m in CHECK_MEASURES)
    return f"  Checks on the cells that kept their weights ({len(a)} and {len(b)} cells), {label}: {values}: {verdict}."


def collapse_lines(study: Study, fields: Sequence[str]) -> List[str]:
    """Claim 1 re-read: SE at its narrowest minus its widest width, each measure."""
    scales = study.scales(Variant.SE)
    if len(scales) < 2:
        return []
    narrow, wide = scales[0], scales[-1]
    line = comparison_line(
        study,
        f"SE {narrow}x minus SE {wide}x",
        study.checked_cells(Variant.SE, narrow),
        study.checked_cells(Variant.SE, wide),
        fields,
    )
    return [line] if line else [f"  No abundance checks: no SE {narrow}x and {wide}x cells kept their weights."]


def abundance_lines(study: Study, scale: int, fields: Sequence[str]) -> List[str]:
    """Claim 3 re-read at one scale: ME minus SE, each measure."""
    line = comparison_line(
        study,
        f"ME - SE at {scale}x",
        study.checked_cells(Variant.ME, scale),
        study.checked_cells(Variant.SE, scale),
        fields,
    )
    return [line] if line else []
